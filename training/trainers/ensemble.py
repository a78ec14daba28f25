"""Build an ensemble model folder from trained members: weights given or tuned on dev over a
small grid, thresholds chosen on dev as the fast and transformer recipes choose theirs (rule per
risk on its threshold sources, then the review budget on budget_sources: `risk_threshold`),
metrics on test. Members are not retrained or copied."""
from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np

from detector.model.core import Detector
from detector.scorers.ensemble import EnsembleScorer, combine
from detector.text.cleaning import clean
from training.data.splits import Split, load_split
from training.evaluation.metrics import binary_metrics, choose_threshold
from training.recipe import EnsembleRecipe, as_recipe, risk_sources
from training.trainers.calibrate import risk_threshold
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


def dev_rows(dev: Split, j: int, risk: str, sources: list[str] | None) -> np.ndarray:
    """Mask of the dev rows of `sources` (None = every source) annotating risk `j`."""
    m = ~np.isnan(dev.y[:, j])
    if sources:
        m &= np.isin(dev.source, sources)
    if not m.any():
        where = f" of {', '.join(sources)}" if sources else ""
        raise ValueError(f"no dev rows{where} annotate risk {risk!r}; check data.sources")
    return m


def fit_risk(p: np.ndarray, dev: Split, j: int, risk: str, recipe: EnsembleRecipe) -> tuple[float, float]:
    """(threshold, dev macro-F1 on the risk's data.select_sources rows at it) of one risk's combined
    dev probabilities `p`; the threshold as the fast and transformer recipes choose theirs."""
    def dev_proba(sources):
        m = dev_rows(dev, j, risk, sources)
        return p[m], dev.y[m, j]

    thr = risk_threshold(risk, recipe.thresholds, dev_proba)
    m = dev_rows(dev, j, risk, risk_sources(recipe.data.select_sources, risk))
    return thr, binary_metrics(dev.y[m, j], p[m], thr)["macro_f1"]


def tune_weights(probs: list[np.ndarray], dev: Split, labels: list[str], recipe: EnsembleRecipe,
                 log=print) -> tuple[list[float], dict[str, list[float]]]:
    """The grid point with the best dev macro-F1 averaged over risks (ties: the most even), and
    with ensemble.per_risk also each risk's own best grid point ({} otherwise). Each risk's score
    is read on its data.select_sources dev rows at the threshold `fit_risk` chooses for it."""
    best, best_w = -1.0, None
    risk_best: dict[str, tuple[float, list[float]]] = {}
    for w in weight_grid(len(probs), recipe.ensemble.grid_step):
        p = combine(probs, list(w))
        scores = {risk: fit_risk(p[:, j], dev, j, risk, recipe)[1] for j, risk in enumerate(labels)}
        score = float(np.mean(list(scores.values())))
        if score > best + 1e-9:
            best, best_w = score, list(w)
        for risk, f in scores.items():
            if risk not in risk_best or f > risk_best[risk][0] + 1e-9:
                risk_best[risk] = (f, list(w))
    log(f"tuned weights {best_w}: dev macro-F1 (mean over risks) {best:.4f}")
    if not recipe.ensemble.per_risk:
        return best_w, {}
    for risk, (score, w) in risk_best.items():
        log(f"tuned weights for {risk} {w}: dev macro-F1 {score:.4f}")
    return best_w, {risk: w for risk, (_, w) in risk_best.items()}


def build_ensemble(recipe: EnsembleRecipe | dict, out: str | Path, log=print, root=None) -> Detector:
    t0 = time.time()
    out = Path(out)
    recipe = as_recipe(recipe)
    ens, data = recipe.ensemble, recipe.data
    labels, evasion = list(recipe.model.labels), recipe.cleaning.evasion
    members = [Detector.from_pretrained(p) for p in ens.members]
    given = ens.weights
    if isinstance(given, str) and given != "tune":
        raise ValueError(f"ensemble.weights must be a list of numbers or \"tune\", not {given!r}")
    weights = [1.0] * len(members) if isinstance(given, str) else [float(w) for w in given]
    paths = list(ens.members)
    scorer = EnsembleScorer(labels, members, weights, paths, evasion)
    names = {"dev": (data.dev_split, data.dev_subset), "test": (data.test_split, data.test_subset)}
    split = {k: load_split(data.sources, name, labels, root, evasion=None, subset=n, seed=recipe.model.seed)
             for k, (name, n) in names.items()}
    probs = {k: scorer.member_proba([clean(t, evasion=evasion) for t in s.texts]) for k, s in split.items()}
    log(f"member probabilities on dev and test ({time.time() - t0:.0f}s)")
    if given == "tune":
        weights, per_label = tune_weights(probs["dev"], split["dev"], labels, recipe, log)
        scorer = EnsembleScorer(labels, members, weights, paths, evasion, per_label)
    p = {k: combine(pk, scorer.label_weights) for k, pk in probs.items()}
    fitted = {risk: fit_risk(p["dev"][:, j], split["dev"], j, risk, recipe) for j, risk in enumerate(labels)}
    thresholds = {risk: thr for risk, (thr, _) in fitted.items()}
    metrics = measure(p, split, labels, thresholds)
    metrics["members_test_by_source"] = {
        path: by_source(split["test"].y, pm, split["test"].source, m.thresholds, labels)
        for path, pm, m in zip(paths, probs["test"], members)}
    for risk in labels:
        if risk in metrics["test"]:
            log(f"{risk}: dev macro-F1 {metrics['dev'][risk]['macro_f1']:.4f} (selection rows "
                f"{fitted[risk][1]:.4f})  test macro-F1 {metrics['test'][risk]['macro_f1']:.4f}  "
                f"threshold {thresholds[risk]:.3f}")
    config = model_config(recipe, labels, root, time.time() - t0)
    config["selection_macro_f1"] = {risk: round(f, 4) for risk, (_, f) in fitted.items()}
    det = Detector(scorer, thresholds, config)
    det.save_pretrained(out, metrics=metrics)
    write_model_card(out, det, metrics)
    return det


def measure(p: dict[str, np.ndarray], split: dict[str, Split], labels: list[str], thresholds: dict) -> dict:
    """The combined probabilities' metrics at `thresholds`: dev and test per risk, and per source."""
    out = {}
    for k in ("dev", "test"):
        out[k] = thresholds_and_metrics(p[k], split[k].y, labels, "f1", thresholds)[1]
        out[f"{k}_by_source"] = by_source(split[k].y, p[k], split[k].source, thresholds, labels)
    return out
