"""Contact keys: one key per contact whatever its spelling, for linking posts into operations.

The text is cleaned (:func:`detector.text.cleaning.clean`: 薇信/vx → 微信, 扣扣 → QQ, circled and
Chinese-numeral digits …), contacts are extracted (:func:`detector.text.contacts.extract_contacts`) and
ids split by spaces after a marker are joined (``V: abc 123``, ``➕q 12345``, ``加微 abc123``).
Keys: ``phone:13812345678`` (a WeChat id that is a mobile number is the phone), ``wechat:abc123``
(lower case), ``qq:12345``, ``email:…``; URLs do not link.
"""
from __future__ import annotations

import re
import unicodedata

from detector.text.cleaning import clean
from detector.text.contacts import extract_contacts

__all__ = ["contact_key", "contact_keys", "contacts_and_rest"]

_WX = (r"(?:微信|威信|徽信|v信|vx|wx|weixin|wechat|(?<![a-z0-9])v(?= ?[:：])"
       r"|(?:加|➕|\+|＋|私)(?:v|微)(?![a-z]))")
_QQ = r"(?:qq|扣扣|企鹅号?|(?<![a-z0-9])q(?= ?[:：])|(?:加|➕|\+|＋)q(?![a-z]))"
_SPACED_RE = re.compile(rf"(?P<m>{_WX}|{_QQ}) ?(?:号码?|账号|id)? ?(?:是|为)? ?(?P<c>[:：=])? ?"
                        r"(?P<v>[a-z0-9_\-]+(?: [a-z0-9_\-]{1,4}){0,6})(?![a-z0-9_\-])")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# text that cannot hold a contact (ideographs, CJK and ASCII punctuation, spaces, no letter or digit
# of any width, no run of 5 Chinese numerals): skipped without cleaning (four in five real comments)
_NO_CONTACT = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff01-\uff0f\uff1a-\uff1f\uff3b-\uff40\uff5b-\uff65"
                         r"\s，。！？、…“”‘’《》【】（）\[\]!?,.:;\"'~·—]*")
_CN_DIGITS = re.compile(r"(?:[一二三四五六七八九零〇幺两壹贰叁肆伍陆柒捌玖拾][\s,，.、\-]*){5,}")


def contact_key(kind: str, value: str) -> str | None:
    """The key two spellings of one contact share; None for kinds that do not link (URLs)."""
    v = value.strip().lower()
    if kind == "phone" or (kind == "wechat" and _MOBILE.fullmatch(v)):
        return f"phone:{v}"
    if kind in ("wechat", "qq", "email"):
        return f"{kind}:{v}"
    return None


def _joined(value: str) -> str:
    """``abc 123`` / ``ab c1 23`` → the id: an id split into short pieces (each at most 4, by the
    pattern) is joined up to 20 characters; a first piece of 6 or more is an id on its own."""
    pieces = value.split(" ")
    if len(pieces[0]) >= 6:
        return pieces[0]
    out = pieces[0]
    for p in pieces[1:]:
        if len(out) + len(p) > 20:
            break
        out += p
    return out


def _spaced_keys(text: str) -> set[str]:
    """Ids after a WeChat / QQ marker, written with spaces or after a short marker (➕q, 加微)."""
    keys = set()
    for m in _SPACED_RE.finditer(text):
        v, qq = _joined(m.group("v")), m.group("m").startswith(("q", "扣", "企", "加q", "➕q", "+q", "＋q"))
        if qq:
            if v.isdigit() and 5 <= len(v) <= 11 and v[0] != "0":
                keys.add(f"qq:{v}")
        elif 6 <= len(v) <= 20 and (any(c.isdigit() for c in v) or m.group("c")):
            keys.add(contact_key("wechat", v))
    return keys


def contacts_and_rest(text: str) -> tuple[set[str], str]:
    """Keys of the phones, WeChat / QQ ids and e-mails in ``text``, whatever the spelling, and
    the cleaned text without them (what copies of one script share when each names the contact
    in its own spelling)."""
    if _NO_CONTACT.fullmatch(text) and not _CN_DIGITS.search(text):
        return set(), text
    t = clean(text).text.lower()
    found = [(contact_key(c.kind, c.value), c.start, c.end) for c in extract_contacts(t)]
    found += [(k, m.start(), m.end()) for m in _SPACED_RE.finditer(t) for k in _spaced_keys(m.group())]
    keys = {k for k, _, _ in found} | _spaced_keys(unicodedata.normalize("NFKC", text).lower())  # cleaning may
    rest, pos = [], 0  # turn a spaced-out letter into a character ("a b c" → "啊 b c")
    for _, start, end in sorted(found, key=lambda f: f[1]):
        if start >= pos:
            rest.append(t[pos:start])
            pos = end
    return {k for k in keys if k}, "".join(rest) + t[pos:]


def contact_keys(text: str) -> set[str]:
    """Keys of the phones, WeChat / QQ ids and e-mails in ``text``, whatever the spelling."""
    return contacts_and_rest(text)[0]
