"""Is model B really better than model A on this data? Paired tests on the same rows.

- `paired_bootstrap`: resample rows (the same resample for both models), recompute every metric
  for each model, and read the difference's percentile interval and a two-sided p-value
  (twice the smaller share of resamples on either side of zero, counted as (k + 1) / (n + 1)).
- `mcnemar`: exact McNemar test on the rows exactly one model gets right (binomial, p = 0.5).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

from training.evaluation.metrics import CI_KEYS, bootstrap_samples, fast_metrics, percentile_ci


def paired_bootstrap(y: np.ndarray, p_a: np.ndarray, thr_a: float, p_b: np.ndarray, thr_b: float,
                     n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, dict]:
    """Per metric: a, b, diff (b - a), ci of the diff, p_value of "no difference"."""
    y = np.asarray(y).astype(int)
    p_a, p_b = np.asarray(p_a, float), np.asarray(p_b, float)
    ma, mb = fast_metrics(y, p_a, thr_a), fast_metrics(y, p_b, thr_b)
    diffs = {k: [] for k in CI_KEYS}
    for idx in bootstrap_samples(len(y), n_boot, seed):
        da, db = fast_metrics(y[idx], p_a[idx], thr_a), fast_metrics(y[idx], p_b[idx], thr_b)
        for k in CI_KEYS:
            diffs[k].append(db[k] - da[k])
    out = {}
    for k in CI_KEYS:
        d = np.array(diffs[k], float)
        d = d[~np.isnan(d)]
        out[k] = {"a": ma[k], "b": mb[k], "diff": mb[k] - ma[k], "ci": percentile_ci(d, level),
                  "p_value": _two_sided(d)}
    return out


def _two_sided(d: np.ndarray) -> float:
    if len(d) == 0:
        return float("nan")
    n = len(d)  # +1: a Monte Carlo p-value is never 0 (at best about 2 / n_boot)
    return float(min(1.0, 2 * min(np.sum(d <= 0) + 1, np.sum(d >= 0) + 1) / (n + 1)))


def mcnemar(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> dict:
    """Exact McNemar test: rows only A gets right vs rows only B gets right."""
    y = np.asarray(y).astype(int)
    ok_a = np.asarray(pred_a).astype(int) == y
    ok_b = np.asarray(pred_b).astype(int) == y
    only_a, only_b = int(np.sum(ok_a & ~ok_b)), int(np.sum(ok_b & ~ok_a))
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"only_a_correct": only_a, "only_b_correct": only_b, "p_value": float(p), "test": "exact McNemar"}
