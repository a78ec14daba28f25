"""Map raw scores (logits) to calibrated probabilities. Parameters are plain arrays.

kinds: "identity" (sigmoid of the logit), "sigmoid" (Platt: sigmoid(a*z + b)),
"temperature" (sigmoid(z / T)), "isotonic" (piecewise-linear through fitted points,
applied on the logit). Fitting lives in `training.trainers.calibrate`; this module only applies.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass
class Calibrator:
    kind: str = "identity"
    a: float = 1.0
    b: float = 0.0
    x: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if self.kind == "identity":
            return sigmoid(z)
        if self.kind in ("sigmoid", "temperature"):
            return sigmoid(self.a * z + self.b)
        if self.kind == "isotonic":
            return np.interp(z, self.x, self.y)
        raise ValueError(f"unknown calibration kind {self.kind!r}")

    def to_json(self) -> dict:
        return {"kind": self.kind, "a": float(self.a), "b": float(self.b)}

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.x": np.asarray(self.x, np.float32), f"{prefix}.y": np.asarray(self.y, np.float32)}

    @classmethod
    def from_parts(cls, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> "Calibrator":
        return cls(kind=meta["kind"], a=meta.get("a", 1.0), b=meta.get("b", 0.0),
                   x=arrays.get(f"{prefix}.x", np.zeros(0, np.float32)),
                   y=arrays.get(f"{prefix}.y", np.zeros(0, np.float32)))
