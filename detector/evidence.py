"""Evidence as a reviewer reads it: the words of a post that carry a risk's score.

The fast scorer's score of a risk is a sum over the post's features of coefficient × value
(a feature's TF-IDF value, split evenly over the places the feature occurs). Every feature
covers characters of the cleaned text, and its contribution is spread evenly over them. Units
are the segmenter's words (a lexicon hit, a contact or a placeholder spanning several words makes
one unit of them), so the character n-grams, word n-grams and pinyin n-grams of one word all
land on that word: 恶心, c:恶, c:恶心, p:e xin are one item, not four.

An item is one unit's text in the ORIGINAL post (the same text at several places is one item
with several spans), with

- `share`: the unit's summed contribution divided by the sum of all positive contributions of
  the post's features to that risk, so the shares of a risk's items add up to at most 1;
- `weight`: the unit's summed contribution itself (in logit units);
- `views`: the feature families that fired positively on it (word, chars, pinyin, lexicon,
  contact, digits, atom, symbol);
- `spans`: [start, end) in the original post.

Units without a letter, digit or Chinese character (punctuation, emoji) are never items, nor
units under MIN_SHARE of the positive contributions.
"""
from __future__ import annotations

import numpy as np

from detector.cleaning import CleanText
from detector.ngrams import ATOM, ATOM_RE, CONTACT, LEXICON, VIEWS

_PHRASE_VIEWS = (LEXICON, CONTACT, ATOM)  # views whose span is one unit even across words
MIN_SHARE = 0.01  # smaller parts of a score are not shown
VIEW_ORDER = ("word", "chars", "pinyin", "lexicon", "contact", "digits", "atom", "symbol")


def unit_ids(n: int, ustarts: np.ndarray, uends: np.ndarray, phrases: list[tuple[int, int]]) -> np.ndarray:
    """The unit of each of the `n` characters (non-decreasing ids from 0): one unit per word
    span; a character outside every word is a unit of its own; the words a phrase span touches
    are one unit."""
    if n == 0:
        return np.zeros(0, np.int64)
    cover = np.cumsum(np.bincount(ustarts, minlength=n + 1) - np.bincount(uends, minlength=n + 1))[:n] > 0
    cut = np.zeros(n + 1, bool)  # cut[c]: a unit starts at character c
    cut[ustarts] = True
    cut[uends] = True
    cut[:n] |= ~cover
    cut[1:n] |= ~cover[:-1]
    for s, e in phrases:
        cut[s + 1:e] = False
    cut[0] = False
    return np.cumsum(cut[:n])


def _trimmed(ct: CleanText, s: int, e: int) -> tuple[int, int]:
    """The original span of cleaned [s, e), without whitespace, punctuation or emoji at its ends
    (an emoji code's brackets stay: `[捂脸]` is the post's text)."""
    a, b = ct.to_original(s, e)
    text = ct.original
    if ATOM_RE.fullmatch(text[a:b]):
        return a, b
    while a < b and not text[a].isalnum():
        a += 1
    while b > a and not text[b - 1].isalnum():
        b -= 1
    return a, b


def post_evidence(ct: CleanText, n: int, starts: np.ndarray, ends: np.ndarray, views: np.ndarray,
                  ustarts: np.ndarray, uends: np.ndarray, contrib: np.ndarray, k: int) -> list[list[dict]]:
    """Evidence items of one post for each row of `contrib` (one row per risk: each feature's
    contribution to that risk's score); `n` is the length of the featurized cleaned text."""
    if n == 0 or len(starts) == 0:
        return [[] for _ in contrib]
    phrases = [(int(s), int(e)) for s, e, v in zip(starts, ends, views) if v in _PHRASE_VIEWS and e - s > 1]
    uid = unit_ids(n, ustarts, uends, phrases)
    ubounds = np.r_[np.flatnonzero(np.diff(uid)) + 1, n]
    ubounds = np.r_[0, ubounds]
    length = np.maximum(ends - starts, 1)
    return [_items(ct, uid, ubounds, starts, ends, views, row, length, k) for row in contrib]


def _items(ct, uid, ubounds, starts, ends, views, contrib, length, k) -> list[dict]:
    positive = contrib > 0
    total = float(contrib[positive].sum())
    if total <= 0 or k <= 0:
        return []
    n = len(uid)
    dens = contrib / length
    per_char = np.cumsum(np.bincount(starts, dens, minlength=n + 1) - np.bincount(ends, dens, minlength=n + 1))[:n]
    score = np.bincount(uid, per_char)
    order = np.argsort(-score, kind="stable")[: 4 * k + 10]
    groups: dict[str, dict] = {}
    for u in order:
        if score[u] < MIN_SHARE * total:
            break
        a, b = _trimmed(ct, int(ubounds[u]), int(ubounds[u + 1]))
        term = ct.original[a:b]
        if not any(ch.isalnum() for ch in term):
            continue  # punctuation or emoji only: it explains nothing to a reviewer
        item = groups.setdefault(term, {"term": term, "score": 0.0, "spans": [], "units": []})
        if [a, b] not in item["spans"]:
            item["spans"].append([a, b])
        item["score"] += float(score[u])
        item["units"].append(u)
    best = sorted(groups.values(), key=lambda it: -it["score"])[:k]  # a term's units add up
    return [_item(it, ubounds, starts, ends, views, positive, total) for it in best]


def _item(it: dict, ubounds, starts, ends, views, positive, total: float) -> dict:
    fired = set()
    for u in it["units"]:
        a, b = ubounds[u], ubounds[u + 1]
        fired.update(views[positive & (starts < b) & (ends > a)].tolist())
    names = {VIEWS[v] for v in fired}
    return {"term": it["term"], "share": round(it["score"] / total, 3), "weight": round(it["score"], 4),
            "views": [v for v in VIEW_ORDER if v in names], "spans": sorted(it["spans"])}


def with_contacts(original: str, items: list[dict], contacts: list[dict], k: int) -> list[dict]:
    """Paid-posting evidence with the post's contacts: a contact inside an item marks that item
    (its `kind`, view `contact`); the others are added as items of their own (the post's text as
    `term`, the contact as `value`, share 0), model items giving way so that at most k remain."""
    items = [dict(it) for it in items]
    extra = []
    for c in contacts:
        (cs, ce), = c["spans"]
        hit = next((it for it in items if any(s < ce and cs < e for s, e in it["spans"])), None)
        if hit is not None:
            hit.setdefault("kind", c["kind"])
            hit["views"] = sorted(set(hit.get("views", [])) | {"contact"}, key=VIEW_ORDER.index)
        else:
            extra.append({"term": original[cs:ce], "value": c["term"], "kind": c["kind"], "share": 0.0,
                          "weight": 0.0, "views": ["contact"], "spans": [[cs, ce]]})
    room = max(k - len(extra), 0)
    return (items[:room] + extra)[:k]
