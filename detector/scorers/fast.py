"""The fast scorer: one linear model per risk over hashed char/word n-gram TF-IDF,
with a calibrator per risk. Weights are float32 arrays in safetensors."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from detector.calibration import Calibrator
from detector.cleaning import CleanText
from detector.features import Featurizer, FeaturizerConfig, feature_index
from detector.segment import Segmenter

WEIGHTS = "fast.safetensors"
USERDICT = "userdict.txt"


class FastScorer:
    model_type = "fast"

    def __init__(self, labels: list[str], featurizer: Featurizer, coef: np.ndarray,
                 intercept: np.ndarray, calibrators: list[Calibrator]):
        self.labels = list(labels)
        self.featurizer = featurizer
        self.coef_ = np.asarray(coef, np.float32)          # (n_labels, n_features)
        self.intercept_ = np.asarray(intercept, np.float32)  # (n_labels,)
        self.calibrators_ = calibrators

    def decision_function(self, texts: list[CleanText]) -> np.ndarray:
        X = self.featurizer.transform(t.text for t in texts)
        return np.asarray(X @ self.coef_.T) + self.intercept_[None, :]

    def predict_proba(self, texts: list[CleanText]) -> np.ndarray:
        z = self.decision_function(texts)
        return np.stack([cal(z[:, j]) for j, cal in enumerate(self.calibrators_)], axis=1)

    def explain(self, text: CleanText, label: str, k: int = 5) -> list[dict]:
        """The n-grams with the largest positive contribution w_j * x_j to `label`'s score."""
        j = self.labels.index(label)
        feats = self.featurizer.features_with_spans(text.text)
        if not feats:
            return []
        x = self.featurizer.transform([text.text])
        xval = dict(zip(x.indices.tolist(), x.data.tolist()))
        n = self.featurizer.config.n_features
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for f, s, e in feats:
            spans[f].append((s, e))
        scored = []
        for f, sp_list in spans.items():
            idx = feature_index(f, n)
            contrib = float(self.coef_[j, idx]) * xval.get(idx, 0.0)
            if contrib > 0:
                scored.append((contrib, f, sp_list))
        scored.sort(key=lambda t: -t[0])
        return [_evidence(text, f, c, sp_list) for c, f, sp_list in scored[:k]]

    def save(self, path: Path) -> dict:
        arrays = {"idf": self.featurizer.idf_, "coef": self.coef_, "intercept": self.intercept_}
        for lab, cal in zip(self.labels, self.calibrators_):
            arrays.update(cal.arrays(f"cal.{lab}"))
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path / WEIGHTS))
        if self.featurizer.segmenter.userdict is not None:
            (path / USERDICT).write_bytes(self.featurizer.segmenter.userdict.read_bytes())
        return {
            "featurizer": self.featurizer.config.to_dict(),
            "calibration": {lab: cal.to_json() for lab, cal in zip(self.labels, self.calibrators_)},
            "userdict": USERDICT if self.featurizer.segmenter.userdict is not None else None,
        }

    @classmethod
    def load(cls, path: Path, config: dict) -> "FastScorer":
        arrays = load_file(str(path / WEIGHTS))
        userdict = path / config["userdict"] if config.get("userdict") else None
        feat = Featurizer(FeaturizerConfig.from_dict(config["featurizer"]), Segmenter(userdict),
                          extra=extra_features(config), idf=arrays["idf"])
        labels = config["labels"]
        cals = [Calibrator.from_parts(config["calibration"][lab], arrays, f"cal.{lab}") for lab in labels]
        return cls(labels, feat, arrays["coef"], arrays["intercept"], cals)


def extra_features(config: dict):
    """Extra feature functions named in the config (none yet for this recipe)."""
    return None


def _evidence(text: CleanText, feature: str, contrib: float, spans: list[tuple[int, int]]) -> dict:
    orig = sorted({text.to_original(s, e) for s, e in spans})
    term = feature.split(":", 1)[1].replace(" ", "")
    return {"term": term, "weight": round(contrib, 4), "spans": [list(s) for s in orig]}
