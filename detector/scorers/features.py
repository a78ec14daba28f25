"""Hashed TF-IDF features over character n-grams, word n-grams, pinyin n-grams and extras.

Stateless hashing (no vocabulary to store): a feature's index is murmurhash3 of its string,
the same function scikit-learn's FeatureHasher uses (computed in numpy, detector/scorers/hashing.py, so
scoring does not import scikit-learn), so a model is a few numeric arrays
(idf and per-risk weights) saved as safetensors.

One pass per post: `Featurizer.analyze` segments each cleaned text once, makes every view's
n-grams with their spans (detector/scorers/ngrams.py) and hashes the whole batch in one call; the
resulting FeatureBatch holds, per feature, its column, span and view, so the scorer reads both
the scores and the evidence of a flagged post off the same arrays.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp

from detector.scorers.hashing import hashed_columns
from detector.scorers.ngrams import ATOM, ATOM_RE, Grams, add_piece, view_of  # noqa: F401  (ATOM_RE re-exported)
from detector.text.segment import SEGMENTERS, Segmenter

ExtraFeatures = Callable[[str], list[tuple[str, int, int]]]
CHUNK = 4096  # texts per batch when a whole corpus is transformed (bounded memory)


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
    # phonetic view (detector/text/phonetic.py): n-grams of the toneless pinyin syllables of the text,
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
    # "jieba" (the reference; models made before this setting existed) or "rjieba" (jieba's
    # algorithm compiled, about 10x faster; detector/text/segment.py)
    segmenter: str = "jieba"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeaturizerConfig":
        """Every key must be a setting above (a typo is an error naming the closest one, never a
        silently dropped setting); model folders save all of them (to_dict)."""
        import difflib

        known = sorted(cls.__dataclass_fields__)
        for key in d:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f"did you mean 'featurizer.{close[0]}'?" if close else f"known: {', '.join(known)}."
                raise ValueError(f"unknown key 'featurizer.{key}'; {hint}")
        d = dict(d)
        if "extra" in d:
            unknown = set(d["extra"]) - set(EXTRA_KINDS)
            if unknown:
                raise ValueError(f"featurizer.extra: unknown {sorted(unknown)}; known: {', '.join(EXTRA_KINDS)}")
            d["extra"] = tuple(d["extra"])
        if d.get("segmenter", "jieba") not in SEGMENTERS:
            raise ValueError(f"featurizer.segmenter: unknown {d['segmenter']!r}; known: {', '.join(SEGMENTERS)}")
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


@lru_cache(maxsize=8192)
def contacts_in(text: str) -> tuple:
    """detector.text.contacts.extract_contacts, remembered for the last texts: the featurizer and the
    detector's `contacts` field read the same post's contacts once."""
    from detector.text.contacts import extract_contacts

    return tuple(extract_contacts(text))


def contact_features(text: str) -> list[tuple[str, int, int]]:
    """Contact details (phone, QQ, WeChat id, URL, e-mail) as `contact:<kind>` features."""
    return [(f"contact:{c.kind}", c.start, c.end) for c in contacts_in(text)]


def combine(*fns: ExtraFeatures) -> ExtraFeatures | None:
    fns = tuple(f for f in fns if f is not None)
    if not fns:
        return None
    return lambda text: [item for f in fns for item in f(text)]


def feature_index(feature: str, n_features: int) -> int:
    """Column of `feature`, identical to sklearn FeatureHasher(alternate_sign=False)."""
    return int(hashed_columns([feature], n_features)[0])


def feature_columns(feats: list[str], n_features: int) -> np.ndarray:
    """feature_index of every name in `feats`, as one int32 array, hashed in one numpy pass
    (detector/scorers/hashing.py)."""
    return hashed_columns(feats, n_features)


@dataclass
class FeatureBatch:
    """The features of a batch of cleaned texts, flat: text i's features are
    [indptr[i], indptr[i+1]) of `cols` (hashed column), `starts`/`ends` (span in the cleaned text)
    and `views` (detector.scorers.ngrams.VIEWS code); its words (evidence units) are [uptr[i], uptr[i+1])
    of `ustarts`/`uends`. `X` holds the TF-IDF rows once the scorer has computed them."""
    texts: list[str]
    indptr: np.ndarray
    cols: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    views: np.ndarray
    uptr: np.ndarray
    ustarts: np.ndarray
    uends: np.ndarray
    X: sp.csr_matrix | None = None

    def __len__(self) -> int:
        return len(self.texts)


class Featurizer:
    """Cleaned text -> n-gram features (with spans) -> hashed, idf-weighted, L2-normed rows."""

    def __init__(self, config: FeaturizerConfig, segmenter: Segmenter | None = None,
                 extra: ExtraFeatures | None = None, idf: np.ndarray | None = None):
        self.config = config
        if segmenter is None or segmenter.kind != config.segmenter:  # the config names the segmenter
            segmenter = Segmenter(segmenter.userdict if segmenter else None, config.segmenter)
        self.segmenter = segmenter
        self.extra = extra
        self.idf_ = idf

    def _grams(self, text: str, g: Grams) -> str:
        """Append every feature of one cleaned text to `g`; returns the text as featurized."""
        c = self.config
        text = text[: c.max_chars]
        tokens = self.segmenter.tokens
        if c.atomic_placeholders and "[" in text:
            pos = 0
            for m in ATOM_RE.finditer(text):
                add_piece(g, c, tokens, text[pos:m.start()], pos)
                g.ustarts.append(m.start())
                g.uends.append(m.end())
                if m.group() not in c.silent_atoms:
                    g.add("a:" + m.group(), m.start(), m.end(), ATOM)
                pos = m.end()
            add_piece(g, c, tokens, text[pos:], pos)
        else:
            add_piece(g, c, tokens, text, 0)
        if self.extra is not None:
            for f, s, e in self.extra(text):
                g.add(f, s, e, view_of(f))
        return text

    def analyze(self, texts: Iterable[str]) -> FeatureBatch:
        """One pass over a batch of cleaned texts: every feature's column, span and view."""
        g, done, indptr, uptr = Grams(), [], [0], [0]
        for t in texts:
            done.append(self._grams(t, g))
            indptr.append(len(g.feats))
            uptr.append(len(g.ustarts))
        i32 = np.int32
        return FeatureBatch(done, np.array(indptr, np.int64), feature_columns(g.feats, self.config.n_features),
                            np.array(g.starts, i32), np.array(g.ends, i32), np.array(g.views, np.int8),
                            np.array(uptr, np.int64), np.array(g.ustarts, i32), np.array(g.uends, i32))

    def features_with_spans(self, text: str) -> list[tuple[str, int, int]]:
        """All features of a cleaned text, each with its [start, end) span in that text."""
        g = Grams()
        self._grams(text, g)
        return list(zip(g.feats, g.starts, g.ends))

    def features(self, text: str) -> list[str]:
        return [f for f, _, _ in self.features_with_spans(text)]

    def batch_counts(self, batch: FeatureBatch) -> sp.csr_matrix:
        """Raw hashed counts of a batch, one row per text (as sklearn's FeatureHasher makes them)."""
        X = sp.csr_matrix((np.ones(len(batch.cols)), batch.cols.copy(), batch.indptr.copy()),
                          shape=(len(batch), self.config.n_features), dtype=np.float64)
        X.sum_duplicates()  # in place: on copies, so the batch keeps one column per feature
        return X

    def counts(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Raw hashed counts, one row per cleaned text (in batches of CHUNK texts)."""
        texts = list(texts)
        parts = [self.batch_counts(self.analyze(texts[i:i + CHUNK])) for i in range(0, len(texts), CHUNK)]
        if not parts:
            return sp.csr_matrix((0, self.config.n_features), dtype=np.float64)
        return parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")

    def fit(self, texts: Iterable[str]) -> "Featurizer":
        """Learn smoothed idf (as scikit-learn's TfidfTransformer) from cleaned texts."""
        X = self.counts(texts)
        df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.float64)
        n = X.shape[0]
        self.idf_ = (np.log((1 + n) / (1 + df)) + 1.0).astype(np.float32)
        return self

    def transform(self, texts: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF rows (sublinear tf, L2 norm)."""
        return self.tfidf(self.counts(texts))

    def transform_batch(self, batch: FeatureBatch) -> sp.csr_matrix:
        """The batch's TF-IDF rows, kept in `batch.X`."""
        if batch.X is None:
            batch.X = self.tfidf(self.batch_counts(batch))
        return batch.X

    def tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        if self.idf_ is None:
            raise RuntimeError("Featurizer is not fitted: call fit() or load idf")
        X = counts.astype(np.float32)
        if self.config.sublinear_tf:
            np.log(X.data, X.data)
            X.data += 1.0
        X = X.multiply(self.idf_[None, :]).tocsr()
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.diags(1.0 / norms).dot(X).tocsr().astype(np.float32)
