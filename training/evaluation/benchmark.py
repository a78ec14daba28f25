"""`jingwang benchmark configs/benchmarks.toml`: every configured test set for one or more
models, one markdown table with 95% bootstrap intervals and the published anchors beside ours.

Writes OUT/benchmark.md (the table), OUT/metrics.json ({model: {set: metrics}}) and, unless
turned off, OUT/report.html (one section per model and set). With several models, each later
model is compared with the first on the same rows (paired bootstrap, McNemar)."""
from __future__ import annotations

import json
from training.recipe import read_toml
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detector.model.core import Detector
from training.data.sources import load_source
from training.evaluation.evaluate import Evaluation, _jsonable, compare_scores, evaluate_set

NAMES = {"macro_f1": "macro-F1", "accuracy": "accuracy", "f1": "F1 (risky class)", "precision": "precision",
         "recall": "recall", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "ece": "ECE", "flag_rate": "flag rate",
         "false_flags_per_1000": "false flags per 1,000 posts", "best_f1": "best F1 over thresholds"}


@dataclass
class BenchSet:
    name: str
    source: str
    split: str
    risk: str
    metrics: list[str] = field(default_factory=lambda: ["macro_f1"])
    anchors: list[dict] = field(default_factory=list)
    exclude_overlap_with: str = ""


def load_config(path: str | Path) -> dict:
    """The benchmark config: models, bootstrap, report and a validated list of BenchSet."""
    path = Path(path)
    raw = read_toml(path)
    if not raw.get("sets"):
        raise ValueError(f"{path}: no [[sets]] configured")
    sets = []
    for i, s in enumerate(raw["sets"], 1):
        missing = [k for k in ("name", "source", "split", "risk") if k not in s]
        unknown = [k for k in s if k not in BenchSet.__dataclass_fields__]
        bad = [m for m in s.get("metrics", []) + [a.get("metric") for a in s.get("anchors", [])] if m not in NAMES]
        if missing or unknown or bad:
            raise ValueError(f"{path}, set {i}: missing {missing}, unknown keys {unknown}, unknown metrics {bad} "
                             f"(metrics: {', '.join(NAMES)})")
        sets.append(BenchSet(**s))
    return {"models": list(raw.get("models", [])), "bootstrap": int(raw.get("bootstrap", 1000)),
            "report": bool(raw.get("report", True)), "sets": sets}


def overlap_mask(texts: list[str], other: list[str]) -> np.ndarray:
    """True for the texts that do NOT also occur in `other` (exact match after strip)."""
    seen = {t.strip() for t in other}
    return np.array([t.strip() not in seen for t in texts], bool)


def load_set(s: BenchSet, root: Path | None = None) -> tuple[list[str], np.ndarray, int]:
    """Texts and labels of one set (rows annotated for its risk), and how many were dropped as
    duplicates of `exclude_overlap_with`."""
    ds = load_source(s.source, s.split, root=root)
    if s.risk not in ds.column_names:
        raise ValueError(f"set {s.name!r}: unknown risk {s.risk!r}")
    rows = [(t, y) for t, y in zip(ds["text"], ds[s.risk]) if y is not None]
    if not rows:
        raise ValueError(f"set {s.name!r}: {s.source}/{s.split} has no labels for {s.risk}")
    texts, y = [t for t, _ in rows], np.array([v for _, v in rows], int)
    dropped = 0
    if s.exclude_overlap_with:
        keep = overlap_mask(texts, load_source(s.source, s.exclude_overlap_with, root=root)["text"])
        dropped = int((~keep).sum())
        texts, y = [t for t, k in zip(texts, keep) if k], y[keep]
        if not texts:
            raise ValueError(f"set {s.name!r}: every text also occurs in {s.source}/{s.exclude_overlap_with}")
    return texts, y, dropped


def run_benchmark(config: str | Path, models: list[str] | None = None, out: str | Path | None = None,
                  root: Path | None = None, n_boot: int | None = None, report: bool | None = None,
                  log=print) -> tuple[str, dict]:
    """Evaluate every model on every set; return (markdown table, {model: {set: metrics}})."""
    cfg = load_config(config)
    models = list(models or cfg["models"])
    if not models:
        raise ValueError(f"{config}: no models given (models = [...] or --model)")
    if len(set(models)) < len(models):
        raise ValueError(f"a model is listed twice: {', '.join(models)}")
    n_boot = cfg["bootstrap"] if n_boot is None else n_boot
    report = cfg["report"] if report is None else report
    dets = {m: Detector.from_pretrained(m) for m in models}
    data = {s.name: load_set(s, root) for s in cfg["sets"]}
    evs: dict[str, dict[str, Evaluation]] = {m: {} for m in models}
    results: dict[str, dict] = {m: {} for m in models}
    for m, det in dets.items():
        for s in cfg["sets"]:
            texts, y, dropped = data[s.name]
            ev = evaluate_set(det, s.name, texts, y, s.risk, m, n_boot, k_examples=10 if report else 0)
            evs[m][s.name] = ev
            if m != models[0]:  # in the model's metrics, so the report shows it too
                ev.metrics["compare"] = compare_scores(evs[models[0]][s.name], ev.p, ev.threshold, m, n_boot)
            results[m][s.name] = ev.metrics | {"source": s.source, "split": s.split, "dropped_duplicates": dropped}
            log(f"{m} · {s.name}: n {len(y)}, " + ", ".join(f"{k} {ev.metrics[k]:.4f}" for k in s.metrics))
    table = markdown_table(cfg["sets"], models, results)
    if out is not None:
        write_outputs(Path(out), table, results, evs if report else None, models, config)
    return table, results


def cell(m: dict, key: str) -> str:
    v = m.get(key)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    ci = m.get("ci", {}).get(key)
    text = f"{v:.4f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and not np.isnan(ci[0]) else "")
    cmp = m.get("compare", {}).get("metrics", {}).get(key)
    if cmp:
        text += f" (Δ {cmp['diff']:+.4f}, p {cmp['p_value']:.3g})"
    return text


def markdown_table(sets: list[BenchSet], models: list[str], results: dict) -> str:
    """One row per set and metric; a column per model (value [95% CI]); published anchors."""
    lines = ["| test set | n | metric | " + " | ".join(models) + " | published |",
             "|---|---|---|" + "---|" * len(models) + "---|"]
    for s in sets:
        first = results[models[0]][s.name]
        n = f"{first['n']} ({first.get('positives', '?')} risky)" + (f", {first['dropped_duplicates']} duplicates of {s.exclude_overlap_with} removed"
                               if s.exclude_overlap_with else "")
        for k in s.metrics:
            anchors = ", ".join(f"{a['system']} {a['value']:.4g}" for a in s.anchors if a["metric"] == k)
            vals = " | ".join(cell(results[m][s.name], k) for m in models)
            name = s.name if s.risk in s.name else f"{s.name} ({s.risk})"
            lines.append(f"| {name} | {n} | {NAMES[k]} | {vals} | {anchors or '—'} |")
    lines.append("")
    lines.append("Values: our model [95% bootstrap CI]; thresholds as chosen on dev. "
                 "With several models, Δ is the difference to the first model and p its paired bootstrap p-value.")
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, table: str, results: dict, evs: dict | None, models: list[str], config) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.md").write_text(table, encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(_jsonable(results), indent=2, ensure_ascii=False), encoding="utf-8")
    if evs is not None:
        from training.evaluation.report import markdown_html, write_report
        write_report(out / "report.html", [ev for m in models for ev in evs[m].values()],
                     title="Jingwang benchmark", meta={"config": str(config), "models": ", ".join(models)},
                     preface="<h2>Summary</h2>" + markdown_html(table))
