"""Near-duplicate groups of texts by MinHash and LSH, vectorised with numpy (steps 2-4 of
`detector.cases.campaigns`' pipeline; the texts come in as match keys).

- MinHash of the set of character ``shingle``-grams: grams packed from code points, mixed by
  splitmix64, permuted by ``num_perm`` multiply-shift hashes; signature = per-hash minimum,
  ``uint32[num_perm]``. Deterministic.
- LSH with :func:`lsh_params` bands; per band, rows sorted by band key (ties by the next band's
  key) and each paired with its bucket's first row and its neighbour: candidate pairs stay
  linear in the number of rows, even for huge buckets.
- Candidates verified by estimated Jaccard (share of equal slots) ``>= threshold``, then
  connected components (:func:`near_duplicate_groups`).
"""
from __future__ import annotations

import math

import numpy as np


# MinHash ----------

def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class MinHasher:
    """Vectorised MinHash signatures (uint32[num_perm]) of character-gram sets."""

    def __init__(self, num_perm: int = 64, shingle: int = 3, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.num_perm, self.shingle = num_perm, shingle
        self.a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)

    def signatures(self, keys: list[str]) -> np.ndarray:
        """Signatures of ``keys`` (each at least ``shingle`` chars long)."""
        k = self.shingle
        lens = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
        codes = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        n = len(codes) - k + 1
        grams = codes[:n].copy()
        for j in range(1, k):
            grams = grams * np.uint64(0x200003) + codes[j:n + j]
        starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
        owner = np.repeat(np.arange(len(keys)), lens)[:n]
        grams = _mix64(grams[np.arange(n) - starts[owner] <= lens[owner] - k])
        seg = np.concatenate(([0], np.cumsum(lens - k + 1)[:-1]))
        h = (grams[:, None] * self.a[None, :] + self.b[None, :]) >> np.uint64(32)
        return np.minimum.reduceat(h, seg, axis=0).astype(np.uint32)


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows): the most rows per band that still makes a pair at ``threshold`` a
    candidate with probability >= 0.98 (recall first; verification keeps precision)."""
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        b = num_perm // r
        if 1 - (1 - threshold**r) ** b >= 0.98:
            best = (b, r)
    return best


# clustering ----------

def _band_keys(sig: np.ndarray, band: int, rows: int) -> np.ndarray:
    cols = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
    key = np.full(len(sig), np.uint64(band + 1))
    for j in range(cols.shape[1]):
        key = _mix64(key ^ cols[:, j])
    return key


def _bucket_pairs(keys: np.ndarray, tiebreak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each post paired with its bucket's first post and its neighbour in the bucket."""
    order = np.lexsort((tiebreak, keys))
    k = keys[order]
    same = k[1:] == k[:-1]
    pos = np.arange(len(k))
    first = np.maximum.accumulate(np.where(np.concatenate(([True], ~same)), pos, 0))
    far = (pos - first) >= 2
    a = np.concatenate((order[:-1][same], order[first[far]]))
    b = np.concatenate((order[1:][same], order[far]))
    return a, b


def _verify(sig: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float, chunk: int = 65536):
    keep = np.zeros(len(a), dtype=bool)
    need = math.ceil(threshold * sig.shape[1] - 1e-9)
    for s in range(0, len(a), chunk):
        eq = (sig[a[s:s + chunk]] == sig[b[s:s + chunk]]).sum(axis=1)
        keep[s:s + chunk] = eq >= need
    return a[keep], b[keep]


def near_duplicate_groups(sig: np.ndarray, threshold: float, min_size: int) -> list[np.ndarray]:
    """Member indices (ascending) of every verified near-duplicate group of >= min_size."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(sig)
    if n < max(min_size, 2):
        return []
    bands, rows = lsh_params(threshold, sig.shape[1])
    pa, pb = [], []
    cur = _band_keys(sig, 0, rows)
    for i in range(bands):
        nxt = _band_keys(sig, (i + 1) % bands, rows)  # tie-break: similar posts side by side
        a, b = _verify(sig, *_bucket_pairs(cur, nxt), threshold)
        pa.append(a)
        pb.append(b)
        cur = nxt
    a, b = np.concatenate(pa), np.concatenate(pb)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    return [g for g in np.split(order, cuts) if len(g) >= min_size]
