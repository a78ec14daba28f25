"""Word segmentation: jieba (the reference) or rjieba (jieba's algorithm compiled, the jieba-rs
binding, about 10x faster), one tokenizer per user dictionary per process.

The user dictionary is part of a model (copied into its folder), and so is the segmenter's name
(featurizer.segmenter), so training and scoring segment the same way. Words come back with their
spans in the text given.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from pathlib import Path

import jieba

from detector.text.phonetic import disk_cached
from detector.resources import resource

jieba.setLogLevel(logging.WARNING)

SEGMENTERS = ("jieba", "rjieba")
_LOCK = threading.Lock()
_TOKENIZERS: dict[str, jieba.Tokenizer] = {}
_RJIEBA: dict[str, object] = {}
RE_USERDICT = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")  # jieba's own user-dictionary line pattern

DEFAULT_USERDICT = resource("userdict.txt")


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


def userdict_entries(userdict: Path) -> list[tuple[str, int | None, str | None]]:
    """(word, frequency or None, tag or None) per line of a jieba user dictionary, parsed as
    jieba's load_userdict parses it."""
    out = []
    for line in Path(userdict).read_text(encoding="utf-8").lstrip("\ufeff").splitlines():
        line = line.strip()
        if line:
            word, freq, tag = RE_USERDICT.match(line).groups()
            out.append((word, int(freq) if freq else None, tag.strip() if tag else None))
    return out


def get_rjieba(userdict: str | Path | None = None):
    """The process-wide rjieba segmenter for `userdict`: jieba's dictionary (embedded in rjieba),
    then the user dictionary word by word (rjieba has no load_userdict)."""
    try:
        import rjieba
    except ImportError:
        raise ValueError("this model segments with rjieba (featurizer.segmenter), which is not installed: "
                         "pip install rjieba==0.2.2") from None
    path = Path(userdict) if userdict else None
    key = _dict_key(path)
    with _LOCK:
        seg = _RJIEBA.get(key)
        if seg is None:
            seg = rjieba.Jieba()
            for word, freq, tag in userdict_entries(path) if path is not None else ():
                seg.add_word(word, freq, tag)
            _RJIEBA[key] = seg
    return seg


class Segmenter:
    """Cut text into words with spans. Cheap to create: the tokenizer is shared per process.
    `kind`: "jieba" (the reference, and what models made before the setting existed use) or
    "rjieba"; accurate mode with HMM either way."""

    def __init__(self, userdict: str | Path | None = None, kind: str = "jieba"):
        if kind not in SEGMENTERS:
            raise ValueError(f"unknown segmenter {kind!r}; known: {', '.join(SEGMENTERS)}")
        self.userdict = Path(userdict) if userdict else None
        self.kind = kind
        if kind == "rjieba":
            seg = get_rjieba(self.userdict)
            self.tokens = lambda text: seg.cut(text, True)
        else:
            tok = get_tokenizer(self.userdict)
            self.tokens = lambda text: tok.lcut(text, HMM=True)

    def cut(self, text: str) -> list[str]:
        """Words of `text` (whitespace dropped)."""
        return [w for w in self.tokens(text) if not w.isspace()]

    def cut_spans(self, text: str) -> list[tuple[str, int, int]]:
        """Words with [start, end) spans into `text` (whitespace dropped)."""
        out, pos = [], 0
        for w in self.tokens(text):
            end = pos + len(w)
            if not w.isspace():
                out.append((w, pos, end))
            pos = end
        return out
