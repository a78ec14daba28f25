"""The n-gram views of one piece of cleaned text, appended to a batch's flat lists.

Every feature comes with its [start, end) span in the cleaned text and its view (which family of
features it belongs to), so scoring and evidence read the same single pass. Spans and views are
plain lists here; detector/scorers/features.py turns a batch's lists into arrays.
"""
from __future__ import annotations

import re
from typing import Callable

from detector.text.phonetic import add_phonetic_ngrams, span_ngrams

# view codes: the family a feature belongs to (its prefix), as evidence names them
VIEWS = ("chars", "word", "pinyin", "digits", "atom", "symbol", "lexicon", "contact")
CHARS, WORD, PINYIN, DIGITS, ATOM, SYMBOL, LEXICON, CONTACT = range(len(VIEWS))
_PREFIX_VIEW = {"c:": CHARS, "w:": WORD, "p:": PINYIN, "d:": DIGITS, "a:": ATOM, "s:": SYMBOL,
                "le": LEXICON, "hl": LEXICON, "co": CONTACT}

# Atoms: the cleaner's placeholders ([URL], [AT]) and bracketed emoji codes ([捂脸], [doge],
# [哭惹R]). Each is one feature (`a:[AT]`); no n-gram of any view crosses or cuts one.
ATOM_RE = re.compile(r"\[[^\[\]\s]{1,10}\]")
_WORD_RUN = re.compile(r"[^\W\d_]+")  # letters and CJK characters (no digits, no punctuation)
_DIGIT_RUN = re.compile(r"\d+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_KEEP_RUN = re.compile(r"[^\s\-*./|丨~_·•+=^\u2600-\u27bf\U0001f000-\U0001faff\ufe0f\u200d]+")


def view_of(feature: str) -> int:
    """The view code of a feature name (by its prefix)."""
    return _PREFIX_VIEW.get(feature[:2], CHARS)


def _digit_class(n: int) -> str:
    return "1-2" if n <= 2 else "3-4" if n <= 4 else "5-8" if n <= 8 else "9-11" if n <= 11 else "12+"


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _emoji(ch: str) -> bool:
    return ch >= "\U0001f000" or "\u2600" <= ch <= "\u27bf" or ch in "\ufe0f\u200d"


def skeleton(text: str) -> tuple[str, list[int]]:
    """`text` without whitespace, emoji and separator symbols, and each kept char's index in `text`."""
    chars, index = [], []
    for m in _KEEP_RUN.finditer(text):
        chars.append(m.group())
        index.extend(range(m.start(), m.end()))
    return "".join(chars), index


def dropped_symbols(text: str, index: list[int]) -> list[tuple[str, int, int]]:
    """The emoji and symbols the skeleton dropped, each as an `s:` feature; not whitespace, and
    not emoji wedged between two Chinese characters (加🔥微🔥信: an evasion, not a signal)."""
    out = []
    for a, b in zip([-1] + index, index + [len(text)]):
        if b - a <= 1:
            continue
        wedged = a >= 0 and b < len(text) and _cjk(text[a]) and _cjk(text[b])
        out.extend(("s:" + text[i], i, i + 1) for i in range(a + 1, b)
                   if not text[i].isspace() and not (wedged and _emoji(text[i])))
    return out


class Grams:
    """A batch's flat feature lists: name, span, view per feature; the segmentation's words (every
    non-space token, as spans) for evidence at word granularity."""
    __slots__ = ("feats", "starts", "ends", "views", "ustarts", "uends")

    def __init__(self):
        self.feats: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.views: list[int] = []
        self.ustarts: list[int] = []
        self.uends: list[int] = []

    def add(self, feature: str, start: int, end: int, view: int) -> None:
        self.feats.append(feature)
        self.starts.append(start)
        self.ends.append(end)
        self.views.append(view)


def add_piece(g: Grams, cfg, tokens: Callable[[str], list[str]], piece: str, offset: int) -> None:
    """Character, word and phonetic n-grams of a piece of text without atoms, spans shifted by
    `offset` (the piece's place in the cleaned text)."""
    if not piece:
        return
    index = None
    base = piece
    if cfg.skeleton and not _KEEP_RUN.fullmatch(piece):
        base, index = skeleton(piece)
    n0, u0 = len(g.feats), len(g.ustarts)
    if base:
        (text_ngrams if cfg.text_only else plain_ngrams)(g, cfg, tokens, base)
        if cfg.pinyin_ngram_max > 0:
            n1 = len(g.feats)
            add_phonetic_ngrams(base, cfg.pinyin_ngram_min, cfg.pinyin_ngram_max, g.feats, g.starts, g.ends)
            g.views.extend([PINYIN] * (len(g.feats) - n1))
    if index is not None:  # spans in the skeleton -> spans in the cleaned text
        m = [offset + i for i in index]
        for st, en, k in ((g.starts, g.ends, n0), (g.ustarts, g.uends, u0)):
            st[k:] = [m[s] for s in st[k:]]
            en[k:] = [m[e - 1] + 1 for e in en[k:]]
        for f, s, e in dropped_symbols(piece, index):
            g.add(f, s + offset, e + offset, SYMBOL)
    elif offset:
        for st, en, k in ((g.starts, g.ends, n0), (g.ustarts, g.uends, u0)):
            st[k:] = [s + offset for s in st[k:]]
            en[k:] = [e + offset for e in en[k:]]


def text_ngrams(g: Grams, cfg, tokens, text: str) -> None:
    """The `text_only` n-grams: character n-grams within runs of letters and CJK characters, a
    shape feature per digit run, word n-grams of the words that hold a letter or character."""
    F, S, E = g.feats, g.starts, g.ends
    n0 = len(F)
    for m in _WORD_RUN.finditer(text):
        run, a = m.group(), m.start()
        n = len(run)
        for k in range(cfg.char_ngram_min, cfg.char_ngram_max + 1):
            if k > n:
                break
            F.extend(["c:" + ch for ch in run] if k == 1 else ["c:" + run[i:i + k] for i in range(n - k + 1)])
            S.extend(range(a, a + n - k + 1))
            E.extend(range(a + k, a + n + 1))
    g.views.extend([CHARS] * (len(F) - n0))
    for m in _DIGIT_RUN.finditer(text):
        g.add(f"d:{_digit_class(m.end() - m.start())}", m.start(), m.end(), DIGITS)
    words, ws, we, pos = [], [], [], 0
    for w in tokens(text):
        end = pos + len(w)
        if not w.isspace():
            g.ustarts.append(pos)
            g.uends.append(end)
            if w.isalpha() or _HAS_LETTER.search(w):
                words.append(w)
                ws.append(pos)
                we.append(end)
        pos = end
    word_ngrams(g, cfg, words, ws, we)


def plain_ngrams(g: Grams, cfg, tokens, text: str) -> None:
    """Character n-grams of the whole text (all-space ones left out) and word n-grams of every
    non-space token: what models made before `text_only` use."""
    F, S, E = g.feats, g.starts, g.ends
    n0, n = len(F), len(text)
    for k in range(cfg.char_ngram_min, cfg.char_ngram_max + 1):
        for i in range(n - k + 1):
            gram = text[i:i + k]
            if not gram.isspace():
                F.append("c:" + gram)
                S.append(i)
                E.append(i + k)
    g.views.extend([CHARS] * (len(F) - n0))
    words, ws, we, pos = [], [], [], 0
    for w in tokens(text):
        end = pos + len(w)
        if not w.isspace():
            words.append(w)
            ws.append(pos)
            we.append(end)
        pos = end
    g.ustarts.extend(ws)
    g.uends.extend(we)
    word_ngrams(g, cfg, words, ws, we)


def word_ngrams(g: Grams, cfg, words: list[str], ws: list[int], we: list[int]) -> None:
    """`w:` n-grams of consecutive words (joined by a space), spans from first to last word."""
    n0 = len(g.feats)
    span_ngrams("w:", words, ws, we, max(cfg.word_ngram_min, 1), cfg.word_ngram_max, g.feats, g.starts, g.ends)
    g.views.extend([WORD] * (len(g.feats) - n0))
