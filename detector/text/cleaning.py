"""Text cleaning with an exact offset map back to the original post.

``clean(text)`` returns a :class:`CleanText` whose ``offsets[i]`` is the index in the
original string of the character that produced cleaned character ``i``.  Every step
below keeps that map exact (see ``_rewrite``):

1. HTML entities unescaped, HTML tags removed (block tags -> line break, inline -> nothing),
   then per character: NFKC, zero-width / control characters dropped, line separators
   -> ``\\n``; with ``evasion`` also homoglyph digits/letters -> ASCII, Traditional ->
   Simplified and ASCII lower-casing (all per character, so offsets stay exact).
2. URLs -> ``[URL]``, @mentions -> ``[AT]`` (each placeholder char maps to the whole
   original URL / mention), ``#topic#`` -> ``topic``.
3. Watermarks (repeated boilerplate glued to the start/end of lines) removed; see
   :func:`detector.text.watermark.watermark_cuts` for the rule.
4. Evasion normalisation (``evasion=True``): single CJK chars split by separators
   joined, WeChat/QQ spelling variants -> ``微信`` / ``QQ``, Chinese-numeral runs -> digits,
   pinyin abbreviations -> words, pinyin next to Chinese text -> characters (depinyin.py).
5. Whitespace runs -> one space, ends stripped.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Sequence

from detector.text import charmaps as cm
from detector.text.depinyin import depinyin_edits
from detector.text.watermark import watermark_cuts

__all__ = ["CleanText", "clean", "normalize_for_match", "URL_PLACEHOLDER", "AT_PLACEHOLDER"]

URL_PLACEHOLDER = "[URL]"
AT_PLACEHOLDER = "[AT]"


@dataclass(frozen=True)
class CleanText:
    """A cleaned text plus its offset map into ``original``.

    ``offsets`` has ``len(text) + 1`` entries; ``offsets[i]`` is where cleaned char ``i``
    came from and the last entry is ``len(original)``.  ``ends`` (hidden) holds, per
    cleaned char, the end of the original char(s) that produced it.
    """

    text: str
    original: str
    offsets: list[int]
    ends: list[int] = field(repr=False, compare=False, default_factory=list)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map cleaned span ``[start, end)`` to the original span ``[s, e)`` covering it.

        Out-of-range indexes are clamped.  The result is non-empty whenever the original
        is; an empty cleaned span maps to the original character at its position.
        """
        n, olen = len(self.text), len(self.original)
        if olen == 0:
            return (0, 0)
        start = min(max(start, 0), n)
        end = min(max(end, start), n)
        s = min(self.offsets[start], olen - 1)
        if end > start:
            e = max(self.ends[end - 1], s + 1)
        else:
            e = s + 1
        return (s, min(e, olen))


# the rewrite primitive: (text, starts, ends) -> (text, starts, ends) ----------

Buf = tuple[str, list[int], list[int]]
# a replacement is None (keep), a str (replaces the whole match), or a sequence of
# (new_text, rel_start, rel_end) pieces, each replacing match chars [rel_start, rel_end).
Repl = Callable[[re.Match], "str | Sequence[tuple[str, int, int]] | None"]


def _rewrite(buf: Buf, regex: re.Pattern, repl: Repl) -> Buf:
    """Apply ``regex.sub``-like rewriting while carrying the offset arrays."""
    edits = []
    for m in regex.finditer(buf[0]):
        r = repl(m)
        if r is not None:
            edits.append((m.start(), m.end(), r))
    return _splice(buf, edits) if edits else buf


def _delete_ranges(buf: Buf, cuts: list[tuple[int, int]]) -> Buf:
    """Remove the (sorted, non-overlapping) buffer ranges ``cuts``."""
    return _splice(buf, [(a, b, "") for a, b in cuts]) if cuts else buf


def _splice(buf: Buf, edits: list) -> Buf:
    """Replace sorted, non-overlapping ``(a, b, replacement)`` edits of the buffer.

    A piece whose text has the same length as the chars it replaces maps 1:1;
    otherwise every new char maps to the whole replaced span.
    """
    text, starts, ends = buf
    out: list[str] = []
    ns: list[int] = []
    ne: list[int] = []
    pos = 0
    for a, b, r in edits:
        out.append(text[pos:a])
        ns += starts[pos:a]
        ne += ends[pos:a]
        pieces = ((r, 0, b - a),) if isinstance(r, str) else r
        for piece, ra, rb in pieces:
            _emit(piece, a + ra, a + rb, buf, out, ns, ne)
        pos = b
    out.append(text[pos:])
    ns += starts[pos:]
    ne += ends[pos:]
    return "".join(out), ns, ne


def _emit(piece: str, a: int, b: int, buf: Buf, out: list, ns: list, ne: list) -> None:
    """Append ``piece`` replacing buffer chars ``[a, b)`` to the output arrays."""
    if not piece:
        return
    text, starts, ends = buf
    out.append(piece)
    if len(piece) == b - a:
        ns += starts[a:b]
        ne += ends[a:b]
        return
    if b > a:
        s, e = starts[a], ends[b - 1]
    else:  # pure insertion: attach to the neighbouring char
        k = min(a, len(text) - 1)
        s, e = (starts[k], ends[k]) if k >= 0 else (0, 0)
    ns += [s] * len(piece)
    ne += [e] * len(piece)


# step 1: entities, tags, per-character normalisation ----------

_ENTITY_RE = re.compile(cm.ENTITY_PATTERN)
_TAG_RE = re.compile(cm.TAG_PATTERN, re.I | re.S)


def _entity_repl(m: re.Match) -> str | None:
    """Unescape one HTML entity (None when it is not a known entity)."""
    s = m.group()
    u = html.unescape(s)
    return None if u == s else u


def _tag_repl(m: re.Match) -> str:
    """Block tags become a line break, everything else disappears."""
    return "\n" if m.group("block") else ""


def _char_map_plain(ch: str) -> str:
    """NFKC of one char, with deletion / newline handling (no evasion)."""
    if ch in cm.DELETE_CHARS:
        return ""
    if ch in cm.NEWLINE_MAP:
        return cm.NEWLINE_MAP[ch]
    try:
        r = unicodedata.normalize("NFKC", ch)
    except (ValueError, TypeError):  # pragma: no cover - defensive
        return ch
    return "".join(c for c in r if c not in cm.DELETE_CHARS)


def _char_map_evasion(ch: str) -> str:
    """Like :func:`_char_map_plain` plus homoglyphs, Traditional->Simplified, lower case."""
    if ch in cm.HOMOGLYPHS:
        return cm.HOMOGLYPHS[ch]
    return _char_map_plain(ch).translate(_EVASION_TABLE)


_EVASION_TABLE = cm.EVASION_TABLE
_CACHE_LIMIT = 200_000
_CHAR_CACHES: dict[bool, dict[str, str]] = {False: {}, True: {}}


_SPECIAL_PLAIN_RE = re.compile(cm.char_class(set(cm.DELETE_CHARS) | set(cm.NEWLINE_MAP)))
_SPECIAL_EVASION_RE = re.compile(cm.char_class(cm.DELETE_CHARS | set(cm.NEWLINE_MAP) | set(cm.HOMOGLYPHS)))


def _normalize_chars(buf: Buf, evasion: bool) -> Buf:
    """Per-character normalisation (step 1 and the per-char part of step 4)."""
    text, starts, ends = buf
    special = _SPECIAL_EVASION_RE if evasion else _SPECIAL_PLAIN_RE
    if unicodedata.is_normalized("NFKC", text) and not special.search(text):
        return (text.translate(_EVASION_TABLE), starts, ends) if evasion else buf
    cache = _CHAR_CACHES[evasion]
    fn = _char_map_evasion if evasion else _char_map_plain
    out: list[str] = []
    ns: list[int] = []
    ne: list[int] = []
    for i, ch in enumerate(text):
        r = cache.get(ch)
        if r is None:
            r = fn(ch)
            if len(cache) < _CACHE_LIMIT:
                cache[ch] = r
        if not r:
            continue
        out.append(r)
        ns += [starts[i]] * len(r)
        ne += [ends[i]] * len(r)
    return "".join(out), ns, ne


# step 2: URLs, mentions, topics ----------

URL_RE = re.compile(cm.URL_PATTERN, re.I)
"""URLs with a scheme, ``www.`` hosts and bare domains with a known TLD (``t.cn/xyz``)."""

_MENTION_RE = re.compile(cm.MENTION_PATTERN)
_TOPIC_RE = re.compile(r"#(?=\S)([^#\n]{1,50}?)(?<=\S)#")


def _topic_repl(m: re.Match) -> Sequence[tuple[str, int, int]]:
    """Drop the ``#`` marks, keep the topic text with exact offsets."""
    return ((m.group(1), 1, len(m.group()) - 1),)


def _placeholders(buf: Buf) -> Buf:
    """Step 2: URLs -> ``[URL]``, mentions -> ``[AT]``, ``#topic#`` -> ``topic``."""
    text = buf[0]
    if "." in text or ":" in text:
        buf = _rewrite(buf, URL_RE, lambda m: URL_PLACEHOLDER)
    if "@" in buf[0]:
        buf = _rewrite(buf, _MENTION_RE, lambda m: AT_PLACEHOLDER)
    if "#" in buf[0]:
        buf = _rewrite(buf, _TOPIC_RE, _topic_repl)
    return buf


# step 3: watermarks (detector/text/watermark.py) ----------

# step 4: evasion normalisation ----------

_CJK = f"[{cm.CJK_CLASS}]"
_JOIN_RE = re.compile(rf"(?<={_CJK})[{cm.SEPARATOR_CLASS}{cm.EMOJI_CLASS}]{{1,2}}(?={_CJK})")
_WORDISH = re.compile(f"[{cm.CJK_CLASS}A-Za-z0-9]")
_ALWAYS_JOIN = frozenset("*丶")


def _join_repl(m: re.Match) -> str | None:
    """Delete separators between CJK chars when one of the two is a *single* char.

    A char is single when its other neighbour is not an ideograph / ASCII letter /
    digit (``加 微 信``, ``微 信``); ``*`` and ``丶`` runs always join (``想刷*单赚``),
    so ``迈克尔·杰克逊`` and ``今天 天气`` are kept.
    """
    text = m.string
    a, b = m.span()
    sep = m.group()
    if all(c in _ALWAYS_JOIN for c in sep):
        return ""
    before = text[a - 2] if a >= 2 else ""
    after = text[b + 1] if b + 1 < len(text) else ""
    if not _WORDISH.match(before) or not _WORDISH.match(after):
        return ""
    return None


_CONTACT_RE = re.compile(cm.CONTACT_WORD_PATTERN)

_CN_NUM_RE = re.compile("[0-9" + "".join(cm.CN_DIGITS) + "]{5,}")
_CN_NUM_TABLE = str.maketrans(cm.CN_DIGITS)
_CN_NUM_SET = frozenset(cm.CN_DIGITS)

_PINYIN_RE = re.compile(
    r"(?<![a-z0-9@._/\-])(?:" + "|".join(sorted(cm.PINYIN_ABBR, key=len, reverse=True))
    + r")(?![a-z0-9@._/\-]|卡)"
)


# lower-case letter runs that may be pinyin written for characters (detector/text/depinyin.py);
# not inside ids, e-mail addresses, paths or domains
_LATIN_RUN_RE = re.compile(r"(?<![a-z0-9@._/])[a-z]+(?![a-z0-9@._/])")


def _cn_num_repl(m: re.Match) -> str | None:
    """Digits for a run of >= 5 numerals/digits containing >= 3 Chinese numerals."""
    s = m.group()
    if sum(1 for c in s if c in _CN_NUM_SET) < 3:
        return None
    return s.translate(_CN_NUM_TABLE)


def _evasion(buf: Buf) -> Buf:
    """Step 4 (the per-char part already ran in step 1)."""
    buf = _rewrite(buf, _JOIN_RE, _join_repl)
    buf = _rewrite(buf, _CONTACT_RE, lambda m: cm.CONTACT_WORD_OUT[m.lastgroup])
    buf = _rewrite(buf, _PINYIN_RE, lambda m: cm.PINYIN_ABBR[m.group()])
    runs = [m.span() for m in _LATIN_RUN_RE.finditer(buf[0])]
    edits = depinyin_edits(buf[0], runs) if runs else []
    if edits:  # 加 wei xin -> 加 微 信 -> 加微信
        buf = _rewrite(_splice(buf, edits), _JOIN_RE, _join_repl)
    return _rewrite(buf, _CN_NUM_RE, _cn_num_repl)


# step 5 and the pipeline ----------

_WS_RE = re.compile(r"\s+")
_NEEDS_WS_RE = re.compile(r"\s\s|[^\S ]|^\s|\s$")


def _whitespace(buf: Buf) -> Buf:
    """Collapse whitespace runs to one space and strip both ends."""
    if not _NEEDS_WS_RE.search(buf[0]):
        return buf
    text, starts, ends = _rewrite(buf, _WS_RE, lambda m: None if m.group() == " " else " ")
    a = len(text) - len(text.lstrip())
    b = len(text.rstrip())
    return text[a:b], starts[a:b], ends[a:b]


def clean(text: str, *, evasion: bool = True, strip_watermark: bool = True) -> CleanText:
    """Clean ``text`` (steps 1-5, see the module docstring) keeping an exact offset map.

    Pure and deterministic; never raises on a ``str`` (non-str input is ``str()``-ed).
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    n = len(text)
    buf: Buf = (text, list(range(n)), list(range(1, n + 1)))
    if "&" in text:
        buf = _rewrite(buf, _ENTITY_RE, _entity_repl)
    if "<" in text:
        buf = _rewrite(buf, _TAG_RE, _tag_repl)
    buf = _normalize_chars(buf, evasion)
    buf = _placeholders(buf)
    if strip_watermark and buf[0].count("\n") >= 2:
        buf = _delete_ranges(buf, watermark_cuts(buf[0]))
    if evasion:
        buf = _evasion(buf)
    out, starts, ends = _whitespace(buf)
    return CleanText(text=out, original=text, offsets=starts + [n], ends=ends)


def normalize_for_match(text: str) -> str:
    """Cleaned text for near-duplicate detection (``clean(text).text``)."""
    return clean(text).text
