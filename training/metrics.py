"""Classification metrics for one risk, and threshold choice on validation data."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score,
                             precision_recall_fscore_support, roc_auc_score)


def ece(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of P(y=1): equal-width bins, weighted by bin size."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    if len(y) == 0:
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(total / len(y))


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """n, accuracy, macro_f1, precision, recall, f1 (positive class), roc_auc, pr_auc, ece, threshold."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, float)
    pred = (p >= threshold).astype(int)
    prec, rec, f1, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    both = len(np.unique(y)) == 2
    return {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        "precision": float(prec), "recall": float(rec), "f1": float(f1),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "ece": ece(y, p),
        "threshold": float(threshold),
    }


def choose_threshold(y: np.ndarray, p: np.ndarray, rule: str = "f1") -> float:
    """Threshold on validation scores. rule: "f1" (best positive-class F1), "macro_f1",
    or "precision:0.9" (lowest threshold whose precision reaches the target; best F1 if none does)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, float)
    cands = np.unique(np.round(p, 4))
    if len(cands) > 400:
        cands = np.quantile(p, np.linspace(0.0025, 0.9975, 400))
    best_t, best_v = 0.5, -1.0
    target = None
    if rule.startswith("precision:"):
        target = float(rule.split(":", 1)[1])
    elif rule not in ("f1", "macro_f1"):
        raise ValueError(f"unknown threshold rule {rule!r}: use f1, macro_f1 or precision:P")
    for t in sorted(cands):
        pred = (p >= t).astype(int)
        if target is not None:
            pr, _, _, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
            if pr >= target and pred.sum() > 0:
                return float(t)
            v = f1_score(y, pred, zero_division=0)
        elif rule == "f1":
            v = f1_score(y, pred, zero_division=0)
        else:
            v = f1_score(y, pred, average="macro", zero_division=0)
        if v > best_v:
            best_t, best_v = float(t), v
    return best_t
