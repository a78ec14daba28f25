"""The retrain gate: may a challenger replace the current model? Four kinds of evidence, each a
row in the report, each able to refuse with its reason:

- `fixed`: each risk's own benchmark test set per source: challenger macro-F1 >= current
  macro-F1 - tolerance[risk].
- `real`: the team's annotated real comments (dev rows): false flags per 1,000 posts may rise by
  at most `false_flags_tolerance`.
- `heldout`: the held-out slice of the user's own reviews: flag precision may fall by at most
  `precision_tolerance` (decides once both models flag at least `min_flags` of them).
- `crawl`: the posts the reviews came from: for a risk whose flags reviewers mostly rejected (more
  than `rejected_share` of at least `min_rejected_flags` flags of the current model), the
  challenger may not flag a larger share of the crawl (beyond `flag_rate_tolerance`).

A set smaller than `min_n`, or with one class only, is reported but does not decide.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.model.core import Detector
from training.data.sources import load_source, load_specs
from training.evaluation.metrics import binary_metrics
from training.recipe import FastRecipe, RetrainConfig, risk_value

HELDOUT = "reviewed-heldout"
REAL = "real"
NAMES = {"macro_f1": "macro-F1", "false_flags_per_1000": "false flags per 1,000 posts", "precision": "flag precision",
         "flag_rate": "flag rate"}


@dataclass
class EvalSet:
    risk: str
    name: str
    texts: list[str]
    y: np.ndarray
    kind: str = "fixed"  # fixed | real | heldout


def eval_sets(recipe: FastRecipe, labels: list[str], heldout: list, root=None) -> list[EvalSet]:
    """Each risk's own test set per source, the team's real-comment dev rows (when that source is
    configured) and the held-out reviews; raw texts, each model cleans them itself."""
    specs = load_specs()
    data, sets = recipe.data, []
    real = None
    if REAL in specs and (specs[REAL].folder(root) / next(iter(specs[REAL].splits.values()))).is_file():
        real = load_source(REAL, "dev", root=root, specs=specs, labels=tuple(labels))
    for risk in labels:
        for name in data.sources:
            if specs[name].risk != risk:
                continue
            ds = load_source(name, data.test_split, root=root, specs=specs, labels=tuple(labels))
            sets.append(EvalSet(risk, name, list(ds["text"]), np.array(ds[risk], int)))
        if real is not None:
            sets.append(EvalSet(risk, "real comments (team dev)", list(real["text"]), np.array(real[risk], int), "real"))
        held = [s for s in heldout if risk in s.labels]
        sets.append(EvalSet(risk, HELDOUT, [s.text for s in held], np.array([s.labels[risk] for s in held], int),
                            "heldout"))
    return sets


def evaluate_on(det: Detector, sets: list[EvalSet]) -> list[dict | None]:
    texts = list(dict.fromkeys(t for s in sets for t in s.texts))
    index = {t: i for i, t in enumerate(texts)}
    proba = det.predict_proba(texts) if texts else np.zeros((0, len(det.labels)))
    out = []
    for s in sets:
        if s.risk not in det.labels or not len(s.y):
            out.append(None)
            continue
        p = proba[[index[t] for t in s.texts], det.labels.index(s.risk)]
        out.append(binary_metrics(s.y, p, det.thresholds[s.risk]))
    return out


def _row(s: EvalSet, cur: dict | None, ch: dict | None, cfg: RetrainConfig, has_current: bool) -> dict:
    pc = cfg.promotion
    metric, better = {"fixed": ("macro_f1", 1), "real": ("false_flags_per_1000", -1),
                      "heldout": ("precision", 1)}[s.kind]
    tol = {"fixed": float(risk_value(pc, "tolerance", s.risk)), "real": pc.false_flags_tolerance,
           "heldout": pc.precision_tolerance}[s.kind]
    both = len(np.unique(s.y)) == 2
    note = ("no current model" if not has_current else "empty" if not len(s.y) else
            f"too small to decide (n < {pc.min_n})" if len(s.y) < pc.min_n else
            "one class only" if not both and s.kind != "real" else "not scored" if cur is None or ch is None else "")
    if not note and s.kind == "heldout" and min(cur["flags"], ch["flags"]) < pc.min_flags:
        note = f"fewer than {pc.min_flags} flags to judge precision"
    gates = not note
    row = {"risk": s.risk, "set": s.name, "kind": s.kind, "metric": metric, "n": int(len(s.y)),
           "positives": int(s.y.sum()) if len(s.y) else 0,
           "current": None if cur is None else round(cur[metric], 4),
           "challenger": None if ch is None else round(ch[metric], 4),
           "delta": None if cur is None or ch is None else round(ch[metric] - cur[metric], 4),
           "tolerance": tol, "gates": gates, "note": note}
    row["ok"] = None if not gates else bool(better * (ch[metric] - cur[metric]) >= -tol - 1e-12)
    return row


def compare(sets: list[EvalSet], current: list[dict | None] | None, challenger: list[dict | None],
            cfg: RetrainConfig) -> tuple[list[dict], bool, str]:
    """The comparison rows of the fixed, real and held-out sets and the decision: (rows, promote?, why)."""
    rows = [_row(s, current[k] if current is not None else None, challenger[k], cfg, current is not None)
            for k, s in enumerate(sets)]
    if current is None:
        return rows, True, "there is no current model to compare with"
    deciding = [r for r in rows if r["gates"]]
    if not deciding:
        return rows, False, "no evaluation set is large enough to decide; kept the current model"
    worse = [r for r in deciding if not r["ok"]]
    if worse:
        return rows, False, "the challenger is worse beyond the tolerance: " + "; ".join(map(describe, worse))
    low = min((r for r in deciding if r["kind"] == "fixed"), key=lambda r: r["delta"], default=deciding[0])
    return rows, True, (f"not worse beyond the tolerance on any risk ({len(deciding)} sets; smallest change "
                        f"{low['delta']:+.4f} on {low['risk']}/{low['set']} ({NAMES[low['metric']]}), tolerance "
                        f"{low['tolerance']})")


def describe(r: dict) -> str:
    if r["kind"] == "crawl":
        return r["why"]
    return (f"{r['risk']} on {r['set']}: {NAMES[r['metric']]} {r['current']:.4f} -> {r['challenger']:.4f} "
            f"({r['delta']:+.4f}, tolerance {r['tolerance']})")


def crawl_rows(current: Detector, challenger: Detector, reviewed: list, crawl: list[str],
               cfg: RetrainConfig) -> list[dict]:
    """Per risk: how many of the current model's flags on reviewed posts reviewers rejected, and the
    share of the crawl each model flags; a risk whose flags were mostly rejected decides."""
    pc = cfg.promotion
    rows = []
    if not crawl:
        return rows
    p_cur, p_ch = current.predict_proba(crawl), challenger.predict_proba(crawl)
    p_rev = current.predict_proba([s.text for s in reviewed]) if reviewed else None
    for risk in current.labels:
        if risk not in challenger.labels:
            continue
        j, k = current.labels.index(risk), challenger.labels.index(risk)
        judged = [(i, s.labels[risk]) for i, s in enumerate(reviewed) if risk in s.labels]
        flagged = [lab for i, lab in judged if p_rev is not None and p_rev[i, j] >= current.thresholds[risk]]
        rejected = sum(1 for lab in flagged if lab == 0)
        rate_cur = float((p_cur[:, j] >= current.thresholds[risk]).mean())
        rate_ch = float((p_ch[:, k] >= challenger.thresholds[risk]).mean())
        mostly = len(flagged) >= pc.min_rejected_flags and rejected > pc.rejected_share * len(flagged)
        ok = rate_ch <= rate_cur + pc.flag_rate_tolerance + 1e-12
        why = (f"{risk}: reviewers rejected {rejected} of the current model's {len(flagged)} {risk} flags, and the "
               f"challenger flags more of the crawl ({100 * rate_cur:.1f}% -> {100 * rate_ch:.1f}% of {len(crawl)} posts)")
        rows.append({"risk": risk, "set": f"crawl ({len(crawl)} posts)", "kind": "crawl", "metric": "flag_rate",
                     "n": len(crawl), "positives": None, "current": round(rate_cur, 4), "challenger": round(rate_ch, 4),
                     "delta": round(rate_ch - rate_cur, 4), "tolerance": pc.flag_rate_tolerance,
                     "flags_reviewed": len(flagged), "flags_rejected": rejected, "gates": mostly,
                     "ok": (ok if mostly else None), "why": why,
                     "note": "" if mostly else f"reviewers did not mostly reject {risk} flags "
                                               f"({rejected} of {len(flagged)})"})
    return rows
