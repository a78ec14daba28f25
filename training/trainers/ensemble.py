"""Build an ensemble model folder from trained members: weights given or tuned on dev over a
small grid, thresholds chosen on dev, metrics on test. Members are not retrained or copied."""
from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np

from detector.model.core import Detector
from detector.scorers.ensemble import EnsembleScorer, combine
from detector.text.cleaning import clean
from training.data.splits import load_split
from training.evaluation.metrics import binary_metrics, choose_threshold
from training.recipe import EnsembleRecipe, as_recipe
from training.trainers.fast import by_source, model_config, write_model_card


def weight_grid(n_members: int, step: float) -> list[tuple[float, ...]]:
    """All weight vectors on the simplex with spacing `step`, the most even first."""
    k = max(1, round(1 / step))
    grid = [tuple(c / k for c in combo) for combo in itertools.product(range(k + 1), repeat=n_members)
            if sum(combo) == k]
    even = 1 / n_members
    return sorted(grid, key=lambda w: sum((x - even) ** 2 for x in w))


def thresholds_and_metrics(p: np.ndarray, y: np.ndarray, labels: list[str], rule: str,
                           thresholds: dict[str, float] | None = None) -> tuple[dict, dict]:
    """Per risk, on annotated rows: the threshold (chosen by `rule` unless given) and metrics."""
    chosen, metrics = {}, {}
    for j, risk in enumerate(labels):
        m = ~np.isnan(y[:, j])
        if not m.any():
            continue
        thr = thresholds[risk] if thresholds else choose_threshold(y[m, j], p[m, j], rule)
        chosen[risk] = thr
        metrics[risk] = binary_metrics(y[m, j], p[m, j], thr)
    return chosen, metrics


def tune_weights(probs: list[np.ndarray], y: np.ndarray, labels: list[str], rule: str, step: float,
                 log=print, per_risk: bool = False) -> tuple[list[float], dict[str, list[float]]]:
    """The grid point with the best dev macro-F1 averaged over risks (ties: the most even), and
    with `per_risk` also each risk's own best grid point ({} otherwise)."""
    best, best_w = -1.0, None
    risk_best: dict[str, tuple[float, list[float]]] = {}
    for w in weight_grid(len(probs), step):
        _, metrics = thresholds_and_metrics(combine(probs, list(w)), y, labels, rule)
        score = float(np.mean([m["macro_f1"] for m in metrics.values()]))
        if score > best + 1e-9:
            best, best_w = score, list(w)
        for risk, m in metrics.items():
            if risk not in risk_best or m["macro_f1"] > risk_best[risk][0] + 1e-9:
                risk_best[risk] = (m["macro_f1"], list(w))
    log(f"tuned weights {best_w}: dev macro-F1 (mean over risks) {best:.4f}")
    if not per_risk:
        return best_w, {}
    for risk, (score, w) in risk_best.items():
        log(f"tuned weights for {risk} {w}: dev macro-F1 {score:.4f}")
    return best_w, {risk: w for risk, (_, w) in risk_best.items()}


def build_ensemble(recipe: EnsembleRecipe | dict, out: str | Path, log=print, root=None) -> Detector:
    t0 = time.time()
    out = Path(out)
    recipe = as_recipe(recipe)
    ens, data = recipe.ensemble, recipe.data
    labels, evasion, rule = list(recipe.model.labels), recipe.cleaning.evasion, recipe.thresholds.rule
    members = [Detector.from_pretrained(p) for p in ens.members]
    given = ens.weights
    weights = [1.0] * len(members) if isinstance(given, str) else [float(w) for w in given]
    paths = list(ens.members)
    scorer = EnsembleScorer(labels, members, weights, paths, evasion)
    names = {"dev": (data.dev_split, data.dev_subset), "test": (data.test_split, data.test_subset)}
    split = {k: load_split(data.sources, name, labels, root, evasion=None, subset=n, seed=recipe.model.seed)
             for k, (name, n) in names.items()}
    probs = {k: scorer.member_proba([clean(t, evasion=evasion) for t in s.texts]) for k, s in split.items()}
    log(f"member probabilities on dev and test ({time.time() - t0:.0f}s)")
    if isinstance(given, str):
        if given != "tune":
            raise ValueError(f"ensemble.weights must be a list of numbers or \"tune\", not {given!r}")
        weights, per_label = tune_weights(probs["dev"], split["dev"].y, labels, rule, ens.grid_step, log, ens.per_risk)
        scorer = EnsembleScorer(labels, members, weights, paths, evasion, per_label)
    thresholds, dev_m = thresholds_and_metrics(combine(probs["dev"], scorer.label_weights), split["dev"].y, labels, rule)
    missing = [r for r in labels if r not in thresholds]
    if missing:
        raise ValueError(f"no dev rows annotate {', '.join(missing)}; check data.sources")
    _, test_m = thresholds_and_metrics(combine(probs["test"], scorer.label_weights), split["test"].y, labels, rule,
                                       thresholds)
    metrics = {"dev": dev_m, "test": test_m}
    y_test, src_test = split["test"].y, split["test"].source
    metrics["test_by_source"] = by_source(y_test, combine(probs["test"], scorer.label_weights), src_test, thresholds, labels)
    metrics["members_test_by_source"] = {
        path: by_source(y_test, pm, src_test, m.thresholds, labels) for path, pm, m in zip(paths, probs["test"], members)}
    for r in labels:
        if r in test_m:
            log(f"{r}: dev macro-F1 {dev_m[r]['macro_f1']:.4f}  test macro-F1 {test_m[r]['macro_f1']:.4f}  "
                f"threshold {thresholds[r]:.3f}")
    config = model_config(recipe, labels, root, time.time() - t0)
    det = Detector(scorer, thresholds, config)
    det.save_pretrained(out, metrics=metrics)
    write_model_card(out, det, metrics)
    return det
