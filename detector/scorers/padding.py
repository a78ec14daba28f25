"""Token batches for the encoder scorers (torch and ONNX Runtime) and for training: texts sorted
by token count and cut into batches, so short posts are not padded to long ones, then each
batch right-padded to its longest text. numpy only (the ONNX scorer runs without torch)."""
from __future__ import annotations

import numpy as np


def length_buckets(lengths: list[int], batch_size: int, max_tokens: int | None = None) -> list[list[int]]:
    """Indices sorted by length (stable), cut into batches of <= batch_size texts and, with
    `max_tokens`, <= max_tokens padded tokens (at least one text each)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out, cur = [], []
    for i in order:
        if cur and (len(cur) >= batch_size or (max_tokens is not None and lengths[i] * (len(cur) + 1) > max_tokens)):
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def pad_batch(ids: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists to the longest one: (input_ids, attention_mask), both int64."""
    n = max(len(x) for x in ids)
    input_ids = np.full((len(ids), n), pad_id, np.int64)
    mask = np.zeros((len(ids), n), np.int64)
    for i, x in enumerate(ids):
        input_ids[i, :len(x)] = x
        mask[i, :len(x)] = 1
    return input_ids, mask
