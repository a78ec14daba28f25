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

from detector.text.cleaning import CleanText
from detector.scorers.ngrams import ATOM, ATOM_RE, CONTACT, LEXICON, VIEWS

_PHRASE_VIEWS = (LEXICON, CONTACT, ATOM)  # views whose span is one unit even across words
MIN_SHARE = 0.01  # smaller parts of a score are not shown
VIEW_ORDER = ("word", "chars", "pinyin", "lexicon", "contact", "digits", "atom", "symbol")


def unit_ids(n: int, ustarts: np.ndarray, uends: np.ndarray, phrases) -> np.ndarray:
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


def post_evidence(ct: CleanText, text: str, starts: np.ndarray, ends: np.ndarray, views: np.ndarray,
                  ustarts: np.ndarray, uends: np.ndarray, contrib: np.ndarray, k: int) -> list[list[dict]]:
    """Evidence items of one post for each row of `contrib` (one row per risk: each feature's
    contribution to that risk's score); `text` is the cleaned text as featurized."""
    n = len(text)
    if n == 0 or len(starts) == 0 or k <= 0:
        return [[] for _ in contrib]
    ph = np.flatnonzero(np.isin(views, _PHRASE_VIEWS) & (ends - starts > 1))
    uid = unit_ids(n, ustarts, uends, zip(starts[ph].tolist(), ends[ph].tolist()))
    post = {"ct": ct, "text": text, "uid": uid, "bounds": np.r_[0, np.flatnonzero(np.diff(uid)) + 1, n],
            "starts": starts, "ends": ends, "views": views, "first": uid[starts],
            "last": uid[np.maximum(ends - 1, starts)], "length": np.maximum(ends - starts, 1)}
    return [_items(post, row, k) for row in contrib]


def _unit_scores(post: dict, contrib: np.ndarray) -> np.ndarray:
    """Each unit's summed contribution: a feature's spread evenly over its characters."""
    n = len(post["uid"])
    dens = contrib / post["length"]
    per_char = np.cumsum(np.bincount(post["starts"], dens, minlength=n + 1)
                         - np.bincount(post["ends"], dens, minlength=n + 1))[:n]
    return np.bincount(post["uid"], per_char)


def _fired(post: dict, positive: np.ndarray, n_units: int) -> np.ndarray:
    """(units, views) bool: a feature contributing positively covers part of the unit."""
    nv = len(VIEWS)
    v = post["views"][positive].astype(np.int64)
    lo = np.bincount(post["first"][positive] * nv + v, minlength=(n_units + 1) * nv)
    hi = np.bincount((post["last"][positive] + 1) * nv + v, minlength=(n_units + 1) * nv)
    return np.cumsum((lo - hi).reshape(n_units + 1, nv), axis=0)[:n_units] > 0


def _items(post: dict, contrib: np.ndarray, k: int) -> list[dict]:
    positive = contrib > 0
    total = float(contrib[positive].sum())
    if total <= 0:
        return []
    text, bounds = post["text"], post["bounds"]
    score = _unit_scores(post, contrib)
    by_text: dict[str, list] = {}  # the units of the best candidates, by their cleaned text
    for u in np.argsort(-score, kind="stable")[: 4 * k + 10]:
        if score[u] < MIN_SHARE * total:
            break
        key = text[bounds[u]:bounds[u + 1]]
        if any(ch.isalnum() for ch in key):  # punctuation or emoji only explains nothing
            group = by_text.setdefault(key, [0.0, []])
            group[0] += float(score[u])
            group[1].append(int(u))
    groups: dict[str, dict] = {}  # the best k, by their text in the original post
    for _, units in sorted(by_text.values(), key=lambda g: -g[0])[:k]:
        for u in units:
            a, b = _trimmed(post["ct"], int(bounds[u]), int(bounds[u + 1]))
            term = post["ct"].original[a:b]
            if any(ch.isalnum() for ch in term):
                item = groups.setdefault(term, {"term": term, "score": 0.0, "spans": [], "units": []})
                item["spans"] += [[a, b]] if [a, b] not in item["spans"] else []
                item["score"] += float(score[u])
                item["units"].append(u)
    best = sorted(groups.values(), key=lambda it: -it["score"])[:k]  # a term's units add up
    fired = _fired(post, positive, len(score)) if best else None
    return [{"term": it["term"], "share": round(it["score"] / total, 3), "weight": round(it["score"], 4),
             "views": _view_names(fired[it["units"]].any(axis=0)), "spans": sorted(it["spans"])} for it in best]


def _view_names(mask: np.ndarray) -> list[str]:
    names = {VIEWS[v] for v in np.flatnonzero(mask)}
    return [v for v in VIEW_ORDER if v in names]


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
