"""4-bit packing of a converted base folder is lossless for Q4_0 weights."""
from __future__ import annotations

import json

import numpy as np
from safetensors.numpy import load_file, save_file

from training.base.pack_q4 import pack, q4_encode, unpack


def test_pack_unpack_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    d = rng.uniform(0.001, 0.05, size=(8 * 64 // 32, 1)).astype(np.float16).astype(np.float32)
    q = rng.integers(-8, 8, size=(8 * 64 // 32, 32)).astype(np.float32)
    q[:, 0] = -8  # Q4_0: the largest magnitude of a block is -8 * d
    w = (q * d).reshape(8, 64)
    other = rng.normal(size=(3, 5)).astype(np.float32)
    src = tmp_path / "src"
    src.mkdir()
    save_file({"layer.weight": w, "bias": other}, str(src / "model.safetensors"))
    (src / "config.json").write_text(json.dumps({"hidden_size": 64}))
    stats = pack(src, tmp_path / "b.npz")
    assert stats == {"q4": 1, "raw": 1}
    out = unpack(tmp_path / "b.npz", tmp_path / "dst")
    back = load_file(str(out / "model.safetensors"))
    assert np.array_equal(back["layer.weight"], w) and np.array_equal(back["bias"], other)
    assert json.loads((out / "config.json").read_text())["hidden_size"] == 64


def test_non_q4_weights_are_refused():
    assert q4_encode(np.random.default_rng(1).normal(size=(4, 32)).astype(np.float32)) is None
