"""Which scored posts to review first, so that a few hundred reviews teach the model most
(`jingwang review import SCORED --sample uncertain|diverse|random --n N`).

- `uncertain`: per risk, the posts whose score is closest to that risk's threshold (distance in
  log-odds), the risks taking turns, so every risk gets its share of the N.
- `diverse`: the 5 x N most uncertain posts with distinct texts, grouped into N clusters of similar wording (character
  bigram hashes, k-means), and the most uncertain post of each cluster: near-threshold posts that
  are not all the same joke or the same copy-paste campaign.
- `random`: N posts drawn uniformly (fixed seed), for an unbiased estimate of precision.

A risk's threshold is read off the scores: the lowest score among the posts flagged for it (a
scored file does not carry thresholds); a risk nothing was flagged for uses 0.5.
"""
from __future__ import annotations

import math
import random

import numpy as np

STRATEGIES = ("uncertain", "diverse", "random")


def thresholds_from_flags(records: list[dict]) -> dict[str, float]:
    low: dict[str, float] = {}
    risks: set[str] = set()
    for r in records:
        scores = r.get("scores") or {}
        risks.update(scores)
        for f in r.get("flags") or []:
            if f in scores:
                low[f] = min(low.get(f, 1.0), float(scores[f]))
    return {risk: low.get(risk, 0.5) for risk in sorted(risks)}


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def uncertainty(records: list[dict], thresholds: dict[str, float]) -> dict[str, list[float]]:
    """Per risk, every record's distance to the threshold in log-odds (smaller = less certain)."""
    return {risk: [abs(_logit((r.get("scores") or {}).get(risk, 0.0)) - _logit(t)) for r in records]
            for risk, t in thresholds.items()}


def pick_uncertain(records: list[dict], n: int, thresholds: dict[str, float]) -> list[int]:
    dist = uncertainty(records, thresholds)
    orders = {risk: iter(np.argsort(d, kind="mergesort")) for risk, d in dist.items()}
    chosen: list[int] = []
    seen: set[int] = set()
    while len(chosen) < min(n, len(records)) and orders:
        for risk in list(orders):
            for i in orders[risk]:
                if int(i) not in seen:
                    seen.add(int(i))
                    chosen.append(int(i))
                    break
            else:
                del orders[risk]
            if len(chosen) >= n:
                break
    return chosen


def _bigram_vectors(texts: list[str], dim: int = 2**12) -> np.ndarray:
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(analyzer="char", ngram_range=(2, 2), n_features=dim, alternate_sign=False, norm="l2")
    return vec.transform(texts)


def pick_diverse(records: list[dict], n: int, thresholds: dict[str, float], text_field: str = "text",
                 seed: int = 0) -> list[int]:
    pool, texts = [], set()
    for i in pick_uncertain(records, len(records), thresholds):  # the 5n most uncertain distinct texts
        t = str(records[i].get(text_field, "")).strip()
        if t not in texts:
            texts.add(t)
            pool.append(i)
            if len(pool) >= 5 * n:
                break
    if len(pool) <= n:
        return pool
    from sklearn.cluster import MiniBatchKMeans

    X = _bigram_vectors([str(records[i].get(text_field, "")) for i in pool])
    labels = MiniBatchKMeans(n_clusters=n, random_state=seed, n_init=3, batch_size=1024).fit_predict(X)
    chosen, taken = [], set()
    for rank, i in enumerate(pool):  # pool is in order of uncertainty: the first of each cluster wins
        if labels[rank] not in taken:
            taken.add(labels[rank])
            chosen.append(i)
    for i in pool:  # an empty cluster leaves a gap: fill it with the next most uncertain
        if len(chosen) >= n:
            break
        if i not in chosen:
            chosen.append(i)
    return chosen[:n]


def select(records: list[dict], strategy: str, n: int, text_field: str = "text", seed: int = 0,
           thresholds: dict[str, float] | None = None) -> list[int]:
    """Indices of the records to queue, most useful first."""
    if strategy not in STRATEGIES:
        raise ValueError(f"--sample {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if n <= 0:
        raise ValueError(f"--n {n}: must be at least 1")
    thresholds = thresholds or thresholds_from_flags(records)
    if strategy == "random":
        return random.Random(seed).sample(range(len(records)), min(n, len(records)))
    if strategy == "uncertain":
        return pick_uncertain(records, n, thresholds)
    return pick_diverse(records, n, thresholds, text_field, seed)
