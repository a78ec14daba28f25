"""Word segmentation with jieba: one tokenizer per user dictionary per process.

The user dictionary is part of a model (copied into its folder), so training and scoring
segment the same way. Words come back with their spans in the text given.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import jieba

from detector.phonetic import disk_cached

jieba.setLogLevel(logging.WARNING)

_LOCK = threading.Lock()
_TOKENIZERS: dict[str, jieba.Tokenizer] = {}

DEFAULT_USERDICT = Path(__file__).resolve().parent.parent / "configs" / "userdict.txt"


def _dict_key(userdict: Path | None) -> str:
    if userdict is None:
        return "-"
    return hashlib.sha256(Path(userdict).read_bytes()).hexdigest()


def get_tokenizer(userdict: str | Path | None = None) -> jieba.Tokenizer:
    """The process-wide jieba tokenizer for `userdict` (None: jieba's dictionary alone)."""
    path = Path(userdict) if userdict else None
    key = _dict_key(path)
    with _LOCK:
        tok = _TOKENIZERS.get(key)
        if tok is None:
            tok = jieba.Tokenizer()
            _initialize(tok)
            if path is not None:
                tok.load_userdict(str(path))
            _TOKENIZERS[key] = tok
    return tok


def _initialize(tok: jieba.Tokenizer) -> None:
    """jieba's prefix dictionary, cached in the user's cache folder with a content hash
    (phonetic.disk_cached) instead of jieba's own unchecked jieba.cache in the shared temp folder."""
    dict_file = Path(os.path.dirname(jieba.__file__)) / "dict.txt"
    st = dict_file.stat()
    key = f"jieba {jieba.__version__} {dict_file}:{st.st_size}:{st.st_mtime_ns}"
    tok.FREQ, tok.total = disk_cached("jieba", key, lambda: tok.gen_pfdict(tok.get_dict_file()))
    tok.initialized = True


class Segmenter:
    """Cut text into words with spans. Cheap to create: the jieba state is shared per process."""

    def __init__(self, userdict: str | Path | None = None):
        self.userdict = Path(userdict) if userdict else None
        self._tok = get_tokenizer(self.userdict)

    def cut(self, text: str) -> list[str]:
        """Words of `text` (whitespace dropped)."""
        return [w for w in self._tok.lcut(text, HMM=True) if not w.isspace()]

    def cut_spans(self, text: str) -> list[tuple[str, int, int]]:
        """Words with [start, end) spans into `text` (whitespace dropped)."""
        out, pos = [], 0
        for w in self._tok.lcut(text, HMM=True):
            end = pos + len(w)
            if not w.isspace():
                out.append((w, pos, end))
            pos = end
        return out
