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

from detector.detector import Detector
from detector.risks import check_risk
from training.calibrate import proba_and_uncalibrated
from training.data import read_jsonl
from training.metrics import (at_threshold, binary_metrics, bootstrap_ci, confusion, ece,
                              threshold_for_precision)
from training.perturb import PERTURBATIONS, perturb as rewrite
from training.significance import mcnemar, paired_bootstrap

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


def load_labeled(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels from JSONL; a row without text or a 0/1 label is an error naming its line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot read {path}: no such file")
    texts, labels = [], []
    for i, row in enumerate(read_jsonl(path), 1):
        if not isinstance(row.get("text"), str) or row.get("label") not in (0, 1, "0", "1"):
            raise ValueError(f"{path}, record {i}: needs a text and a label of 0 or 1")
        texts.append(row["text"])
        labels.append(int(row["label"]))
    if not texts:
        raise ValueError(f"{path}: no labeled rows")
    return texts, np.array(labels)


def risk_proba(det: Detector, texts: list[str], risk: str) -> np.ndarray:
    check_risk(risk, det.labels)
    return det.predict_proba(texts)[:, det.labels.index(risk)].astype(np.float64)


def evaluate_detector(det: Detector, texts: list[str], y: np.ndarray, risk: str) -> dict:
    return binary_metrics(y, risk_proba(det, texts, risk), det.thresholds[risk])


def full_metrics(y: np.ndarray, p: np.ndarray, threshold: float, p_uncal: np.ndarray | None = None,
                 n_boot: int = 1000, target_precision: float = 0.9, seed: int = 0) -> dict:
    """`binary_metrics` plus ci (95% bootstrap), confusion, ece_uncalibrated, target_precision and
    threshold_table (precision/recall at each threshold of a grid, the model's and the target's)."""
    m = binary_metrics(y, p, threshold)
    m["ci"] = bootstrap_ci(y, p, threshold, n_boot=n_boot, seed=seed)
    m["confusion"] = confusion(y, p, threshold)
    if p_uncal is not None:
        m["ece_uncalibrated"] = ece(y, p_uncal)
    target = threshold_for_precision(y, p, target_precision)
    m["target_precision"] = {"target": target_precision, **(target or {"threshold": None})}
    rows = [at_threshold(y, p, t) | {"note": ""} for t in GRID]
    rows.append(at_threshold(y, p, threshold) | {"note": "model threshold"})
    if target:
        rows.append(target | {"note": f"lowest with precision >= {target_precision:g} on this data"})
    m["threshold_table"] = sorted(rows, key=lambda r: r["threshold"])
    return m


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
    p, p_uncal = both if both is not None else (risk_proba(det, texts, risk), None)
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
                  seed: int = 0) -> dict:
    """Evaluate one model on DATA for RISK; writes OUT/metrics.json (and OUT/report.html) and
    returns {RISK: metrics}. Robustness and comparison go under the risk's `robustness` and
    `compare` keys."""
    det = model if isinstance(model, Detector) else Detector.from_pretrained(model)
    check_risk(risk, det.labels)
    kinds = perturb_kinds(perturb)
    other = None
    if compare is not None:
        other = compare if isinstance(compare, Detector) else Detector.from_pretrained(compare)
        check_risk(risk, other.labels)
    texts, y = load_labeled(data)
    name = str(model) if not isinstance(model, Detector) else det.model_id
    ev = evaluate_set(det, Path(data).name, texts, y, risk, name, n_boot, target_precision, seed=seed)
    if kinds:
        ev.metrics["robustness"] = robustness(det, texts, ev.y, risk, kinds, ev.p, seed)
    if other is not None:
        ev.metrics["compare"] = compare_models(ev, other, str(compare) if not isinstance(compare, Detector)
                                               else other.model_id, n_boot, seed)
    metrics = {risk: ev.metrics}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(_jsonable(metrics), indent=2, ensure_ascii=False), encoding="utf-8")
    if report:
        from training.report import write_report
        write_report(out / "report.html", [ev], title=f"Jingwang evaluation: {name}",
                     meta={"model": name, "data": str(data), "risk": risk, "bootstrap resamples": n_boot})
    return metrics


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
    console = console or Console(width=max(Console().width, 140))
    t = Table(title="jingwang evaluate")
    t.add_column("risk")
    for k in KEYS:
        t.add_column(k, justify="right")
    for risk, m in metrics.items():
        t.add_row(risk, *[str(m[k]) if k == "n" else _fmt(m[k]) for k in KEYS])
    console.print(t)
    for risk, m in metrics.items():
        if "ece_uncalibrated" in m:
            console.print(f"{risk}: ECE {_fmt(m['ece_uncalibrated'])} uncalibrated -> {_fmt(m['ece'])} "
                          f"calibrated ({m.get('calibration') or 'model calibrator'})", highlight=False)
        if "robustness" in m:
            print_robustness(risk, m["robustness"], console)
        if "compare" in m:
            print_compare(risk, m["compare"], console)


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
