"""The fast scorer: one linear model per risk over hashed char/word n-gram TF-IDF,
with a calibrator per risk. Weights are float32 arrays in safetensors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from detector.scorers.calibration import Calibrator, sigmoid
from detector.text.cleaning import CleanText
from detector.scorers.evidence import post_evidence
from detector.scorers.features import (FeatureBatch, Featurizer, FeaturizerConfig, combine, contact_features,
                               lexicon_features)
from detector.text.lexicon import load_lexicon
from detector.scorers.base import ModelFolderError, calibrators, inside, load_arrays, need
from detector.text.segment import Segmenter
from detector.resources import resource

WEIGHTS = "fast.safetensors"
USERDICT = "userdict.txt"
LEXICON = "paid_posting_lexicon.toml"
# featurizer.extra kind -> (file name in a model folder, feature prefix)
LEXICONS = {"lexicon": (LEXICON, "lex"), "harassment_lexicon": ("harassment_lexicon.toml", "hlex")}


class FastScorer:
    model_type = "fast"

    def __init__(self, labels: list[str], featurizer: Featurizer, coef: np.ndarray,
                 intercept: np.ndarray, calibrators: list[Calibrator],
                 gates: dict[str, tuple[np.ndarray, float, float]] | None = None,
                 lexicon_paths: dict[str, Path] | None = None):
        self.labels = list(labels)
        self.featurizer = featurizer
        self.coef_ = np.asarray(coef, np.float32)          # (n_labels, n_features)
        self.intercept_ = np.asarray(intercept, np.float32)  # (n_labels,)
        self.calibrators_ = calibrators
        # label -> (coef, intercept, saturation) of a domain gate: the risk's probability is
        # multiplied by min(1, P(text is of the kind the risk's sources cover) / saturation)
        self.gates_ = dict(gates or {})
        self.lexicon_paths = dict(lexicon_paths or {})  # extra kind -> the lexicon file its features came from

    def analyze(self, texts: list[CleanText]) -> FeatureBatch:
        """One pass over a batch: features with spans and views, and their TF-IDF rows; scores
        (batch_proba) and evidence (batch_evidence) are both read off it."""
        batch = self.featurizer.analyze(t.text for t in texts)
        self.featurizer.transform_batch(batch)
        return batch

    def batch_proba(self, batch: FeatureBatch) -> np.ndarray:
        return self.calibrated(*self.logits_and_gates(batch.X))

    def _logits(self, X) -> np.ndarray:
        return np.asarray(X @ self.coef_.T) + self.intercept_[None, :]

    def logits_and_gates(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Raw logits (n, labels) of feature rows `X` and each label's domain-gate factor (1 for
        labels without a gate): the probability is calibrator(logit) * gate."""
        z = self._logits(X)
        g = np.ones_like(z, dtype=np.float64)
        for label, (gc, b, sat) in self.gates_.items():
            g[:, self.labels.index(label)] = np.minimum(1.0, sigmoid(np.asarray(X @ gc).ravel() + b) / sat)
        return z, g

    def calibrated(self, z: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Probabilities from `logits_and_gates`: each label's calibrator, times its gate factor
        (1 for labels without a gate)."""
        return np.stack([cal(z[:, j]) for j, cal in enumerate(self.calibrators_)], axis=1) * g

    def predict_proba(self, texts: list[CleanText]) -> np.ndarray:
        return self.calibrated(*self.logits_and_gates(self.featurizer.transform(t.text for t in texts)))

    def batch_evidence(self, batch: FeatureBatch, i: int, text: CleanText, labels: list[str],
                       k: int = 5) -> dict[str, list[dict]]:
        """Evidence (detector/scorers/evidence.py) of post `i` of `batch` for each of `labels`, read off
        the batch's features: each feature's contribution is coefficient × its TF-IDF value."""
        a, b = int(batch.indptr[i]), int(batch.indptr[i + 1])
        if a == b or not labels:
            return {label: [] for label in labels}
        cols = batch.cols[a:b]
        X = batch.X  # row i, read in place (the TF-IDF rows keep scipy's index order: look up sorted)
        idx, data = X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]]
        order = np.argsort(idx)
        idx, data = idx[order], data[order]
        pos = np.minimum(np.searchsorted(idx, cols), max(len(idx) - 1, 0))
        val = np.where(idx[pos] == cols, data[pos], 0.0) if len(idx) else np.zeros(len(cols))
        count = np.bincount(pos, minlength=len(idx))[pos]  # places the column's value is split over
        rows = [self.labels.index(label) for label in labels]
        contrib = self.coef_[np.ix_(rows, cols)].astype(np.float64) * (val / count)[None, :]
        ua, ub = int(batch.uptr[i]), int(batch.uptr[i + 1])
        items = post_evidence(text, batch.texts[i], batch.starts[a:b], batch.ends[a:b], batch.views[a:b],
                              batch.ustarts[ua:ub], batch.uends[ua:ub], contrib, k)
        return dict(zip(labels, items))

    def explain(self, text: CleanText, label: str, k: int = 5) -> list[dict]:
        """The words with the largest share of `label`'s score (detector/scorers/evidence.py)."""
        return self.batch_evidence(self.analyze([text]), 0, text, [label], k)[label]

    def save(self, path: Path) -> dict:
        arrays = {"idf": self.featurizer.idf_, "coef": self.coef_, "intercept": self.intercept_}
        for lab, cal in zip(self.labels, self.calibrators_):
            arrays.update(cal.arrays(f"cal.{lab}"))
        for lab, (g, b, sat) in self.gates_.items():
            arrays[f"gate.{lab}.coef"] = np.asarray(g, np.float32)
            arrays[f"gate.{lab}.intercept"] = np.asarray([b, sat], np.float32)
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path / WEIGHTS))
        if self.featurizer.segmenter.userdict is not None:
            (path / USERDICT).write_bytes(self.featurizer.segmenter.userdict.read_bytes())
        for kind, src in self.lexicon_paths.items():
            dest = path / LEXICONS[kind][0]
            if Path(src).resolve() != dest.resolve():
                dest.write_bytes(Path(src).read_bytes())
        return {
            "featurizer": self.featurizer.config.to_dict(),
            "calibration": {lab: cal.to_json() for lab, cal in zip(self.labels, self.calibrators_)},
            "userdict": USERDICT if self.featurizer.segmenter.userdict is not None else None,
            "gates": sorted(self.gates_),
            **{kind: (LEXICONS[kind][0] if kind in self.lexicon_paths else None) for kind in LEXICONS},
        }

    @classmethod
    def load(cls, path: Path, config: dict) -> "FastScorer":
        """Load and check a fast model folder: every problem is a ModelFolderError naming the file and key."""
        file, labels = path / "config.json", config["labels"]
        arrays = load_arrays(path / WEIGHTS, ("idf", "coef", "intercept"))
        fcfg = featurizer_config(need(config, "featurizer", file, "scorer."), file)
        check_shapes(arrays, len(labels), fcfg.n_features, path / WEIGHTS)
        userdict = inside(path, config["userdict"], file, "scorer.userdict", "file") if config.get("userdict") else None
        lexicons = {kind: inside(path, config[kind], file, f"scorer.{kind}", "file") for kind in LEXICONS if config.get(kind)}
        feat = Featurizer(fcfg, Segmenter(userdict, fcfg.segmenter), extra=extra_features(fcfg, lexicons),
                          idf=arrays["idf"])
        cals = calibrators(config, arrays, labels, file)
        gates = {}
        for lab in config.get("gates", []):
            if lab not in labels:
                raise ModelFolderError(f"{file}: scorer.gates has unknown label {lab!r} (labels: {labels})")
            gates[lab] = load_gate(arrays, lab, fcfg.n_features, path / WEIGHTS)
        return cls(labels, feat, arrays["coef"], arrays["intercept"], cals, gates, lexicon_paths=lexicons)


def featurizer_config(d, file: Path) -> FeaturizerConfig:
    if not isinstance(d, dict):
        raise ModelFolderError(f"{file}: scorer.featurizer must be an object, not {d!r}")
    try:
        return FeaturizerConfig.from_dict(d)
    except (TypeError, ValueError) as e:
        raise ModelFolderError(f"{file}: scorer.{e}") from None


def check_shapes(arrays: dict, n_labels: int, n_features: int, file: Path) -> None:
    """idf (n_features,), coef (n_labels, n_features), intercept (n_labels,): a label in
    config.json without its row of weights (or weights of another size) refuses to load."""
    want = {"idf": (n_features,), "coef": (n_labels, n_features), "intercept": (n_labels,)}
    for key, shape in want.items():
        if tuple(arrays[key].shape) != shape:
            raise ModelFolderError(f"{file}: array {key!r} has shape {tuple(arrays[key].shape)}, but config.json "
                                   f"({n_labels} labels, featurizer.n_features {n_features}) needs {shape}")


def load_gate(arrays: dict, lab: str, n_features: int, file: Path) -> tuple[np.ndarray, float, float]:
    coef, rest = f"gate.{lab}.coef", f"gate.{lab}.intercept"
    for key, shape in ((coef, (n_features,)), (rest, (2,))):
        if key not in arrays:
            raise ModelFolderError(f"{file}: missing array {key!r}")
        if arrays[key].shape != shape:
            raise ModelFolderError(f"{file}: array {key!r} has shape {arrays[key].shape}, not {shape}")
    return arrays[coef], float(arrays[rest][0]), float(arrays[rest][1])


def extra_features(config: FeaturizerConfig, lexicons: dict[str, Path]):
    """The extra feature function for the featurizer's `extra` list (each lexicon from its file in
    `lexicons`; a kind without a file loads the packaged table)."""
    fns = [lexicon_features(load_lexicon(lexicons.get(kind) or _packaged(kind)), LEXICONS[kind][1])
           for kind in LEXICONS if kind in config.extra]
    return combine(*fns, contact_features if "contacts" in config.extra else None)


def _packaged(kind: str) -> Path:
    return resource(LEXICONS[kind][0])

