"""Build an ensemble model folder from trained members: weights given or tuned on dev over a
small grid, thresholds chosen on dev, metrics on test. Members are not retrained or copied."""
from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np

from detector.text.cleaning import clean
from detector.model.core import Detector
from detector.risks import RISKS
from detector.scorers.ensemble import EnsembleScorer, combine
from training.data.sources import load_source, load_specs
from training.trainers.fast import by_source, model_config, write_model_card
from training.evaluation.metrics import binary_metrics, choose_threshold


def raw_split(sources: list[str], split: str, labels: list[str], root=None, subset: int = 0,
              seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Original texts, label matrix (NaN = not annotated) and source names; at most `subset`
    rows per source."""
    specs, rng = load_specs(), np.random.default_rng(seed)
    texts, ys, srcs = [], [], []
    for name in sources:
        ds = load_source(name, split, root=root, specs=specs, labels=tuple(labels))
        if subset and len(ds) > subset:
            ds = ds.select(np.sort(rng.choice(len(ds), int(subset), replace=False)))
        texts.extend(ds["text"])
        srcs.extend([name] * len(ds))
        ys.append(np.array([[np.nan if v is None else v for v in ds[r]] for r in labels], float).T.reshape(len(ds), -1))
    return texts, (np.concatenate(ys) if ys else np.zeros((0, len(labels)))), np.array(srcs)


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


def build_ensemble(recipe: dict, out: str | Path, log=print, root=None) -> Detector:
    t0 = time.time()
    out = Path(out)
    ens, data = recipe["ensemble"], recipe["data"]
    labels = list(recipe.get("model", {}).get("labels", RISKS))
    evasion = bool(recipe.get("cleaning", {}).get("evasion", True))
    seed, rule = int(recipe.get("model", {}).get("seed", 13)), recipe.get("thresholds", {}).get("rule", "f1")
    members = [Detector.from_pretrained(p) for p in ens["members"]]
    given = ens.get("weights", "tune")
    weights = [1.0] * len(members) if isinstance(given, str) else [float(w) for w in given]
    paths = list(ens["members"])
    scorer = EnsembleScorer(labels, members, weights, paths, evasion)
    split = {k: raw_split(data["sources"], data.get(f"{k}_split", k), labels, root,
                          int(data.get(f"{k}_subset", 0) or 0), seed) for k in ("dev", "test")}
    probs = {k: scorer.member_proba([clean(t, evasion=evasion) for t in texts]) for k, (texts, _, _) in split.items()}
    log(f"member probabilities on dev and test ({time.time() - t0:.0f}s)")
    if isinstance(given, str):
        if given != "tune":
            raise ValueError(f"ensemble.weights must be a list of numbers or \"tune\", not {given!r}")
        weights, per_label = tune_weights(probs["dev"], split["dev"][1], labels, rule, float(ens.get("grid_step", 0.1)),
                                          log, bool(ens.get("per_risk", False)))
        scorer = EnsembleScorer(labels, members, weights, paths, evasion, per_label)
    thresholds, dev_m = thresholds_and_metrics(combine(probs["dev"], scorer.label_weights), split["dev"][1], labels, rule)
    missing = [r for r in labels if r not in thresholds]
    if missing:
        raise ValueError(f"no dev rows annotate {', '.join(missing)}; check data.sources")
    _, test_m = thresholds_and_metrics(combine(probs["test"], scorer.label_weights), split["test"][1], labels, rule, thresholds)
    metrics = {"dev": dev_m, "test": test_m}
    y_test, src_test = split["test"][1], split["test"][2]
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
