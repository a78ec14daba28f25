"""Hashed TF-IDF features over character n-grams and jieba word n-grams.

Stateless hashing (no vocabulary to store): a feature's index is murmurhash3 of its string,
the same function scikit-learn's FeatureHasher uses, so a model is a few numeric arrays
(idf and per-risk weights) saved as safetensors. Every feature can be traced back to the
spans of the cleaned text that produced it, which is how evidence is built.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import re

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.utils import murmurhash3_32

from detector.phonetic import phonetic_ngrams
from detector.segment import Segmenter

Span = tuple[int, int]
# Atoms: the cleaner's placeholders ([URL], [AT]) and bracketed emoji codes ([捂脸], [doge],
# [哭惹R]). Each is one feature (`a:[AT]`); no n-gram of any view crosses or cuts one.
ATOM_RE = re.compile(r"\[[^\[\]\s]{1,10}\]")
_WORD_RUN = re.compile(r"[^\W\d_]+")  # letters and CJK characters (no digits, no punctuation)
_DIGIT_RUN = re.compile(r"\d+")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def _digit_class(n: int) -> str:
    return "1-2" if n <= 2 else "3-4" if n <= 4 else "5-8" if n <= 8 else "9-11" if n <= 11 else "12+"


_KEEP_RUN = re.compile(r"[^\s\-*./|丨~_·•+=^\u2600-\u27bf\U0001f000-\U0001faff\ufe0f\u200d]+")


def skeleton(text: str) -> tuple[str, list[int]]:
    """`text` without whitespace, emoji and separator symbols, and each kept char's index in `text`."""
    chars, index = [], []
    for m in _KEEP_RUN.finditer(text):
        chars.append(m.group())
        index.extend(range(m.start(), m.end()))
    return "".join(chars), index


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def dropped_symbols(text: str, index: list[int]) -> list[tuple[str, int, int]]:
    """The emoji and symbols the skeleton dropped, each as an `s:` feature; not whitespace, and
    not emoji wedged between two Chinese characters (加🔥微🔥信: an evasion, not a signal)."""
    out = []
    for a, b in zip([-1] + index, index + [len(text)]):
        if b - a <= 1:
            continue
        wedged = a >= 0 and b < len(text) and _cjk(text[a]) and _cjk(text[b])
        out.extend(("s:" + text[i], i, i + 1) for i in range(a + 1, b)
                   if not text[i].isspace() and not (wedged and _emoji(text[i])))
    return out


def _emoji(ch: str) -> bool:
    return ch >= "\U0001f000" or "\u2600" <= ch <= "\u27bf" or ch in "\ufe0f\u200d"
ExtraFeatures = Callable[[str], list[tuple[str, int, int]]]


@dataclass(frozen=True)
class FeaturizerConfig:
    char_ngram_min: int = 1
    char_ngram_max: int = 3
    word_ngram_min: int = 1
    word_ngram_max: int = 2
    n_features: int = 2**20
    sublinear_tf: bool = True
    max_chars: int = 2000  # longer texts are scored on their first max_chars cleaned characters
    # "lexicon" (paid-posting intents, `lex:`), "harassment_lexicon" (insults, slurs, threats,
    # doxxing, `hlex:`), "contacts" (phone, QQ, WeChat, URL)
    extra: tuple[str, ...] = ()
    # n-grams over the text without whitespace, emoji and separator symbols, so 你-就-是 and
    # 你🔥就是 give the n-grams of 你就是 (evasions the cleaner leaves alone to keep ordinary text)
    skeleton: bool = False
    # phonetic view (detector/phonetic.py): n-grams of the toneless pinyin syllables of the text,
    # so 傻逼 / sha逼 / 沙比 share features; 0 = off
    pinyin_ngram_min: int = 1
    pinyin_ngram_max: int = 0
    # placeholders and emoji codes as atoms (ATOM_RE) instead of characters; models trained
    # before this setting existed keep their features (False)
    atomic_placeholders: bool = False
    # n-grams of words only: character n-grams within runs of letters and CJK characters, word
    # n-grams of words with a letter or character; punctuation gives no feature and a digit run
    # one shape feature (`d:<length class>`), so "!!!" and masked-digit traces are not cues
    text_only: bool = False
    # atoms that give no feature at all (with atomic_placeholders): who a post replies to ("[AT]")
    # says nothing about its content, and mention-heavy posts must not look like a risk's source
    silent_atoms: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeaturizerConfig":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "extra" in d:
            unknown = set(d["extra"]) - set(EXTRA_KINDS)
            if unknown:
                raise ValueError(f"featurizer.extra: unknown {sorted(unknown)}; known: {', '.join(EXTRA_KINDS)}")
            d["extra"] = tuple(d["extra"])
        if "silent_atoms" in d:
            d["silent_atoms"] = tuple(d["silent_atoms"])
        return cls(**d)


EXTRA_KINDS = ("lexicon", "harassment_lexicon", "contacts")


def lexicon_features(lexicon, prefix: str = "lex"):
    """Lexicon hits as features: `<prefix>:<category>` and `<prefix>:<category>:strong`
    (weight >= 0.6), each with the span of the hit."""
    def extra(text: str) -> list[tuple[str, int, int]]:
        out = []
        for h in lexicon.match(text):
            out.append((f"{prefix}:{h.category}", h.start, h.end))
            if h.weight >= 0.6:
                out.append((f"{prefix}:{h.category}:strong", h.start, h.end))
        return out
    return extra


def contact_features(text: str) -> list[tuple[str, int, int]]:
    """Contact details (phone, QQ, WeChat id, URL, e-mail) as `contact:<kind>` features."""
    from detector.contacts import extract_contacts

    return [(f"contact:{c.kind}", c.start, c.end) for c in extract_contacts(text)]


def combine(*fns: ExtraFeatures) -> ExtraFeatures | None:
    fns = tuple(f for f in fns if f is not None)
    if not fns:
        return None
    return lambda text: [item for f in fns for item in f(text)]


def feature_index(feature: str, n_features: int) -> int:
    """Column of `feature`, identical to sklearn FeatureHasher(alternate_sign=False)."""
    return abs(murmurhash3_32(feature, seed=0, positive=False)) % n_features


class Featurizer:
    """Cleaned text -> n-gram features (with spans) -> hashed, idf-weighted, L2-normed rows."""

    def __init__(self, config: FeaturizerConfig, segmenter: Segmenter,
                 extra: ExtraFeatures | None = None, idf: np.ndarray | None = None):
        self.config = config
        self.segmenter = segmenter
        self.extra = extra
        self.idf_ = idf
        self._hasher = FeatureHasher(n_features=config.n_features, input_type="string",
                                     alternate_sign=False)

    def features_with_spans(self, text: str) -> list[tuple[str, int, int]]:
        """All features of a cleaned text, each with its [start, end) span in that text."""
        c = self.config
        text = text[: c.max_chars]
        if c.atomic_placeholders and "[" in text:
            out, pos = [], 0
            for m in ATOM_RE.finditer(text):
                out.extend(self._views(text[pos:m.start()], pos))
                if m.group() not in c.silent_atoms:
                    out.append(("a:" + m.group(), m.start(), m.end()))
                pos = m.end()
            out.extend(self._views(text[pos:], pos))
        else:
            out = self._views(text, 0)
        if self.extra is not None:
            out.extend(self.extra(text))
        return out

    def _views(self, text: str, offset: int) -> list[tuple[str, int, int]]:
        """Character, word and phonetic n-grams of a text without atoms, spans shifted by `offset`."""
        if not text:
            return []
        c = self.config
        base, index = skeleton(text) if c.skeleton else (text, None)
        out = self._ngrams(base)
        if c.pinyin_ngram_max > 0:
            out.extend(phonetic_ngrams(base, c.pinyin_ngram_min, c.pinyin_ngram_max))
        if index is not None:  # spans in the skeleton -> spans in the cleaned text
            out = [(f, index[s], index[e - 1] + 1) for f, s, e in out]
            out.extend(dropped_symbols(text, index))
        if offset:
            out = [(f, s + offset, e + offset) for f, s, e in out]
        return out

    def _ngrams(self, text: str) -> list[tuple[str, int, int]]:
        c = self.config
        if c.text_only:
            return self._text_ngrams(text)
        out: list[tuple[str, int, int]] = []
        n = len(text)
        for k in range(c.char_ngram_min, c.char_ngram_max + 1):
            out.extend(("c:" + text[i:i + k], i, i + k) for i in range(n - k + 1)
                       if not text[i:i + k].isspace())
        words = self.segmenter.cut_spans(text)
        for k in range(c.word_ngram_min, c.word_ngram_max + 1):
            for i in range(len(words) - k + 1):
                grp = words[i:i + k]
                out.append(("w:" + " ".join(w for w, _, _ in grp), grp[0][1], grp[-1][2]))
        return out

    def _text_ngrams(self, text: str) -> list[tuple[str, int, int]]:
        """The `text_only` n-grams (see FeaturizerConfig)."""
        c = self.config
        out: list[tuple[str, int, int]] = []
        for m in _WORD_RUN.finditer(text):
            run, a = m.group(), m.start()
            for k in range(c.char_ngram_min, c.char_ngram_max + 1):
                out.extend(("c:" + run[i:i + k], a + i, a + i + k) for i in range(len(run) - k + 1))
        out.extend((f"d:{_digit_class(m.end() - m.start())}", m.start(), m.end()) for m in _DIGIT_RUN.finditer(text))
        words = [w for w in self.segmenter.cut_spans(text) if _HAS_LETTER.search(w[0])]
        for k in range(c.word_ngram_min, c.word_ngram_max + 1):
            for i in range(len(words) - k + 1):
                grp = words[i:i + k]
                out.append(("w:" + " ".join(w for w, _, _ in grp), grp[0][1], grp[-1][2]))
        return out

    def features(self, text: str) -> list[str]:
        return [f for f, _, _ in self.features_with_spans(text)]

    def counts(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Raw hashed counts, one row per cleaned text."""
        return self._hasher.transform(self.features(t) for t in texts).tocsr()

    def fit(self, texts: Iterable[str]) -> "Featurizer":
        """Learn smoothed idf (as scikit-learn's TfidfTransformer) from cleaned texts."""
        X = self.counts(texts)
        df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
        n = X.shape[0]
        self.idf_ = (np.log((1 + n) / (1 + df)) + 1.0).astype(np.float32)
        return self

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF rows (sublinear tf, L2 norm)."""
        if self.idf_ is None:
            raise RuntimeError("Featurizer is not fitted: call fit() or load idf")
        X = self.counts(texts).astype(np.float32)
        if self.config.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        X = X.multiply(self.idf_[None, :]).tocsr()
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.diags(1.0 / norms).dot(X).tocsr().astype(np.float32)
