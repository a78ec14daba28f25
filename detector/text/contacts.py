"""Contact details in a post: phone numbers, QQ, WeChat ids, URLs, e-mail addresses.

Designed for the *cleaned* text (:func:`detector.text.cleaning.clean`), where evasions such
as ``薇 信``, ``扣扣``, ``①②③`` are already normalised and URLs are the placeholder
``[URL]`` (reported as kind ``"url"`` with value ``"[URL]"``; map its span back with
``CleanText.to_original`` to get the real link).  It also works on raw text with ASCII
digits.  Spans index the string passed in.

Kinds
-----
``phone``   mainland mobile ``1[3-9]`` + 9 digits, optional ``+86``/``0086``/``86``, single
            space / ``-`` / ``.`` separators between digits; value = the 11 digits.
``qq``      5-11 digits after a QQ marker (``QQ``, ``扣扣``, ``企鹅号``, ``q:``).
``wechat``  6-20 chars ``[A-Za-z0-9_-]`` after a WeChat marker (``微信``, ``vx``, ``wx``,
            ``v信``, ``薇信`` ...), or a phone number after such a marker (value = digits).
            An id made of letters only needs ``:``/``号`` after the marker.
``url``     scheme URLs, ``www.`` hosts, bare domains with a known TLD (``t.cn/x``),
            and the ``[URL]`` placeholder.
``email``   ``name@domain.tld``.

Overlaps are resolved by priority ``email > wechat > qq > phone > url``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from detector.text.cleaning import URL_PLACEHOLDER, URL_RE

__all__ = ["Contact", "KINDS", "extract_contacts", "contact_features"]

KINDS = ("phone", "qq", "wechat", "url", "email")


@dataclass(frozen=True)
class Contact:
    """One contact detail: ``text[start:end]`` is where ``value`` was found."""

    kind: str
    value: str
    start: int
    end: int


_SEP = r"[ \-.]?"
_PHONE_BODY = rf"1{_SEP}[3-9](?:{_SEP}[0-9]){{9}}"
_PHONE_RE = re.compile(
    rf"(?<![0-9])(?<![0-9][ \-.])(?:(?:\+|00)?86[ \-]?)?{_PHONE_BODY}(?![ \-.]?[0-9])"
)

_QQ_RE = re.compile(
    r"(?:(?<![a-z])q ?q|扣扣|抠抠|企鹅|(?<![a-z0-9])q(?= ?[:：]))"
    r" ?(?:号码?|账号|群)? ?(?:是|为)? ?[:：=]? ?"
    r"(?P<v>[1-9][0-9]{4,10})(?![0-9])",
    re.I,
)

_WX_MARK = r"(?:微信|薇信|威信|徽信|v信|(?<![a-z])(?:vx|wx|weixin|wechat)|(?<![a-z0-9])v(?= ?[:：]))"
_WECHAT_RE = re.compile(
    _WX_MARK
    + r" ?(?P<fill>号码?|账号|id|搜索?|同号)? ?(?:是|为)? ?(?P<colon>[:：=])? ?"
    + rf"(?:(?P<phone>(?:\+?86[ \-]?)?{_PHONE_BODY})(?![ \-.]?[0-9])"
    + r"|(?P<v>[a-z0-9_\-]{6,20})(?![a-z0-9_\-]))",
    re.I,
)

_EMAIL_RE = re.compile(
    r"(?<![a-z0-9._%+\-])[a-z0-9][a-z0-9._%+\-]{0,63}@[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)*\.[a-z]{2,10}(?![a-z0-9\-])",
    re.I,
)

_PRIORITY = {"email": 0, "wechat": 1, "qq": 2, "phone": 3, "url": 4}


def _digits(s: str) -> str:
    """ASCII digits of ``s`` without a leading 86/0086 country code (11-digit phones)."""
    d = "".join(c for c in s if "0" <= c <= "9")
    return d[-11:] if len(d) > 11 and d[-11] == "1" else d


def _wechat(text: str) -> list[Contact]:
    """WeChat ids / phone numbers after a WeChat marker."""
    found = []
    for m in _WECHAT_RE.finditer(text):
        if m.group("phone"):
            found.append(Contact("wechat", _digits(m.group("phone")), *m.span("phone")))
            continue
        v = m.group("v")
        plain_word = v.isalpha()
        if plain_word and not (m.group("colon") or m.group("fill")):
            continue  # "微信 wonderful": a word, not an id
        if v.isdigit() and len(v) < 6:
            continue
        found.append(Contact("wechat", v, *m.span("v")))
    return found


def _candidates(text: str) -> list[Contact]:
    """Every match of every kind, overlaps included."""
    found = [Contact("email", m.group(), *m.span()) for m in _EMAIL_RE.finditer(text)]
    found += _wechat(text)
    found += [Contact("qq", m.group("v"), *m.span("v")) for m in _QQ_RE.finditer(text)]
    found += [Contact("phone", _digits(m.group()), *m.span()) for m in _PHONE_RE.finditer(text)]
    found += [Contact("url", m.group(), *m.span()) for m in URL_RE.finditer(text)]
    pos = text.find(URL_PLACEHOLDER)
    while pos >= 0:
        found.append(Contact("url", URL_PLACEHOLDER, pos, pos + len(URL_PLACEHOLDER)))
        pos = text.find(URL_PLACEHOLDER, pos + 1)
    return found


def extract_contacts(text: str) -> list[Contact]:
    """All contact details in ``text``, non-overlapping, sorted by position."""
    if not isinstance(text, str) or not text:
        return []
    chosen: list[Contact] = []
    for c in sorted(_candidates(text), key=lambda c: (_PRIORITY[c.kind], c.start)):
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda c: (c.start, c.end))


def contact_features(text: str) -> dict[str, int]:
    """Count of contacts per kind (every kind in :data:`KINDS` present, 0 if none)."""
    counts = dict.fromkeys(KINDS, 0)
    for c in extract_contacts(text):
        counts[c.kind] += 1
    return counts
