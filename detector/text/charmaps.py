"""Data tables for :mod:`detector.text.cleaning`: character maps, classes and regex sources.

Everything here is plain data built once at import.  The maps are *per character*
so that the cleaner can keep an exact offset map back to the original text.

Tables
------
``DELETE_CHARS``      zero-width, bidi, variation selectors, keycap combiner, C0/C1
                      controls (except ``\\n``/``\\t``), tag characters: removed.
``NEWLINE_CHARS``     ``\\r``, NEL, LS, PS: become ``\\n``.  VT/FF become a space.
``HOMOGLYPHS``        (evasion only) enclosed / parenthesised / negative-circled digits
                      and letters, regional indicators, a few Cyrillic/Greek lookalikes
                      -> ASCII (lower case).  These override NFKC, which would give
                      ``(1)`` for ``⑴`` or leave ``❶`` untouched.
``T2S``               Traditional -> Simplified, one char -> one char, read from
                      OpenCC's ``TSCharacters.txt`` (first candidate of each entry).
``CN_DIGITS``         Chinese numerals used to spell contact numbers -> ASCII digit.
``PINYIN_ABBR``       standalone ASCII pinyin abbreviations of paid-posting words.
"""

from __future__ import annotations

import os
import re

# --- characters removed / rewritten unconditionally --------------------------------

_DELETE_RANGES = [
    (0x00, 0x08), (0x0E, 0x1F), (0x7F, 0x84), (0x86, 0x9F),  # C0/C1 except \t \n \v \f \r NEL
    (0xAD, 0xAD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # arabic letter mark
    (0x115F, 0x1160), (0x3164, 0x3164), (0xFFA0, 0xFFA0),  # hangul fillers (invisible)
    (0x17B4, 0x17B5), (0x180B, 0x180F),  # khmer inherent vowels, mongolian FVS / MVS
    (0x200B, 0x200F),  # ZWSP ZWNJ ZWJ LRM RLM
    (0x202A, 0x202E),  # bidi embeddings / overrides
    (0x2060, 0x2064), (0x2066, 0x206F),  # word joiner, invisible operators, bidi isolates
    (0x20E3, 0x20E3),  # combining enclosing keycap (1️⃣ -> 1)
    (0xFE00, 0xFE0F),  # variation selectors (emoji presentation)
    (0xFEFF, 0xFEFF),  # BOM / ZWNBSP
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0x1D173, 0x1D17A),  # musical invisible format chars
    (0xE0000, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors supplement
]

DELETE_CHARS: frozenset[str] = frozenset(
    chr(c) for lo, hi in _DELETE_RANGES for c in range(lo, hi + 1)
)

#: characters rewritten before NFKC (line breaks normalised, VT/FF -> space)
NEWLINE_MAP: dict[str, str] = {
    "\r": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n", "\x0b": " ", "\x0c": " ",
}


def _range_map(first: int, values: list[str]) -> dict[str, str]:
    """Map ``chr(first + k)`` to ``values[k]``."""
    return {chr(first + k): v for k, v in enumerate(values)}


_D1_10 = [str(n) for n in range(1, 11)]
_D1_20 = [str(n) for n in range(1, 21)]
_AZ = [chr(c) for c in range(ord("a"), ord("z") + 1)]


def _build_homoglyphs() -> dict[str, str]:
    """Enclosed alphanumerics and lookalikes NFKC does not reduce to plain ASCII."""
    m: dict[str, str] = {}
    m.update(_range_map(0x2474, _D1_20))  # ⑴..⒇  (NFKC: "(1)")
    m.update(_range_map(0x2488, _D1_20))  # ⒈..⒛  (NFKC: "1.")
    m.update(_range_map(0x249C, _AZ))  # ⒜..⒵
    m.update(_range_map(0x24EB, [str(n) for n in range(11, 21)]))  # ⓫..⓴
    m.update(_range_map(0x24F5, _D1_10))  # ⓵..⓾
    m["\u24ff"] = "0"  # ⓿
    m.update(_range_map(0x2776, _D1_10))  # ❶..❿
    m.update(_range_map(0x2780, _D1_10))  # ➀..➉
    m.update(_range_map(0x278A, _D1_10))  # ➊..➓
    m.update(_range_map(0x3220, [str(n) for n in range(1, 10)] + ["10"]))  # ㈠..㈩
    m.update(_range_map(0x1F100, [str(n) for n in range(0, 10)] + ["0"]))  # 🄀..🄊
    m.update(_range_map(0x1F10B, ["0", "0"]))  # 🄋 🄌
    m.update(_range_map(0x1F110, _AZ))  # 🄐..🄩 parenthesised capitals
    m.update(_range_map(0x1F150, _AZ))  # 🅐..🅩 negative circled
    m.update(_range_map(0x1F170, _AZ))  # 🅰..🆉 negative squared
    m.update(_range_map(0x1F1E6, _AZ))  # 🇦..🇿 regional indicators
    m["\U0001F51F"] = "10"  # 🔟
    m["\u25cb"] = "〇"  # ○ used as a zero in numeral runs
    m.update({  # Cyrillic / Greek lookalikes of Latin letters
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "к": "k",
        "м": "m", "т": "t", "н": "h", "в": "b", "і": "i", "ј": "j", "ѕ": "s", "ԛ": "q",
        "ԝ": "w", "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o",
        "Р": "p", "С": "c", "Т": "t", "Х": "x", "У": "y", "Ѕ": "s", "І": "i", "Ј": "j",
        "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m",
        "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "ο": "o", "ν": "v",
    })
    return m


HOMOGLYPHS: dict[str, str] = _build_homoglyphs()


def _load_t2s() -> dict[str, str]:
    """Per-character Traditional -> Simplified map from OpenCC's character table.

    Only single-char -> single-char entries are kept (first candidate), so the map is
    1:1 and offsets survive ``str.translate``.  Returns ``{}`` if OpenCC is missing.
    """
    try:
        import opencc  # opencc-python-reimplemented

        path = os.path.join(os.path.dirname(opencc.__file__), "dictionary", "TSCharacters.txt")
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (ImportError, OSError):
        return {}
    table: dict[str, str] = {}
    for line in lines:
        key, _, vals = line.partition("\t")
        cand = vals.split(" ")[0] if vals else ""
        if len(key) == 1 and len(cand) == 1 and cand != key:
            table[key] = cand
    return table


T2S: dict[str, str] = _load_t2s()

#: Chinese numerals used to spell out phone / QQ numbers (converted only in runs).
CN_DIGITS: dict[str, str] = {
    "零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4", "五": "5",
    "六": "6", "七": "7", "八": "8", "九": "9", "壹": "1", "贰": "2", "叁": "3", "肆": "4",
    "伍": "5", "陆": "6", "柒": "7", "捌": "8", "玖": "9",
}

#: Standalone ASCII pinyin abbreviations of paid-posting words (deliberately short:
#: only abbreviations that are unambiguous in Chinese spam context).
PINYIN_ABBR: dict[str, str] = {
    "jz": "兼职",  # jian zhi: part-time job
    "sd": "刷单",  # shua dan: fake orders (not before 卡: "sd卡")
    "rj": "日结",  # ri jie: paid daily
    "kp": "控评",  # kong ping: comment control
    "zfb": "支付宝",  # zhi fu bao: Alipay
    "yhk": "银行卡",  # yin hang ka: bank card
}

#: Emoji / symbol blocks that may be used as separators inside CJK runs (regex class body).
EMOJI_CLASS = (
    "\u2600-\u2794\u2796-\u27bf"  # misc symbols + dingbats, except ➕ (U+2795, means 加)
    "\u2b00-\u2bff\u2190-\u21ff\u25a0-\u25ff"  # arrows, shapes (★☆♥ etc. are in 2600+)
    "\U0001F300-\U0001F5FF\U0001F600-\U0001F64F\U0001F680-\U0001F6FF"
    "\U0001F900-\U0001F9FF\U0001FA70-\U0001FAFF"
)

#: CJK ideographs (regex class body).  丶 (U+4E36) is excluded: it is a separator.
CJK_CLASS = "\u3400-\u4dbf\u4e00-\u4e35\u4e37-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"

#: Separator characters that may split single CJK chars (regex class body, besides emoji).
SEPARATOR_CLASS = r" \t\n\-_.*/|·~+=^`'•・丶"

#: Known HTML tag names (anything else in <...> is kept as text).
HTML_BLOCK_TAGS = (
    "br|p|div|li|ul|ol|tr|table|tbody|thead|h[1-6]|blockquote|section|article|hr|pre|dd|dt|dl"
)
HTML_INLINE_TAGS = (
    "a|abbr|b|big|button|center|cite|code|del|em|figcaption|figure|font|footer|header|i|"
    "iframe|img|input|ins|label|mark|nav|q|s|small|source|span|strike|strong|sub|sup|td|th|"
    "u|video|audio|html|body|head|meta|link|title|wbr"
)

#: Top-level domains accepted for bare domains (``xx.com``) without a scheme.
URL_TLDS = (
    "com|cn|net|org|cc|me|io|top|xyz|vip|info|tv|co|ly|gl|site|club|shop|link|ink|work|"
    "app|wang|ren|pub|hk|tw|gov|edu|biz|online|store|fun|live|icu|so|la"
)


def _build_evasion_table() -> dict[int, str]:
    """1:1 ``str.translate`` table: Traditional -> Simplified and ASCII upper -> lower."""
    table = {ord(k): v for k, v in T2S.items()}
    table.update({c: chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})
    return table


#: per-char evasion table applied with ``str.translate`` (keeps length, so offsets)
EVASION_TABLE: dict[int, str] = _build_evasion_table()

# --- regex sources (compiled in detector.text.cleaning) ----------------------------------

#: HTML entities: numeric, named with ``;``, and a few common ones without it.
ENTITY_PATTERN = (
    r"&(?:#[0-9]{1,7};?|#[xX][0-9a-fA-F]{1,6};?|[A-Za-z][A-Za-z0-9]{1,31};"
    r"|(?:nbsp|amp|lt|gt|quot)\b)"
)

_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&*+,;=%]"
_URL_END = r"[A-Za-z0-9\-_~/#@$&*+=%]"  # a URL does not end in . , ; : ! ?
#: URLs with a scheme, and (www.) hosts / bare domains with a known TLD (``t.cn/xyz``);
#: use with ``re.I``.  Only ASCII URL chars, so a CJK char or ``，`` ends the URL.
URL_PATTERN = (
    rf"(?:https?|ftp)://{_URL_CHARS}*{_URL_END}"
    rf"|(?<![A-Za-z0-9@._\-/])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+"
    rf"(?:{URL_TLDS})(?![A-Za-z0-9\-])(?::[0-9]{{1,5}})?(?:/(?:{_URL_CHARS}*{_URL_END})?)?"
)

#: ``@name`` (not an e-mail): up to 30 chars, ended by whitespace / punctuation.
MENTION_PATTERN = (
    r"(?<![A-Za-z0-9_.\-])@[^\s@:：,，。.!！?？;；、()（）\[\]【】<>《》\"'“”‘’#/]{1,30}"
)

#: WeChat / QQ spelling variants, on lower-cased text; the named group says what it
#: becomes (``CONTACT_WORD_OUT``).  Ambiguous words need context: 威信 (prestige) only
#: before ``:``/``号``/an id or after 加; 扣扣子, 抠抠搜搜, 微芯片 are kept.
CONTACT_WORD_PATTERN = (
    r"(?P<plusv>(?:[+➕]|加) ?v(?![a-z]))"
    r"|(?P<plus>[+➕](?= ?(?:微信|薇信|vx|wx|qq|扣扣|威信|v信)))"
    r"|(?P<wx>(?<![a-z])(?:vx|wx|weixin|wechat|v信)(?![a-z])"
    r"|薇信|徽信|嶶信|薇芯|微芯(?!片)|威信(?= ?[:=a-z0-9]|号)|(?<=加)威信)"
    r"|(?P<qq>(?<![a-z])q ?q(?![a-z])|扣扣(?!子)|抠抠(?!搜)|企鹅(?= ?号| ?:| ?[0-9]))"
    r"|(?P<v>(?<![a-z0-9])v(?=: ?[a-z0-9_\-]{5}))"
)
CONTACT_WORD_OUT: dict[str, str] = {
    "plusv": "加微信", "plus": "加", "wx": "微信", "qq": "QQ", "v": "微信",
}

#: HTML: script/style blocks and comments (dropped whole), known tags (named group
#: ``block`` for tags that become a line break).  Use with ``re.I | re.S``.
TAG_PATTERN = (
    r"<(script|style)\b[^>]*>.*?</\1\s*>"
    r"|<!--.*?-->"
    rf"|<\s*/?\s*(?P<block>{HTML_BLOCK_TAGS})\b[^<>]*>"
    rf"|<\s*/?\s*(?:{HTML_INLINE_TAGS})\b[^<>]*>"
)

#: punctuation left to the content when it sits between a line and its watermark
WM_TRIM_SUFFIX = "。！？!?.,;；，…”’\"')）】」』 "
WM_TRIM_PREFIX = "“‘\"'(（【「『 "


def char_class(chars: set[str] | frozenset[str]) -> str:
    """A regex character class matching any of ``chars``."""
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"
