"""Posts with no words: only @-mentions, URLs, emoji and emoji codes, digits or punctuation.

Such a post makes no claim and insults no one, so it is never flagged for rumor or harassment,
and it is paid posting only when it carries a contact detail (a bare phone number, a QQ id); a
post of fewer than MIN_WORDS_WITHOUT_CONTACT words is paid posting only with a contact too. The
rule sits in `Detector`, after any scorer, so no model can break it: before it, `@偏未晚`
scored rumor 0.99 and `，` paid posting 0.72 (traces of placeholders and masked digits).
"""
from __future__ import annotations

import re

import numpy as np

from detector.text.contacts import extract_contacts
from detector.scorers.features import ATOM_RE

# a word: one CJK ideograph, or two Latin letters in a row (`fuck`, `sb`, `nmsl`)
_WORD_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]|[A-Za-z]{2}")
NEEDS_WORDS = ("rumor", "harassment")
NEEDS_CONTACT = ("paid_posting",)


# a paid-posting offer without a contact needs room for the offer: of 1,297 paid-posting rows of the
# team's data (hand-written eval and dev, real comments, team-written), one has fewer than 6 words
# and no contact ("看下私信"); "武汉欢迎您" scored 0.10 with the threshold at 0.08
MIN_WORDS_WITHOUT_CONTACT = 6


def word_count(cleaned: str) -> int:
    """Words (CJK ideographs, pairs of Latin letters) outside placeholders and emoji codes."""
    if "[" in cleaned:
        cleaned = ATOM_RE.sub(" ", cleaned)
    return len(_WORD_RE.findall(cleaned))


def has_words(cleaned: str) -> bool:
    """True when the cleaned text has a word outside its placeholders and emoji codes."""
    return word_count(cleaned) > 0


def content_mask(cleaned: list[str], labels: list[str]) -> np.ndarray:
    """(n, len(labels)) factors: 0 where a risk's probability is ruled out for a post without words."""
    mask = np.ones((len(cleaned), len(labels)), np.float32)
    cols_words = [j for j, r in enumerate(labels) if r in NEEDS_WORDS]
    cols_contact = [j for j, r in enumerate(labels) if r in NEEDS_CONTACT]
    for i, t in enumerate(cleaned):
        n = word_count(t)
        if n >= MIN_WORDS_WITHOUT_CONTACT:
            continue
        if n == 0:
            mask[i, cols_words] = 0.0
        if cols_contact and not extract_contacts(t):
            mask[i, cols_contact] = 0.0
    return mask
