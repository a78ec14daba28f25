"""Classification metrics for one risk, and threshold choice on validation data."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score,
                             precision_recall_fscore_support, roc_auc_score)

from detector.model.flagging import DECIMALS, shown


def reliability_bins(y: np.ndarray, p: np.ndarray, bins: int = 15) -> list[tuple[int, float, float]]:
    """(rows, mean predicted probability, share of positives) of each non-empty equal-width bin."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [(int(m.sum()), p[m].mean(), y[m].mean()) for m in (idx == b for b in range(bins)) if m.any()]


def ece(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of P(y=1): equal-width bins, weighted by bin size."""
    if len(y) == 0:
        return float("nan")
    total = 0.0
    for n, mean_p, share in reliability_bins(y, p, bins):
        total += n * abs(mean_p - share)
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
        "positives": int(y.sum()), "flags": int(pred.sum()),
        "flag_rate": float(pred.mean()) if len(y) else 0.0,
        "false_flags_per_1000": float(1000 * np.sum(pred & (y == 0)) / len(y)) if len(y) else 0.0,
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


# --- bootstrap confidence intervals and threshold tables (numpy only, fast enough to resample) ---

CI_KEYS = ("accuracy", "precision", "recall", "f1", "macro_f1", "roc_auc", "pr_auc", "flag_rate",
           "false_flags_per_1000")


def _auc_ap(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """ROC-AUC (Mann-Whitney with tied scores counted half) and average precision (as scikit-learn)."""
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan"), float("nan")
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    last = np.r_[np.nonzero(np.diff(ps))[0], len(ps) - 1]  # last index of each group of tied scores
    tp = np.cumsum(ys)[last].astype(float)
    fp = (last + 1) - tp
    rec = tp / n_pos
    ap = float(np.sum(np.diff(np.r_[0.0, rec]) * tp / (tp + fp)))
    dfp = np.diff(np.r_[0.0, fp])
    tp_before = np.r_[0.0, tp[:-1]]
    auc = float(np.sum(dfp * (tp_before + 0.5 * np.diff(np.r_[0.0, tp]))) / (n_pos * n_neg))
    return auc, ap


def f1_from_counts(tp, fp, fn) -> float:
    """F1 of one class from its true positives, false positives and false negatives (0 if tp = 0)."""
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def fast_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """The CI_KEYS of `binary_metrics`, computed with numpy alone (for bootstrap resamples)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, float)
    pred = p >= threshold
    tp = float(np.sum(pred & (y == 1)))
    fp = float(np.sum(pred & (y == 0)))
    fn = float(np.sum(~pred & (y == 1)))
    tn = float(len(y) - tp - fp - fn)
    f1, f1_neg = f1_from_counts(tp, fp, fn), f1_from_counts(tn, fn, fp)
    auc, ap = _auc_ap(y, p)
    n = max(len(y), 1)
    return {"accuracy": (tp + tn) / n, "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0, "f1": f1, "macro_f1": (f1 + f1_neg) / 2,
            "roc_auc": auc, "pr_auc": ap, "flag_rate": (tp + fp) / n, "false_flags_per_1000": 1000 * fp / n}


def bootstrap_samples(n: int, n_boot: int, seed: int = 0):
    """Index arrays of `n_boot` resamples with replacement (the same for the same seed: paired tests)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n, n)


def percentile_ci(values: np.ndarray, level: float = 0.95) -> list[float]:
    values = np.asarray(values, float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return [float("nan"), float("nan")]
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return [float(lo), float(hi)]


def bootstrap_ci(y: np.ndarray, p: np.ndarray, threshold: float, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> dict[str, list[float]]:
    """Percentile bootstrap interval of each CI_KEYS metric (rows resampled with replacement)."""
    y, p = np.asarray(y).astype(int), np.asarray(p, float)
    if n_boot <= 0 or len(y) == 0:
        return {}
    draws = [fast_metrics(y[i], p[i], threshold) for i in bootstrap_samples(len(y), n_boot, seed)]
    return {k: percentile_ci(np.array([d[k] for d in draws]), level) for k in CI_KEYS}


def confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, int]:
    y, pred = np.asarray(y).astype(int), np.asarray(p, float) >= threshold
    return {"tp": int(np.sum(pred & (y == 1))), "fp": int(np.sum(pred & (y == 0))),
            "fn": int(np.sum(~pred & (y == 1))), "tn": int(np.sum(~pred & (y == 0)))}


def at_threshold(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """Precision, recall, F1 and the share of posts flagged at one threshold."""
    m = fast_metrics(y, p, threshold)
    return {"threshold": float(threshold), "precision": m["precision"], "recall": m["recall"], "f1": m["f1"],
            "flagged": float(np.mean(np.asarray(p) >= threshold)) if len(p) else 0.0}


def threshold_for_precision(y: np.ndarray, p: np.ndarray, target: float) -> dict | None:
    """The lowest threshold (one of the scores) whose precision on (y, p) reaches `target`; None if none does."""
    y, p = np.asarray(y).astype(int), np.asarray(p, float)
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    last = np.r_[np.nonzero(np.diff(ps))[0], len(ps) - 1] if len(ps) else np.zeros(0, int)
    tp = np.cumsum(ys)[last]
    prec = tp / (last + 1)
    ok = np.nonzero(prec >= target)[0]
    if len(ok) == 0:
        return None
    return at_threshold(y, p, float(ps[last[ok[-1]]]))


def threshold_for_false_flags(y: np.ndarray, p: np.ndarray, max_per_1000: float) -> float:
    """The lowest threshold (a score, or just above the top score) at which the rows (y, p) get at
    most `max_per_1000` false flags per 1,000 rows."""
    y, p = np.asarray(y).astype(int), np.asarray(p, float)
    neg = np.sort(p[y == 0])[::-1]
    allowed = int(np.floor(max_per_1000 * len(y) / 1000))
    if allowed >= len(neg):
        return 0.0
    # flag shown(p) >= t: fewer than allowed+1 negatives may reach t, so t must exceed the
    # (allowed+1)-th highest as `jingwang score` writes it (rounded to DECIMALS): the next step
    # of DECIMALS above it, else a negative just under t that rounds onto t would be flagged
    step = 10.0 ** -DECIMALS
    return round(shown(neg[allowed]) + step, DECIMALS)
