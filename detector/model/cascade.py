"""`jingwang score --cascade DIR`: the fast model scores every post; posts whose fast score
for some risk falls in that risk's uncertain band [lo, hi) are scored again, whole, by a
second (slower, usually transformer) model, whose result replaces the fast one.

A post's record therefore always comes from ONE model (its `model` field says which): scores,
flags (with that model's thresholds), priority and evidence stay consistent. The bands are
chosen on dev data by `training.trainers.cascade` and stored in DIR/cascade.json:
{"first": model id it was tuned for, "second": path (relative to DIR or absolute),
 "band": {risk: [lo, hi] or null}, "dev": {...what was measured...}}.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from detector.model.core import Detector, read_json
from detector.scorers.base import ModelFolderError, need

CASCADE = "cascade.json"


def cascade_config(path: str | Path) -> dict:
    """cascade.json of a cascade folder (or the file itself)."""
    path = Path(path)
    file = path / CASCADE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no cascade at {path}: expected a folder with {CASCADE} "
                                f"(make one with `jingwang model cascade`)")
    cfg = read_json(file)
    second = need(cfg, "second", file)
    if not isinstance(second, str):
        raise ModelFolderError(f"{file}: 'second' must be the path of the second model, not {second!r}")
    band = need(cfg, "band", file)
    if not isinstance(band, dict) or not all(b is None or (isinstance(b, list) and len(b) == 2 and all(
            isinstance(x, (int, float)) for x in b) and 0 <= b[0] <= b[1] <= TOP) for b in band.values()):
        raise ModelFolderError(f"{file}: 'band' must map each risk to [lo, hi] with 0 <= lo <= hi <= {TOP} "
                               f"(hi {TOP}: up to and including a score of 1), or null")
    second = Path(second)
    cfg["second_path"] = str(second if second.is_absolute() else file.parent / second)
    return cfg


TOP = 1.01  # a band's upper end that includes a score of 1 (bands are [lo, hi))


def in_band(proba: np.ndarray, labels: list[str], band: dict) -> np.ndarray:
    """Rows with at least one risk whose score is in its band [lo, hi)."""
    routed = np.zeros(len(proba), bool)
    for j, r in enumerate(labels):
        b = band.get(r)
        if b is not None:
            routed |= (proba[:, j] >= b[0]) & (proba[:, j] < b[1])
    return routed


class Cascade:
    """Duck-types the parts of `Detector` that scoring uses: labels, thresholds, model_id, score."""

    def __init__(self, first: Detector, second: Detector, band: dict, config: dict | None = None):
        missing = [r for r in first.labels if r not in second.labels]
        if missing:
            raise ValueError(f"the cascade's second model has no output for {', '.join(missing)}")
        self.first, self.second = first, second
        self.band = {r: (None if b is None else (float(b[0]), float(b[1]))) for r, b in band.items()}
        self.config = dict(config or {})
        self.labels = list(first.labels)
        self.thresholds = first.thresholds
        self.detectors = [first, second]
        self.thresholds_by_model = {first.model_id: first.thresholds, second.model_id: second.thresholds}
        self.routed = 0

    @property
    def model_id(self) -> str:
        return f"cascade({self.first.model_id}->{self.second.model_id})"

    @classmethod
    def load(cls, path: str | Path, first: Detector, device: str | None = None) -> "Cascade":
        """The cascade of folder `path` after `first`; its second model loaded on `device`."""
        cfg = cascade_config(path)
        if cfg.get("first") and cfg["first"] != first.model_id:
            print(f"warning: the cascade {path} was tuned for {cfg['first']}, not {first.model_id}", file=sys.stderr)
        return cls(first, Detector.from_pretrained(cfg["second_path"], device), cfg["band"], cfg)

    def route(self, proba: np.ndarray) -> np.ndarray:
        return in_band(proba, self.labels, self.band)

    def score(self, texts: list[str], evidence: bool = True, k: int = 5) -> list[dict]:
        """One result per text, from the fast model or, in the band, from the second one."""
        texts = list(texts)
        cleaned = self.first.clean(texts)
        if not cleaned:
            return []
        p = self.first.proba(cleaned)
        routed = self.route(p)
        out = [None if routed[i] else self.first.result(cleaned[i], p[i], evidence, k) for i in range(len(texts))]
        idx = np.flatnonzero(routed)
        if len(idx):
            for i, res in zip(idx, self.second.score([texts[i] for i in idx], evidence, k)):
                out[i] = res
        self.routed += len(idx)
        return out
