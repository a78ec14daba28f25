"""Fit a `detector.calibration.Calibrator` on held-out logits and labels."""
from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from detector.calibration import Calibrator


def fit_calibrator(z: np.ndarray, y: np.ndarray, method: str = "sigmoid") -> Calibrator:
    """method: identity | sigmoid (Platt) | temperature | isotonic."""
    z = np.asarray(z, np.float64).ravel()
    y = np.asarray(y).astype(int).ravel()
    if method == "identity" or len(np.unique(y)) < 2:
        return Calibrator("identity")
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(z[:, None], y)
        return Calibrator("sigmoid", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
    if method == "temperature":
        return Calibrator("temperature", a=_fit_temperature(z, y), b=0.0)
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(z, y)
        return Calibrator("isotonic", x=iso.X_thresholds_.astype(np.float32),
                          y=iso.y_thresholds_.astype(np.float32))
    raise ValueError(f"unknown calibration method {method!r}: identity, sigmoid, temperature or isotonic")


def _fit_temperature(z: np.ndarray, y: np.ndarray) -> float:
    """1/T minimising log loss of sigmoid(z/T), by a grid then golden-section search."""
    def nll(a: float) -> float:
        p = 1 / (1 + np.exp(-np.clip(a * z, -50, 50)))
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 60))
    a0 = grid[int(np.argmin([nll(a) for a in grid]))]
    lo, hi = a0 / 1.2, a0 * 1.2
    for _ in range(40):
        m1, m2 = lo + (hi - lo) * 0.382, lo + (hi - lo) * 0.618
        lo, hi = (lo, m2) if nll(m1) < nll(m2) else (m1, hi)
    return float((lo + hi) / 2)
