"""A self-contained HTML report of one or more evaluations (`training.evaluation.evaluate.Evaluation`):
metrics with bootstrap intervals, PR/ROC curves and a reliability diagram (matplotlib, embedded
as base64 PNG), the confusion matrix, a threshold table, robustness and comparison tables, and
the worst false positives and negatives with their evidence highlighted.

No JavaScript; every string that comes from data or models goes through `html.escape`."""
from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path

import numpy as np

from training.evaluation.metrics import ece, reliability_bins

CI_ROWS = [("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"), ("f1", "F1 (risky class)"),
           ("macro_f1", "macro-F1"), ("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC (average precision)")]
CSS = """body{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei","PingFang SC",sans-serif;margin:24px;color:#222;max-width:1150px}
h1{font-size:22px}h2{font-size:18px;border-bottom:2px solid #446;padding-bottom:4px;margin-top:36px}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#eef}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.hl td{background:#ffd}
mark{background:#fc6}.small{color:#666;font-size:12px}.row{display:flex;gap:24px;flex-wrap:wrap}
img{max-width:100%}td.text{max-width:640px}"""


def e(x) -> str:
    return html.escape(str(x), quote=True)


def num(v, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    return f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else e(v)


def table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """Rows are already-escaped cell HTML (numbers right-aligned)."""
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join(f'<tr class="{c}">' + "".join(rows[i]) + "</tr>" for i, c in enumerate(classes or [""] * len(rows)))
    return f"<table><tr>{head}</tr>{body}</table>"


def td(v, digits: int = 4) -> str:
    return f'<td class="n">{num(v, digits)}</td>' if not isinstance(v, str) else f"<td>{e(v)}</td>"


def figure_png(y: np.ndarray, p: np.ndarray, threshold: float, p_uncal: np.ndarray | None = None) -> str:
    """PR curve, ROC curve and reliability diagram side by side, as base64 PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    fig, ax = plt.subplots(1, 3, figsize=(13.5, 4.0), dpi=72)
    pred = p >= threshold
    if len(np.unique(y)) == 2:
        pr, rc, _ = precision_recall_curve(y, p)
        ax[0].plot(rc, pr, color="#236")
        ax[0].plot([np.mean(pred[y == 1])], [np.mean(y[pred] == 1) if pred.any() else 1.0], "o", color="#c40",
                   label=f"threshold {threshold:.3f}")
        fpr, tpr, _ = roc_curve(y, p)
        ax[1].plot(fpr, tpr, color="#236")
        ax[1].plot([np.mean(pred[y == 0])], [np.mean(pred[y == 1])], "o", color="#c40", label=f"threshold {threshold:.3f}")
    ax[1].plot([0, 1], [0, 1], ":", color="#999")
    _axes(ax[0], "Precision-recall", "recall", "precision")
    _axes(ax[1], "ROC", "false positive rate", "true positive rate")
    for probs, label, color in ((p_uncal, "uncalibrated", "#999"), (p, "calibrated", "#236")):
        if probs is not None:
            xs, ys = _reliability(y, probs)
            ax[2].plot(xs, ys, "o-", color=color, label=f"{label} (ECE {ece(y, probs):.3f})")
    ax[2].plot([0, 1], [0, 1], ":", color="#999")
    _axes(ax[2], "Reliability (15 equal-width bins)", "mean predicted probability", "share risky")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _axes(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left" if title == "Precision-recall" else "lower right", fontsize=9)


def _reliability(y: np.ndarray, p: np.ndarray, bins: int = 15) -> tuple[list[float], list[float]]:
    pts = reliability_bins(y, p, bins)
    return [a for _, a, _ in pts], [b for _, _, b in pts]


def highlight(text: str, evidence: list[dict], limit: int = 300) -> str:
    """The text (cut at `limit` characters) escaped, with evidence spans in <mark>."""
    spans = sorted((s, t) for ev in evidence for s, t in ev.get("spans", []) if s < limit)
    out, pos = [], 0
    for s, t in spans:
        s, t = max(s, pos), min(t, limit)
        if s >= t:
            continue
        out += [e(text[pos:s]), "<mark>", e(text[s:t]), "</mark>"]
        pos = t
    out.append(e(text[pos:limit]))
    return "".join(out) + ("…" if len(text) > limit else "")


def metrics_html(m: dict) -> str:
    ci = m.get("ci", {})
    rows = [[td(label), td(m[k]), td(f"[{num(ci[k][0])}, {num(ci[k][1])}]" if k in ci else "")] for k, label in CI_ROWS]
    rows.append([td("ECE (15 bins)"), td(m["ece"]), td(f"uncalibrated {num(m['ece_uncalibrated'])}"
                                                      if "ece_uncalibrated" in m else "")])
    rows.append([td("threshold"), td(m["threshold"]), td(f"calibration: {m.get('calibration') or 'unknown'}")])
    return table(["metric", "value", "95% bootstrap CI"], rows)


def confusion_html(c: dict) -> str:
    pos, neg = c["tp"] + c["fn"], c["tn"] + c["fp"]
    share = lambda a, b: f"{a} ({a / b:.1%})" if b else str(a)  # noqa: E731
    return table(["", "flagged", "not flagged"], [[td("risky (label 1)"), td(share(c["tp"], pos)), td(share(c["fn"], pos))],
                                                   [td("not risky (label 0)"), td(share(c["fp"], neg)), td(share(c["tn"], neg))]])


def thresholds_html(m: dict) -> str:
    rows = [[td(r["threshold"], 3), td(r["precision"]), td(r["recall"]), td(r["f1"]), td(f"{r['flagged']:.1%}"), td(r["note"])]
            for r in m["threshold_table"]]
    tp = m["target_precision"]
    line = (f"Threshold for precision ≥ {num(tp['target'], 2)} on this data: {num(tp['threshold'], 4)} "
            f"(recall {num(tp['recall'])})" if tp.get("threshold") is not None
            else f"No threshold reaches precision {num(tp['target'], 2)} on this data.")
    return table(["threshold", "precision", "recall", "F1", "flagged", ""], rows,
                 ["hl" if r["note"] else "" for r in m["threshold_table"]]) + f'<p class="small">{e(line)} ' \
        "Chosen on the evaluation data itself, so optimistic: confirm on other data before using it.</p>"


def robustness_html(rob: dict) -> str:
    rows = [[td(k), td(r["recall"]), td(r["macro_f1"]), td(r["precision"]),
             td("" if k == "clean" else f"{r['recall_change']:+.4f}")] for k, r in rob.items()]
    return "<h3>Evasive rewrites (every text rewritten, model threshold)</h3>" + \
        table(["data", "recall", "macro-F1", "precision", "recall change"], rows)


def compare_html(cmp: dict) -> str:
    rows = [[td(k), td(r["a"]), td(r["b"]), td(f"{r['diff']:+.4f}"), td(f"[{num(r['ci'][0])}, {num(r['ci'][1])}]"),
             td(r["p_value"], 4)] for k, r in cmp["metrics"].items()]
    mc = cmp["mcnemar"]
    pv = f"{mc['p_value']:.4g}"
    return (f"<h3>Comparison: A = {e(cmp['a'])}, B = {e(cmp['b'])}</h3>"
            + table(["metric", "A", "B", "B − A", "95% CI (paired bootstrap)", "p"], rows)
            + f'<p class="small">Paired bootstrap with {e(cmp["n_boot"])} resamples of the same rows. Exact McNemar test on '
              f"the decisions: only A right {e(mc['only_a_correct'])}, only B right {e(mc['only_b_correct'])}, "
              f"p = {e(pv)}. ECE A {num(cmp['ece']['a'])}, B {num(cmp['ece']['b'])}.</p>")


def evidence_label(ev: dict) -> str:
    """`term share% (views)` (the fast model's items, README "Output format"); `term weight` for
    evidence without a share (the transformer's occlusion)."""
    if "share" in ev:
        views = f" ({'/'.join(ev['views'])})" if ev.get("views") else ""
        return f"{ev['term']} {ev['share']:.0%}{views}"
    return f"{ev['term']} {ev['weight']:+.2f}"


def examples_html(examples: dict) -> str:
    parts = []
    for key, title in (("false_positives", "Worst false positives (not risky, highest scores)"),
                       ("false_negatives", "Worst false negatives (risky, lowest scores)")):
        rows = [[td(x["p"]), f'<td class="text">{highlight(x["text"], x["evidence"])}</td>',
                 td(", ".join(evidence_label(ev) for ev in x["evidence"]))]
                for x in examples.get(key, [])]
        parts.append(f"<h3>{e(title)}</h3>" + (table(["score", "text (evidence marked)", "evidence: word, share of the score"], rows)
                                              if rows else "<p>none</p>"))
    return "".join(parts)


def section_html(ev) -> str:
    m = ev.metrics
    img = figure_png(ev.y, ev.p, ev.threshold, ev.p_uncal)
    pos = int(np.sum(ev.y))
    return "".join([
        f"<h2>{e(ev.risk)} — {e(ev.name)}</h2>",
        f'<p class="small">model {e(ev.model)}; {len(ev.y)} rows, {pos} risky ({pos / max(len(ev.y), 1):.1%}).</p>',
        '<div class="row"><div>', metrics_html(m), "</div><div><h3>Confusion matrix</h3>",
        confusion_html(m["confusion"]), "</div></div>",
        f'<img alt="PR, ROC and reliability of {e(ev.risk)} on {e(ev.name)}" src="data:image/png;base64,{img}">',
        "<h3>Thresholds</h3>", thresholds_html(m),
        robustness_html(m["robustness"]) if "robustness" in m else "",
        compare_html(m["compare"]) if "compare" in m else "",
        examples_html(ev.examples),
    ])


def markdown_html(md: str) -> str:
    """A markdown table and its notes (as `training.evaluation.benchmark.markdown_table` writes them), escaped."""
    lines = md.splitlines()
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines
            if ln.startswith("|") and not ln.startswith("|---")]
    notes = "".join(f'<p class="small">{e(ln)}</p>' for ln in lines if ln.strip() and not ln.startswith("|"))
    return (table(rows[0], [[td(c) for c in r] for r in rows[1:]]) if rows else "") + notes


def render(evaluations: list, title: str, meta: dict | None = None, preface: str = "") -> str:
    """The whole page. `preface` is trusted HTML built by the caller from escaped parts."""
    meta = dict(meta or {}) | {"generated": time.strftime("%Y-%m-%d %H:%M:%S")}
    info = table(["", ""], [[td(k), td(str(v))] for k, v in meta.items()])
    body = "".join(section_html(ev) for ev in evaluations)
    return (f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{e(title)}</h1>{info}{preface}{body}</body></html>")


def write_report(path: str | Path, evaluations: list, title: str, meta: dict | None = None, preface: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(evaluations, title, meta, preface), encoding="utf-8")
    return path
