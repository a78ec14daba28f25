"""Offline evaluation of a model on labeled JSONL for one risk: metrics with bootstrap confidence
intervals, calibration before/after, threshold table, worst errors with evidence, robustness to
evasive rewrites (`perturb`), a paired comparison with another model (`compare`), and an HTML
report beside metrics.json."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from detector.model.core import Detector
from detector.model.flagging import shown
from detector.risks import check_risk
from training.trainers.calibrate import proba_and_uncalibrated
from training.data.eval_sets import ALL, load_eval_data
from training.evaluation.metrics import (at_threshold, binary_metrics, bootstrap_ci, bootstrap_samples, confusion, ece,
                              percentile_ci, threshold_for_precision)
from training.datagen.perturb import PERTURBATIONS, perturb as rewrite
from training.evaluation.significance import mcnemar, paired_bootstrap

KEYS = ["n", "accuracy", "macro_f1", "precision", "recall", "f1", "roc_auc", "pr_auc", "ece", "threshold"]
GRID = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]


@dataclass
class Evaluation:
    """One model on one labeled set for one risk: scores and everything measured from them."""
    name: str
    risk: str
    model: str
    texts: list[str]
    y: np.ndarray
    p: np.ndarray
    threshold: float
    metrics: dict
    p_uncal: np.ndarray | None = None
    examples: dict = field(default_factory=dict)


_LAST: dict = {}  # the last model and texts scored, with every risk's probabilities


def risk_proba(det: Detector, texts: list[str], risk: str) -> np.ndarray:
    """`risk`'s probabilities of `texts`; the model scores every risk at once, so `--risk all` on
    one set scores its texts once, not once per risk (a transformer takes minutes a pass)."""
    check_risk(risk, det.labels)
    key = (id(det), det.model_id, len(texts), hash(tuple(texts)))
    if _LAST.get("key") != key:
        _LAST.clear()
        _LAST.update(key=key, p=det.predict_proba(texts), det=det)  # holding det keeps its id unique
    return as_shown(_LAST["p"][:, det.labels.index(risk)])


def as_shown(p: np.ndarray) -> np.ndarray:
    """Probabilities as `jingwang score` writes and flags them (4 decimals), so evaluation counts
    exactly its flags."""
    return np.fromiter((shown(x) for x in p), np.float64, len(p))


def full_metrics(y: np.ndarray, p: np.ndarray, threshold: float, p_uncal: np.ndarray | None = None,
                 n_boot: int = 1000, target_precision: float = 0.9, seed: int = 0) -> dict:
    """`binary_metrics` plus ci (95% bootstrap), confusion, ece_uncalibrated, target_precision and
    threshold_table (precision/recall at each threshold of a grid, the model's and the target's)."""
    m = binary_metrics(y, p, threshold)
    m["ci"] = bootstrap_ci(y, p, threshold, n_boot=n_boot, seed=seed)
    m["confusion"] = confusion(y, p, threshold)
    if p_uncal is not None:
        m["ece_uncalibrated"] = ece(y, p_uncal)
    best = best_f1(y, p)
    m["best_f1"], m["best_f1_threshold"] = best["f1"], best["threshold"]
    target = threshold_for_precision(y, p, target_precision)
    m["target_precision"] = {"target": target_precision, **(target or {"threshold": None})}
    rows = [at_threshold(y, p, t) | {"note": ""} for t in GRID]
    rows.append(at_threshold(y, p, threshold) | {"note": "model threshold"})
    if target:
        rows.append(target | {"note": f"lowest with precision >= {target_precision:g} on this data"})
    m["threshold_table"] = sorted(rows, key=lambda r: r["threshold"])
    return m


def best_f1(y: np.ndarray, p: np.ndarray) -> dict:
    """The best positive-class F1 over every threshold (each distinct score) and that threshold:
    how much a better threshold could have given on this data."""
    y, p = np.asarray(y).astype(int), np.asarray(p, float)
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    if not len(ps) or not ys.sum():
        return {"f1": 0.0, "threshold": None}
    last = np.r_[np.nonzero(np.diff(ps))[0], len(ps) - 1]
    tp = np.cumsum(ys)[last]
    f1 = 2 * tp / (last + 1 + ys.sum())
    k = int(np.argmax(f1))
    return {"f1": float(f1[k]), "threshold": float(ps[last[k]])}


def worst_examples(det: Detector, texts: list[str], y: np.ndarray, p: np.ndarray, threshold: float,
                   risk: str, k: int = 10) -> dict[str, list[dict]]:
    """The k most confident false positives and false negatives, each with its evidence
    (the n-grams that pushed the score up, spans in the original text)."""
    fp = [i for i in np.argsort(-p, kind="mergesort") if y[i] == 0 and p[i] >= threshold][:k]
    fn = [i for i in np.argsort(p, kind="mergesort") if y[i] == 1 and p[i] < threshold][:k]

    def one(i: int) -> dict:
        ev = det.scorer.explain(det.clean([texts[i]])[0], risk, 5) if hasattr(det.scorer, "explain") else []
        return {"index": int(i), "text": texts[i], "p": float(p[i]), "label": int(y[i]), "evidence": ev}
    return {"false_positives": [one(i) for i in fp], "false_negatives": [one(i) for i in fn]}


def evaluate_set(det: Detector, name: str, texts: list[str], y: np.ndarray, risk: str, model: str = "",
                 n_boot: int = 1000, target_precision: float = 0.9, k_examples: int = 10,
                 seed: int = 0) -> Evaluation:
    y = np.asarray(y).astype(int)
    check_risk(risk, det.labels)
    both = proba_and_uncalibrated(det, texts, risk)  # fast models: one pass gives both
    p, p_uncal = (as_shown(both[0]), both[1]) if both is not None else (risk_proba(det, texts, risk), None)
    thr = det.thresholds[risk]
    m = full_metrics(y, p, thr, p_uncal, n_boot, target_precision, seed)
    m["calibration"] = _calibration_kind(det, risk)
    ex = worst_examples(det, texts, y, p, thr, risk, k_examples) if k_examples else {}
    return Evaluation(name, risk, model or det.model_id, texts, y, p, thr, m, p_uncal, ex)


def _calibration_kind(det: Detector, risk: str) -> str:
    cal = det.config.get("scorer", {}).get("calibration", {})
    return str(cal.get(risk, {}).get("kind", "")) if isinstance(cal, dict) else ""


def perturb_kinds(values: list[str] | None) -> list[str]:
    """`all`, names, or comma-separated names -> the perturbation names, validated."""
    kinds: list[str] = []
    for v in values or []:
        for k in (s.strip() for s in v.split(",")):
            if k == "all":
                kinds.extend(PERTURBATIONS)
            elif k in PERTURBATIONS:
                kinds.append(k)
            elif k:
                raise ValueError(f"unknown perturbation {k!r}; choose all or from {', '.join(PERTURBATIONS)}")
    return list(dict.fromkeys(kinds))


def robustness(det: Detector, texts: list[str], y: np.ndarray, risk: str, kinds: list[str],
               p_clean: np.ndarray | None = None, seed: int = 0) -> dict[str, dict]:
    """Recall, precision and macro-F1 at the model's threshold on the clean data and on every
    rewrite of all of it (each text rewritten by one perturbation)."""
    thr = det.thresholds[risk]

    def row(p: np.ndarray) -> dict:
        m = binary_metrics(y, p, thr)
        return {k: m[k] for k in ("n", "recall", "precision", "macro_f1")}
    out = {"clean": row(risk_proba(det, texts, risk) if p_clean is None else p_clean)}
    for kind in kinds:
        out[kind] = row(risk_proba(det, rewrite(texts, kind, seed=seed), risk))
        out[kind]["recall_change"] = out[kind]["recall"] - out["clean"]["recall"]
    return out


def compare_models(ev: Evaluation, other: Detector, other_name: str, n_boot: int = 1000, seed: int = 0) -> dict:
    """The other model (B) against the evaluated one (A) on the same rows: metrics of both,
    differences B - A with paired bootstrap intervals and p-values, and McNemar's test."""
    return compare_scores(ev, risk_proba(other, ev.texts, ev.risk), other.thresholds[ev.risk], other_name, n_boot, seed)


def compare_scores(ev: Evaluation, p_b: np.ndarray, thr_b: float, other_name: str, n_boot: int = 1000,
                   seed: int = 0) -> dict:
    """`compare_models` from the other model's scores on the same rows."""
    return {"a": ev.model, "b": other_name, "threshold_a": ev.threshold, "threshold_b": thr_b,
            "n_boot": n_boot, "metrics": paired_bootstrap(ev.y, ev.p, ev.threshold, p_b, thr_b, n_boot, seed),
            "ece": {"a": ece(ev.y, ev.p), "b": ece(ev.y, p_b)},
            "mcnemar": mcnemar(ev.y, ev.p >= ev.threshold, p_b >= thr_b)}


def evaluate_file(model: str | Path | Detector, data: str | Path, risk: str, out: str | Path,
                  perturb: list[str] | None = None, compare: str | Path | Detector | None = None,
                  report: bool = True, target_precision: float = 0.9, n_boot: int = 1000,
                  seed: int = 0, by: str | None = None, predictions: str | Path | None = None,
                  root=None) -> dict:
    """Evaluate one model on DATA for RISK (or every risk DATA labels, `risk` = "all"); writes
    OUT/metrics.json (and OUT/report.html) and returns {RISK: metrics}. Robustness and comparison
    go under each risk's `robustness` and `compare` keys, metrics per value of column `by` under
    `by`, flags pooled over risks under "all_risks"; `predictions` gets every row's scores."""
    det = model if isinstance(model, Detector) else Detector.from_pretrained(model)
    if risk != ALL:
        check_risk(risk, det.labels)
    kinds = perturb_kinds(perturb)
    other = None
    if compare is not None:
        other = compare if isinstance(compare, Detector) else Detector.from_pretrained(compare)
        if risk != ALL:
            check_risk(risk, other.labels)
    ld = load_eval_data(data, risk, det.labels, root)
    if by is not None and by not in ld.columns:
        raise ValueError(f"--by {by}: {data} has no column {by!r}; columns: {', '.join(ld.columns) or 'none'}")
    name = str(model) if not isinstance(model, Detector) else det.model_id
    metrics, evs = {}, []
    for r in ld.labels:
        keep = ld.annotated(r)
        texts = [t for t, k in zip(ld.texts, keep) if k]
        ev = evaluate_set(det, Path(str(data)).name, texts, ld.labels[r][keep], r, name, n_boot, target_precision,
                          seed=seed)
        if kinds:
            ev.metrics["robustness"] = robustness(det, texts, ev.y, r, kinds, ev.p, seed)
        if other is not None:
            ev.metrics["compare"] = compare_models(ev, other, str(compare) if not isinstance(compare, Detector)
                                                   else other.model_id, n_boot, seed)
        if by is not None:
            ev.metrics["by"] = slice_metrics(ev.y, ev.p, ev.threshold, [v for v, k in zip(ld.columns[by], keep) if k])
        metrics[r] = ev.metrics
        evs.append(ev)
    if len(evs) > 1 and all(len(ev.y) == len(ld.texts) for ev in evs):
        metrics["all_risks"] = pooled_flags(evs, n_boot, seed)
    if predictions is not None:
        write_predictions(Path(predictions), det, ld, {ev.risk: ev.p for ev in evs}, by)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(_jsonable(metrics), indent=2, ensure_ascii=False), encoding="utf-8")
    if report:
        from training.evaluation.report import write_report
        write_report(out / "report.html", evs, title=f"Jingwang evaluation: {name}",
                     meta={"model": name, "data": str(data), "risk": risk, "bootstrap resamples": n_boot})
    return metrics


SLICE_KEYS = ("n", "positives", "flags", "precision", "recall", "f1", "macro_f1", "flag_rate", "false_flags_per_1000")


def slice_metrics(y: np.ndarray, p: np.ndarray, threshold: float, values: list) -> dict[str, dict]:
    """Metrics of each slice (rows sharing a value of the --by column), largest slice first."""
    values = np.array(["" if v is None else str(v) for v in values], dtype=object)
    out = {}
    for v in sorted(set(values), key=lambda v: (-int((values == v).sum()), v)):
        m = values == v
        bm = binary_metrics(y[m], p[m], threshold)
        out[v] = {k: bm[k] for k in SLICE_KEYS}
    return out


def pooled_flags(evs: list[Evaluation], n_boot: int = 1000, seed: int = 0) -> dict:
    """Every risk's flags on the same posts counted together: how many flags a reviewer gets, how
    many are right, false flags per 1,000 posts, with 95% bootstrap intervals over posts."""
    flags = np.stack([ev.p >= ev.threshold for ev in evs], 1)
    right = np.stack([(ev.p >= ev.threshold) & (ev.y == 1) for ev in evs], 1)
    pos = np.stack([ev.y == 1 for ev in evs], 1)

    def stats(idx) -> dict:
        f, r, n = flags[idx].sum(), right[idx].sum(), len(idx)
        return {"precision": float(r / f) if f else 0.0, "recall": float(r / pos[idx].sum()) if pos[idx].sum() else 0.0,
                "false_flags_per_1000": float(1000 * (f - r) / n), "flagged_posts": float(flags[idx].any(1).mean())}
    full = stats(np.arange(len(flags)))
    draws = [stats(i) for i in bootstrap_samples(len(flags), n_boot, seed)] if n_boot > 0 else []
    return {"n": int(len(flags)), "flags": int(flags.sum()), "correct_flags": int(right.sum()), **full,
            "ci": {k: percentile_ci(np.array([d[k] for d in draws])) for k in full} if draws else {}}


def write_predictions(path: Path, det: Detector, ld, proba: dict[str, np.ndarray], by: str | None) -> None:
    """One JSON line per row: id, text, labels, scores, flags (and the --by column)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    index = {r: np.flatnonzero(ld.annotated(r)) for r in proba}
    pos = {r: {int(i): k for k, i in enumerate(idx)} for r, idx in index.items()}
    with open(path, "w", encoding="utf-8") as f:
        for i, (rid, text) in enumerate(zip(ld.ids, ld.texts)):
            scores = {r: shown(p[pos[r][i]]) for r, p in proba.items() if i in pos[r]}
            row = {"id": rid, "text": text,
                   "labels": {r: int(ld.labels[r][i]) for r in proba if i in pos[r]},
                   "scores": scores, "flags": [r for r, v in scores.items() if v >= det.thresholds[r]]}
            if by is not None:
                row[by] = ld.columns[by][i]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _jsonable(x):
    """NaN -> null, numpy scalars -> Python, recursively (metrics.json stays strict JSON)."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if np.isnan(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _fmt(v) -> str:
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.4f}"


def print_metrics(metrics: dict, console: Console | None = None) -> None:
    console = console or Console()
    t = Table(title="jingwang evaluate")  # a column per risk: three risks fit 80 columns
    t.add_column("metric", no_wrap=True)
    risks = {r: m for r, m in metrics.items() if r != "all_risks"}
    for risk in risks:
        t.add_column(risk, justify="right", no_wrap=True)
    for k in KEYS:
        t.add_row(k, *[str(m[k]) if k == "n" else _fmt(m[k]) for m in risks.values()])
    console.print(t)
    for risk, m in risks.items():
        console.print(f"{risk}: {m['flags']} flags, {m['confusion']['tp']} right; flag rate "
                      f"{100 * m['flag_rate']:.1f}%; {m['false_flags_per_1000']:.1f} false flags per 1,000 posts",
                      highlight=False)
        if "ece_uncalibrated" in m:
            console.print(f"{risk}: ECE {_fmt(m['ece_uncalibrated'])} uncalibrated -> {_fmt(m['ece'])} "
                          f"calibrated ({m.get('calibration') or 'model calibrator'})", highlight=False)
        if "robustness" in m:
            print_robustness(risk, m["robustness"], console)
        if "compare" in m:
            print_compare(risk, m["compare"], console)
        if "by" in m:
            print_slices(risk, m["by"], console)
    if "all_risks" in metrics:
        a = metrics["all_risks"]
        console.print(f"all risks: {a['flags']} flags on {a['n']} posts, {a['correct_flags']} right (precision "
                      f"{_fmt(a['precision'])}), {a['false_flags_per_1000']:.1f} false flags per 1,000 posts",
                      highlight=False)


# The slice table's columns on a terminal (every key is in metrics.json): short names, 3 decimals,
# so that it fits 80 columns without cutting a number.
SLICE_COLUMNS = (("n", "n"), ("positives", "pos"), ("flags", "flags"), ("precision", "P"), ("recall", "R"),
                 ("f1", "F1"), ("flag_rate", "flag %"), ("false_flags_per_1000", "false/1k"))


def print_slices(risk: str, by: dict, console: Console) -> None:
    t = Table(title=f"{risk} by slice (P, R, F1 of the flags; false flags per 1,000 posts)")
    t.add_column("slice", overflow="fold")
    for _, name in SLICE_COLUMNS:
        t.add_column(name, justify="right", no_wrap=True)
    for v, m in list(by.items())[:30]:
        cells = [str(m[k]) if isinstance(m[k], int) else "—" if m[k] is None or m[k] != m[k]
                 else f"{100 * m[k]:.1f}" if k == "flag_rate" else f"{m[k]:.1f}" if k == "false_flags_per_1000"
                 else f"{m[k]:.3f}" for k, _ in SLICE_COLUMNS]
        t.add_row(v[:30], *cells)
    console.print(t)


def print_robustness(risk: str, rob: dict, console: Console) -> None:
    t = Table(title=f"{risk}: evasive rewrites")
    for c in ("data", "recall", "macro-F1", "precision", "recall change"):
        t.add_column(c, justify="right" if c != "data" else "left")
    for kind, r in rob.items():
        t.add_row(kind, _fmt(r["recall"]), _fmt(r["macro_f1"]), _fmt(r["precision"]),
                  "" if kind == "clean" else f"{r['recall_change']:+.4f}")
    console.print(t)


def print_compare(risk: str, cmp: dict, console: Console) -> None:
    t = Table(title=f"{risk}: A = {cmp['a']}  vs  B = {cmp['b']} (paired bootstrap, {cmp['n_boot']} resamples)")
    for c in ("metric", "A", "B", "B - A", "95% CI", "p"):
        t.add_column(c, justify="right" if c != "metric" else "left")
    for k, r in cmp["metrics"].items():
        t.add_row(k, _fmt(r["a"]), _fmt(r["b"]), f"{r['diff']:+.4f}",
                  f"[{_fmt(r['ci'][0])}, {_fmt(r['ci'][1])}]", _fmt(r["p_value"]))
    mc = cmp["mcnemar"]
    console.print(t)
    console.print(f"McNemar (exact): only A right {mc['only_a_correct']}, only B right {mc['only_b_correct']}, "
                  f"p = {mc['p_value']:.4g}", highlight=False)
