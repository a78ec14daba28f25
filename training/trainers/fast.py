"""Train the fast scorer from a recipe: features, one logistic regression per risk,
calibration and thresholds on dev, test metrics, and a self-describing model folder."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from detector.model.core import Detector
from detector.resources import RESOURCES
from detector.scorers.fast import LEXICONS, FastScorer, extra_features
from detector.scorers.features import Featurizer
from detector.text.content import content_mask
from detector.text.segment import DEFAULT_USERDICT, Segmenter
from training.data.sources import load_specs, source_sha256
from training.data.splits import Split, group_scale, load_split
from training.evaluation.metrics import binary_metrics
from training.recipe import (SOURCE_WEIGHT, Classifier, FastRecipe, Recipe, as_recipe, library_versions, per_risk,
                             risk_sources, risk_value)
from training.trainers.calibrate import calibrate_risk
from training.trainers.distill import load_distilled, soft_rows
from training.trainers.subtypes import train_subtypes


def risk_weights(y: np.ndarray, cross_weight: float, drop: np.ndarray | None = None,
                 balanced: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows used for one risk and their weights: annotated rows class-balanced (each class
    totals half the annotated count; `balanced` False: weight 1 each); rows of other sources are
    negatives whose weights together total `cross_weight` times the risk's own negative class
    (0 drops them). Rows where `drop` is True take no part."""
    if drop is not None and drop.any():
        y = np.where(drop, np.nan, y)
    own = ~np.isnan(y)
    n_pos, n_neg, n_cross = (y[own] == 1).sum(), (y[own] == 0).sum(), (~own).sum()
    w_pos = len(y[own]) / (2 * max(n_pos, 1)) if balanced else 1.0
    w_neg = len(y[own]) / (2 * max(n_neg, 1)) if balanced else 1.0
    w_cross = cross_weight * w_neg * n_neg / max(n_cross, 1)
    target = np.where(own, np.nan_to_num(y), 0.0)
    weight = np.where(own, np.where(target == 1, w_pos, w_neg), w_cross)
    if drop is not None:
        weight = np.where(drop, 0.0, weight)
    keep = weight > 0
    return target[keep].astype(int), weight, keep


def nb_ratio(X, y: np.ndarray, alpha: float = 1.0, counts: np.ndarray | None = None) -> np.ndarray:
    """Naive-Bayes log-count ratio of every feature (Wang & Manning 2012) over the rows that
    annotate the risk: log of (share of positive rows having it) / (share of negative rows).
    `counts`: how much each row counts (default 1; `data.group_cap` lowers capped campaigns)."""
    own = ~np.isnan(y)
    Xb, yo = (X[own] > 0).astype(np.float64), y[own]
    c = np.ones(len(yo)) if counts is None else np.asarray(counts, float)[own]
    p = alpha + np.asarray(Xb[yo == 1].T @ c[yo == 1]).ravel()
    q = alpha + np.asarray(Xb[yo == 0].T @ c[yo == 0]).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def fit_risk(X, y: np.ndarray, clf_cfg: Classifier, cross_weight: float, seed: int, risk: str = "",
             row_scale: np.ndarray | None = None, drop: np.ndarray | None = None,
             soft: tuple | None = None, counts: np.ndarray | None = None) -> LogisticRegression:
    """Weighted logistic regression of one risk (classes weighted as `clf_cfg.class_weight` says).
    With `nb_scale` = b > 0 every feature column is multiplied by |NB log-count ratio|^b before
    fitting (NB-LR); the scaling is folded into `coef_` afterwards, so the returned model scores
    the unscaled features. `soft` = (features, teacher p, weight): distilled rows added to the fit
    (training/trainers/distill.py `soft_rows`); the NB ratios stay those of the annotated rows.
    `counts`: the rows' weights from `data.group_cap`, for the fit and the NB ratios alike."""
    target, weight, keep = risk_weights(y, cross_weight, drop, clf_cfg.class_weight == "balanced")
    if row_scale is not None:
        weight = weight * row_scale
    if counts is not None:
        weight = weight * counts
    Xf, wf = X[keep], weight[keep]
    if soft is not None:
        Xs, ts, ws = soft_rows(*soft, annotated_total=float(weight[~np.isnan(y)].sum()))
        Xf, target, wf = sp.vstack([Xf, Xs]).tocsr(), np.concatenate([target, ts]), np.concatenate([wf, ws])
    clf = LogisticRegression(C=float(risk_value(clf_cfg, "C", risk)), max_iter=clf_cfg.max_iter,
                             solver=clf_cfg.solver, random_state=seed)
    beta = float(risk_value(clf_cfg, "nb_scale", risk))
    if beta <= 0:
        return clf.fit(Xf, target, sample_weight=wf)
    d = np.abs(nb_ratio(X, y if drop is None else np.where(drop, np.nan, y), counts=counts)) ** beta
    clf.fit((Xf @ sp.diags(d)).tocsr(), target, sample_weight=wf)
    clf.coef_ = clf.coef_ * d[None, :]
    return clf


def source_metrics(y: np.ndarray, p: np.ndarray, src: np.ndarray, threshold: float) -> dict:
    """binary_metrics of one risk for each source separately (y, p, src: annotated rows only)."""
    return {str(name): binary_metrics(y[src == name], p[src == name], threshold) for name in np.unique(src)}


def by_source(y: np.ndarray, p: np.ndarray, src: np.ndarray, thresholds: dict, labels: list[str]) -> dict:
    """{risk: {source: metrics}} over a label matrix with NaN = not annotated."""
    out = {}
    for j, risk in enumerate(labels):
        m = ~np.isnan(y[:, j])
        if m.any() and risk in thresholds:
            out[risk] = source_metrics(y[m, j], p[m, j], np.asarray(src)[m], thresholds[risk])
    return out


def fit_gate(X, y: np.ndarray, clf_cfg: Classifier, seed: int, saturation: float,
             own: np.ndarray | None = None) -> tuple[np.ndarray, float, float]:
    """Domain gate for one risk: rows of its own kind (1; default: the rows annotating it) against
    every other row (0), classes weighted as `clf_cfg.class_weight` says."""
    own = (~np.isnan(y) if own is None else own).astype(int)
    clf = LogisticRegression(C=clf_cfg.gate_C, max_iter=clf_cfg.max_iter, solver=clf_cfg.solver,
                             class_weight="balanced" if clf_cfg.class_weight == "balanced" else None,
                             random_state=seed)
    clf.fit(X, own)
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0]), float(saturation)


def train_risk(j: int, risk: str, X: dict, splits: dict, recipe: FastRecipe | dict, seed: int,
               soft: tuple | None = None) -> dict:
    """Classifier, optional gate, calibrator, threshold and metrics of one risk. The calibrator is
    fitted on the dev rows of `calibration.sources` and the threshold chosen on the dev rows of
    `thresholds.sources` (default: every source annotating the risk), so both can be set on the
    data the model will meet (the team's real comments) rather than on benchmark dev sets.
    `soft`: the risk's distilled rows (`fit_risk`)."""
    recipe = as_recipe(recipe)
    data, clf_cfg = recipe.data, recipe.classifier
    y = splits["train"].y[:, j]
    if np.isnan(y).all():
        raise ValueError(f"no training source annotates risk {risk!r}; sources: {data.sources}")
    src_train = splits["train"].source
    weights = {src: float(per_risk(w, risk, SOURCE_WEIGHT)) for src, w in data.source_weight.items()}
    scale = np.array([weights.get(src, SOURCE_WEIGHT) for src in src_train])
    dropped = [s for s, risks in data.mask.items() if risk in risks]
    drop = np.isin(src_train, dropped) if dropped else np.zeros(len(y), bool)
    cross = float(risk_value(data, "cross_negative_weight", risk))
    counts = group_scale(y, src_train, splits["train"].groups(), data.group_cap, risk) if data.group_cap else None
    clf = fit_risk(X["train"], y, clf_cfg, cross, seed, risk, scale, drop, soft, counts)
    gate_src = risk_sources(data.gate_sources, risk)
    gate = (fit_gate(X["train"], y, clf_cfg, seed, data.gate_saturation,
                     np.isin(src_train, gate_src) if gate_src else None)
            if risk in data.domain_gate else None)
    content = recipe.content_gate

    def proba(split: str, cal, sources: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sp_ = splits[split]
        m = ~np.isnan(sp_.y[:, j])
        if sources:
            m &= np.isin(sp_.source, sources)
        z = clf.decision_function(X[split][m])
        if cal is None:
            return z, sp_.y[m, j], sp_.source[m]
        p = cal(z)
        if gate is not None:
            p = p * np.minimum(1.0, 1 / (1 + np.exp(-(X[split][m] @ gate[0] + gate[1]))) / gate[2])
        if content:
            p = p * content_mask([t for t, k in zip(sp_.texts, m) if k], [risk])[:, 0]
        return p, sp_.y[m, j], sp_.source[m]

    cal, thr = calibrate_risk(risk, recipe.calibration, recipe.thresholds,
                              lambda sources, c: proba("dev", c, sources)[:2])
    p_dev, y_dev, src_dev = proba("dev", cal)
    p_test, y_test, src = proba("test", cal)
    return {"test_by_source": source_metrics(y_test, p_test, src, thr), "coef": clf.coef_[0],
            "intercept": clf.intercept_[0], "gate": gate, "cal": cal, "threshold": thr,
            "dev": binary_metrics(y_dev, p_dev, thr), "dev_by_source": source_metrics(y_dev, p_dev, src_dev, thr),
            "test": binary_metrics(y_test, p_test, thr), "dev_rows": (p_dev, y_dev, src_dev)}


def featurize(recipe: FastRecipe | dict, splits: dict[str, Split]):
    """The recipe's featurizer fitted on the train texts, the feature rows of every split, and the
    lexicon files its features read."""
    recipe = as_recipe(recipe)
    userdict = Path(recipe.segmentation.userdict or DEFAULT_USERDICT)
    fcfg = recipe.featurizer
    tables = {"lexicon": recipe.lexicon, "harassment_lexicon": recipe.harassment_lexicon}
    lexicons = {kind: Path(tables[kind].path or RESOURCES / LEXICONS[kind][0]) for kind in LEXICONS if kind in fcfg.extra}
    feat = Featurizer(fcfg, Segmenter(userdict if userdict.is_file() else None), extra=extra_features(fcfg, lexicons))
    feat.fit(splits["train"].texts)
    return feat, {k: feat.transform(s.texts) for k, s in splits.items()}, lexicons


def load_splits(recipe: FastRecipe | dict, labels: list[str], root=None) -> dict[str, Split]:
    recipe = as_recipe(recipe)
    d = recipe.data
    return {k: load_split(d.sources, split, labels, root, evasion=recipe.cleaning.evasion, limits=d.limit,
                          seed=recipe.model.seed) for k, split in d.named_splits().items()}


def train_fast(recipe: FastRecipe | dict, out: str | Path, root=None, log=print, splits: dict[str, Split] | None = None,
               extra_config: dict | None = None) -> Detector:
    """Train from the recipe's sources, or from ready-made `splits` (train/dev/test of cleaned
    texts, e.g. with reviewed samples added); `extra_config` is merged into config.json."""
    t0 = time.time()
    recipe = as_recipe(recipe)
    labels, seed = list(recipe.model.labels), recipe.model.seed
    if splits is None:
        splits = load_splits(recipe, labels, root)
    log(f"loaded {', '.join(f'{k} {len(s.texts)}' for k, s in splits.items())} rows ({time.time() - t0:.0f}s)")
    feat, X, lexicons = featurize(recipe, splits)
    log(f"features {X['train'].shape} ({time.time() - t0:.0f}s)")
    distilled = None
    if recipe.distill is not None:  # a teacher's soft labels beside the labeled rows (training/trainers/distill.py)
        distilled = load_distilled(recipe, labels, root, log)
        distilled.X = feat.transform(distilled.texts) if distilled.texts else None
    parts = {}
    for j, risk in enumerate(labels):
        parts[risk] = train_risk(j, risk, X, splits, recipe, seed,
                                 distilled.soft(j, risk, recipe) if distilled else None)
        log(f"{risk}: dev macro-F1 {parts[risk]['dev']['macro_f1']:.4f}  test macro-F1 "
            f"{parts[risk]['test']['macro_f1']:.4f}  threshold {parts[risk]['threshold']:.3f} ({time.time() - t0:.0f}s)")
    scorer = FastScorer(labels, feat, np.stack([parts[r]["coef"] for r in labels]),
                        np.array([parts[r]["intercept"] for r in labels]), [parts[r]["cal"] for r in labels],
                        {r: parts[r]["gate"] for r in labels if parts[r]["gate"] is not None}, lexicon_paths=lexicons)
    metrics = {split: {r: parts[r][split] for r in labels} for split in ("dev", "test")}
    metrics["test_by_source"] = {r: parts[r]["test_by_source"] for r in labels}
    metrics["dev_by_source"] = {r: parts[r]["dev_by_source"] for r in labels}
    config = model_config(recipe, labels, root, time.time() - t0) | (extra_config or {})
    if distilled is not None:
        config["distill"] = distilled.report
    det = Detector(scorer, {r: parts[r]["threshold"] for r in labels}, config)
    if recipe.subtypes is not None:  # each flagged risk's subtypes, on the same features (training/trainers/subtypes.py)
        det.subtype_head = train_subtypes(recipe.subtypes, feat, root, seed, recipe.cleaning.evasion, log)
    det.save_pretrained(out, metrics=metrics)
    write_model_card(Path(out), det, metrics)
    return det


def model_config(recipe: Recipe, labels: list[str], root, seconds: float) -> dict:
    """What config.json says of how the model was made: the resolved recipe (every default filled
    in), the data's sha256 and the library versions."""
    specs = load_specs()
    data_sha = {s: source_sha256(s, root, specs) for s in recipe.data.sources}
    return {"name": recipe.model.name, "version": recipe.model.version, "labels": labels,
            "recipe": recipe.to_dict(), "data_sha256": data_sha, "library_versions": library_versions(),
            "cleaning": {"evasion": recipe.cleaning.evasion}, "content_gate": recipe.content_gate,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "train_seconds": round(seconds, 1)}


def write_model_card(path: Path, det: Detector, metrics: dict) -> None:
    lines = [f"# {det.model_id}", "", f"Model type: `{det.scorer.model_type}`. Labels: {', '.join(det.labels)}.", "",
             "| risk | split | n | accuracy | macro-F1 | precision | recall | ROC-AUC | ECE | threshold |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for split in ("dev", "test"):
        for r, m in metrics.get(split, {}).items():
            lines.append(f"| {r} | {split} | {m['n']} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | "
                         f"{m['precision']:.4f} | {m['recall']:.4f} | {m['roc_auc']:.4f} | {m['ece']:.4f} | {m['threshold']:.3f} |")
    lines += ["", "Recipe, data sha256 and library versions: `config.json`. Metrics: `metrics.json`."]
    (path / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
