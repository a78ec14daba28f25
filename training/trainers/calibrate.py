"""Fit a `detector.scorers.calibration.Calibrator` on held-out logits and labels, and measure what each
method does to the expected calibration error (ECE) on dev and on every test source:

    python -m training.trainers.calibrate --model models/default

The probabilities measured are the final ones (after the domain gate of gated risks).
"""
from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from detector.scorers.calibration import Calibrator, sigmoid
from training.data.splits import load_split
from training.evaluation.metrics import choose_threshold, threshold_for_false_flags
from training.recipe import CALIBRATION_METHODS as METHODS
from training.recipe import per_risk, risk_sources, risk_value


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


def calibrate_risk(risk: str, calibration, thresholds, dev_scores) -> tuple[Calibrator, float]:
    """(calibrator, threshold) of one risk, the same way for every trainer: the calibrator fitted on
    the dev rows of `calibration.sources`, then the threshold by `risk_threshold`.
    `dev_scores(sources, cal)` -> (scores, labels) of the dev rows of `sources` annotating the risk
    (None = every source): logits when `cal` is None, else the final probabilities."""
    z, y = dev_scores(risk_sources(calibration.sources, risk), None)
    cal = fit_calibrator(z, y, calibration.method)
    return cal, risk_threshold(risk, thresholds, lambda sources: dev_scores(sources, cal))


def risk_threshold(risk: str, thresholds, dev_proba) -> float:
    """The threshold of one risk: by `thresholds.rule` on the dev rows of `thresholds.sources`, then
    raised until `thresholds.max_false_flags` holds on the dev rows of `budget_sources` ("budget":
    the review budget alone sets it — for a risk too rare on real posts, and whose dev rows elsewhere
    are generated text, for a precision or F1 rule to mean anything). `dev_proba(sources)` ->
    (final probabilities, labels) of the dev rows of `sources` annotating the risk (None = every
    source). Also the ensemble's, whose averaged member probabilities are already calibrated."""
    rule = str(risk_value(thresholds, "rule", risk))
    budget = per_risk(thresholds.max_false_flags, risk, None)
    if rule == "budget" and budget is None:
        raise ValueError(f"thresholds.rule of {risk!r} is 'budget' but thresholds.max_false_flags names no budget for it")
    thr = 0.0
    if rule != "budget":
        p, y = dev_proba(risk_sources(thresholds.sources, risk))
        thr = choose_threshold(y, p, rule)
    if budget is not None:
        p, y = dev_proba(risk_sources(thresholds.budget_sources, risk))
        thr = max(thr, threshold_for_false_flags(y, p, float(budget)))
    return thr


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


def logits_and_gates(det, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list] | None:
    """Raw logits (n, labels), domain-gate factors and cleaned texts of a fast model; None for other
    scorers. The model's probability is det.gate(calibrator(logit) * factor, cleaned)."""
    scorer = det.scorer
    if not hasattr(scorer, "logits_and_gates"):
        return None
    cleaned = det.clean(texts)
    z, g = scorer.logits_and_gates(scorer.featurizer.transform(t.text for t in cleaned))
    return z, g, cleaned


def gated_column(det, p: np.ndarray, j: int, cleaned: list) -> np.ndarray:
    """Label j's probabilities `p` (n,) after the Detector's rules (content gate, doxxing floor),
    as `predict_proba` gives them."""
    full = np.zeros((len(p), len(det.labels)))
    full[:, j] = p
    return det.gate(full, cleaned)[:, j]


def uncalibrated_proba(det, texts: list[str], risk: str) -> np.ndarray | None:
    """What the model would say without its calibrator (sigmoid of the logit, times the gate)."""
    both = proba_and_uncalibrated(det, texts, risk)
    return None if both is None else both[1]


def proba_and_uncalibrated(det, texts: list[str], risk: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A fast model's probabilities of `risk` (as `predict_proba`, float64) and the same without its
    calibrator, from one pass over the texts; None for other scorers."""
    zgc = logits_and_gates(det, texts)
    if zgc is None:
        return None
    z, g, cleaned = zgc
    j = det.labels.index(risk)
    cal = gated_column(det, det.scorer.calibrated(z, g)[:, j].astype(np.float64), j, cleaned)
    return cal, gated_column(det, sigmoid(z[:, j]) * g[:, j], j, cleaned)


def calibration_study(model, sources: list[str], root=None, bins: int = 15) -> dict:
    """ECE of every method, fitted on each risk's dev rows (as training does), on dev and on each
    test source: {risk: {method: {"dev": ece, SOURCE: ece, ...}}}."""
    from detector.model.core import Detector
    from training.evaluation.metrics import ece

    det = model if isinstance(model, Detector) else Detector.from_pretrained(model)
    if not hasattr(det.scorer, "logits_and_gates"):
        raise ValueError(f"{model}: the calibration study needs a fast model, not a {det.scorer.model_type} model")
    splits = {"dev": load_split(sources, "dev", det.labels, root, evasion=None)}
    splits |= {src: load_split([src], "test", det.labels, root, evasion=None) for src in sources}
    scored = {key: (s.y, *logits_and_gates(det, s.texts)) for key, s in splits.items()}
    out: dict = {}
    for j, risk in enumerate(det.labels):
        cat = {key: (z[m, j], g[m, j], y[m, j], [c for c, keep in zip(cleaned, m) if keep])
               for key, (y, z, g, cleaned) in scored.items() if (m := ~np.isnan(y[:, j])).any()}
        if "dev" not in cat:
            continue  # no source given labels this risk
        z_dev, _, y_dev, _ = cat["dev"]
        cals = {m: fit_calibrator(z_dev, y_dev, m) for m in METHODS}  # once per method, not per source
        out[risk] = {m: {k: round(ece(y, gated_column(det, cal(z) * g, j, cleaned), bins), 4)
                         for k, (z, g, y, cleaned) in cat.items()}
                     for m, cal in cals.items()}
    return out


def main() -> None:
    import argparse
    import json

    ap = argparse.ArgumentParser(description="ECE of each calibration method, fitted on dev")
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--sources", nargs="+", default=["cold", "weibo21", "sms_spam", "paid_team"])
    args = ap.parse_args()
    study = calibration_study(args.model, args.sources)
    print("| risk | method | ECE (fitted on dev; dev is in-sample) |\n|---|---|---|")
    for risk, rows in study.items():
        for m, row in rows.items():
            print(f"| {risk} | {m} | " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()) + " |")
    print(json.dumps(study))


if __name__ == "__main__":
    main()
