"""Feature columns by MurmurHash3 (x86, 32 bit, seed 0) of each name's UTF-8 bytes, as
scikit-learn's FeatureHasher computes them (abs of the signed hash, modulo n_features), for a
whole batch at once in numpy: scoring never imports scikit-learn (1.4 s of start-up).

The names are hashed side by side: sorted by length, block j of every name that has one is
mixed in together, so the work is one pass over the batch's bytes in a few dozen numpy steps.
"""
from __future__ import annotations

import numpy as np

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_M5, _N1 = np.uint32(5), np.uint32(0xE6546B64)
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix_k(k: np.ndarray) -> np.ndarray:
    return _rotl(k * _C1, 15) * _C2


def _utf8(names: list[str]) -> tuple[bytes, np.ndarray, np.ndarray]:
    """The names' UTF-8 bytes, each name's start in them and its length in bytes."""
    joined = "\0".join(names).encode("utf-8", "surrogatepass")  # UTF-8 has no 0 byte but NUL's
    seps = np.flatnonzero(np.frombuffer(joined, np.uint8) == 0)
    if len(seps) == len(names) - 1:  # no name holds a NUL: the separators are the boundaries
        st = np.r_[0, seps + 1]
        return joined, st, np.r_[seps, len(joined)] - st
    enc = [s.encode("utf-8", "surrogatepass") for s in names]
    ln = np.fromiter(map(len, enc), np.int64, len(enc))
    return b"".join(enc), np.r_[0, np.cumsum(ln)[:-1]], ln


def murmur3_32(names: list[str]) -> np.ndarray:
    """The signed 32-bit MurmurHash3 (seed 0) of each name's UTF-8 bytes, as int64."""
    n = len(names)
    if n == 0:
        return np.zeros(0, np.int64)
    data, st, ln = _utf8(names)
    raw = data + b"\0\0\0\0"
    # a little-endian uint32 at every byte offset (unaligned view, no copy)
    word = np.ndarray((len(data) + 1,), dtype="<u4", buffer=raw, strides=(1,))
    blocks = (ln // 4).astype(np.int16 if ln.max() < 2**17 else np.int64)
    order = np.argsort(-blocks, kind="stable")  # radix sort on 16-bit keys
    ln, st, blocks = ln[order], st[order], blocks[order]
    neg = -blocks.astype(np.int64)  # ascending: the names with a block j are a prefix
    h = np.zeros(n, np.uint32)
    for j in range(int(blocks[0])):
        m = int(np.searchsorted(neg, -j, side="left"))
        h[:m] = _rotl(h[:m] ^ _mix_k(word[st[:m] + 4 * j]), 13) * _M5 + _N1
    rem, t = ln & 3, st + 4 * blocks
    tail = word[t] & np.where(rem == 3, 0xFFFFFF, np.where(rem == 2, 0xFFFF, 0xFF)).astype(np.uint32)
    h ^= np.where(rem >= 1, _mix_k(tail), np.uint32(0))
    h ^= ln.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= _F1
    h ^= h >> np.uint32(13)
    h *= _F2
    h ^= h >> np.uint32(16)
    out = np.empty(n, np.int64)
    out[order] = h.view(np.int32)
    return out


def hashed_columns(names: list[str], n_features: int) -> np.ndarray:
    """Column of each name: abs(murmur3_32) % n_features (FeatureHasher, alternate_sign=False)."""
    return (np.abs(murmur3_32(names)) % n_features).astype(np.int32)
