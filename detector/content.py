"""Posts with no words: only @-mentions, URLs, emoji and emoji codes, digits or punctuation.

Such a post makes no claim and insults no one, so it is never flagged for rumor or harassment,
and it is paid posting only when it carries a contact detail (a bare phone number, a QQ id). The
rule sits in `Detector`, after any scorer, so no model can break it: before it, `@偏未晚`
scored rumor 0.99 and `，` paid posting 0.72 (traces of placeholders and masked digits).
"""
from __future__ import annotations

import re

import numpy as np

from detector.contacts import extract_contacts
from detector.features import ATOM_RE

# a word: one CJK ideograph, or two Latin letters in a row (`fuck`, `sb`, `nmsl`)
_WORD_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]|[A-Za-z]{2}")
NEEDS_WORDS = ("rumor", "harassment")
NEEDS_CONTACT = ("paid_posting",)


def has_words(cleaned: str) -> bool:
    """True when the cleaned text has a word outside its placeholders and emoji codes."""
    if "[" in cleaned:
        cleaned = ATOM_RE.sub(" ", cleaned)
    return _WORD_RE.search(cleaned) is not None


def content_mask(cleaned: list[str], labels: list[str]) -> np.ndarray:
    """(n, len(labels)) factors: 0 where a risk's probability is ruled out for a post without words."""
    mask = np.ones((len(cleaned), len(labels)), np.float32)
    cols_words = [j for j, r in enumerate(labels) if r in NEEDS_WORDS]
    cols_contact = [j for j, r in enumerate(labels) if r in NEEDS_CONTACT]
    for i, t in enumerate(cleaned):
        if has_words(t):
            continue
        mask[i, cols_words] = 0.0
        if cols_contact and not extract_contacts(t):
            mask[i, cols_contact] = 0.0
    return mask
