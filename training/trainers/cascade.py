"""Choose the cascade's uncertain band on dev data (`jingwang model cascade`).

Per risk, a band [lo, hi) around the fast model's threshold: posts whose fast score for some
risk is inside its band are scored by the second model. The reference is the second model on
every post; each risk may lose at most `max_loss` (e.g. 0.003 = 0.3 point) of dev macro-F1 against
it. Among the bands that keep every risk within that, the one sending the smallest share of
posts to the second model is taken (measured on `--traffic`, real unlabeled posts, when given,
since the mix of dev sources is not the mix of a crawl; else on the dev texts).

Search: per risk, candidate bands take a fraction of the dev rows just below and just above the
threshold (15 x 15 candidates); each risk gets its cheapest feasible band alone; then, while
the combined routing (any risk in band) breaks a risk, that risk moves to its next candidate.
"""
from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

import numpy as np

from detector.model.cascade import CASCADE, TOP, in_band
from detector.model.core import Detector
from detector.model.flagging import DECIMALS
from training.data.splits import load_split
from training.evaluation.metrics import f1_from_counts
from training.recipe import risk_sources

FRACTIONS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)
TRAFFIC_ROWS = 20_000


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    y, pred = y.astype(bool), pred.astype(bool)
    tp, fp, fn = (y & pred).sum(), (~y & pred).sum(), (y & ~pred).sum()
    tn = len(y) - tp - fp - fn
    return float((f1_from_counts(tp, fp, fn) + f1_from_counts(tn, fn, fp)) / 2)


def band_candidates(p: np.ndarray, t: float) -> list[tuple[float, float] | None]:
    """Bands [lo, hi) containing the threshold t, taking FRACTIONS of the scores below / above."""
    below, above = np.sort(p[p < t])[::-1], np.sort(p[p >= t])
    los = sorted({0.0 if f == 1.0 else (float(below[int(np.ceil(f * len(below))) - 1]) if f else t)
                  for f in FRACTIONS if f == 0 or len(below)}, reverse=True)
    his = sorted({TOP if f == 1.0 else (float(np.nextafter(above[int(np.ceil(f * len(above))) - 1], 2)) if f else t)
                  for f in FRACTIONS if f == 0 or len(above)})
    return [None if lo >= hi else (lo, hi) for lo, hi in itertools.product(los, his)]


def cascade_f1(j: int, y: np.ndarray, p1: np.ndarray, p2: np.ndarray, t1: float, t2: float,
               routed: np.ndarray) -> float:
    m = ~np.isnan(y[:, j])
    pred = np.where(routed, p2[:, j] >= t2, p1[:, j] >= t1)
    return macro_f1(y[m, j], pred[m])


def share(p: np.ndarray, j: int, band) -> float:
    return float(_route(p, j, band).mean()) if len(p) else 0.0


def choose_band(p1: np.ndarray, p2: np.ndarray, y: np.ndarray, t1: dict, t2: dict, labels: list[str],
                max_loss: float = 0.003, p_traffic: np.ndarray | None = None, max_rounds: int = 200,
                reach_top: bool = False) -> tuple[dict, dict]:
    """(band per risk, report). p1 / p2: fast / second probabilities (columns = labels) of the
    dev texts; y: labels (NaN = not annotated); t1 / t2: thresholds; p_traffic: fast
    probabilities of the posts whose routed share is minimised (default: the dev texts).
    `reach_top`: only bands that run to the top (every fast flag re-checked, `recheck`), so the
    re-check is held to `max_loss` too."""
    p_traffic = p1 if p_traffic is None else p_traffic
    ref = {r: cascade_f1(j, y, p1, p2, t1[r], t2[r], np.ones(len(y), bool)) for j, r in enumerate(labels)}
    options, pick = {}, {}
    for j, r in enumerate(labels):
        feasible = [b for b in band_candidates(p1[~np.isnan(y[:, j]), j], t1[r])
                    if (not reach_top or (b is not None and b[1] == TOP))
                    and cascade_f1(j, y, p1, p2, t1[r], t2[r], _route(p1, j, b)) >= ref[r] - max_loss]
        options[r] = sorted(feasible, key=lambda b: (share(p_traffic, j, b), share(p1, j, b)))
        pick[r] = 0
    band = {}
    for _ in range(max_rounds):
        band = {r: options[r][pick[r]] for r in labels}
        routed = in_band(p1, labels, band)
        broken = [r for j, r in enumerate(labels)
                  if cascade_f1(j, y, p1, p2, t1[r], t2[r], routed) < ref[r] - max_loss and pick[r] + 1 < len(options[r])]
        if not broken:
            break
        for r in broken:
            pick[r] += 1
    return band, band_report(band, p1, p2, y, t1, t2, labels, ref, p_traffic)


def recheck(band: dict, thresholds: dict) -> dict:
    """Each risk's band stretched to the top, so every post the fast model would flag (its score,
    rounded as flags are, at or over the threshold) is scored again by the second model."""
    out = {}
    for r, b in band.items():
        lo = thresholds[r] - 0.5 * 10.0 ** -DECIMALS   # shown(p) >= t  <=>  p >= t - half a step
        out[r] = (min(b[0], lo) if b else lo, TOP)
    return out


def _route(p1: np.ndarray, j: int, band) -> np.ndarray:
    if band is None:
        return np.zeros(len(p1), bool)
    return (p1[:, j] >= band[0]) & (p1[:, j] < band[1])


def band_report(band: dict, p1, p2, y, t1, t2, labels, ref: dict, p_traffic) -> dict:
    routed = in_band(p1, labels, band)
    report = {"routed_share": float(routed.mean()) if len(routed) else 0.0,
              "routed_share_traffic": float(in_band(p_traffic, labels, band).mean()) if len(p_traffic) else 0.0,
              "macro_f1": {}}
    for j, r in enumerate(labels):
        report["macro_f1"][r] = {
            "second": round(ref[r], 4),
            "fast": round(cascade_f1(j, y, p1, p2, t1[r], t2[r], np.zeros(len(y), bool)), 4),
            "cascade": round(cascade_f1(j, y, p1, p2, t1[r], t2[r], routed), 4)}
    return report


def read_texts(path: Path, n: int = TRAFFIC_ROWS, seed: int = 13) -> list[str]:
    """A random sample (fixed seed) of `n` texts over the whole file: crawls are often ordered (by
    incident, by time), so its first lines are not a sample of its traffic. Rows without a text
    are skipped; a line that is not JSON is an error naming it."""
    texts = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{i}: not a JSON line ({e.msg}); the traffic file is JSONL with a `text` field") from None
            t = row.get("text") if isinstance(row, dict) else None
            if isinstance(t, str) and t.strip():
                texts.append(t)
    return random.Random(seed).sample(texts, n) if len(texts) > n else texts


def dev_probabilities(first: Detector, second: Detector, split: str, root=None, subset: int = 0,
                      select: dict | list | None = None):
    """Dev texts, labels, both members' probabilities and the sources. `select` (per risk or once:
    source names) keeps each risk's labels on those sources' rows only (NaN elsewhere), so the
    band is judged on the posts the thresholds were made for."""
    recipe = second.config.get("recipe") or first.config.get("recipe") or {}
    sources = list(recipe.get("data", {}).get("sources") or ["cold", "weibo21", "sms_spam"])
    named = select.values() if isinstance(select, dict) else [select or []]
    sources += [s for keep in named for s in keep or [] if s not in sources]   # rows the band is judged on
    rows = load_split(sources, split, first.labels, root, evasion=None, subset=subset)
    texts, y = rows.texts, select_rows(rows.y, np.asarray(rows.source), first.labels, select)
    cols = [second.labels.index(r) for r in first.labels]
    return texts, y, first.predict_proba(texts), second.predict_proba(texts)[:, cols], sources


def select_rows(y: np.ndarray, source: np.ndarray, labels: list[str], select: dict | list | None) -> np.ndarray:
    """`y` with each risk's labels outside its selected sources set to NaN (None = all kept). A
    risk left with no labeled row is an error naming it."""
    if not select:
        return y
    y = y.astype(float).copy()
    for j, risk in enumerate(labels):
        keep = risk_sources(select, risk)
        if keep is None:
            continue
        y[~np.isin(source, list(keep)), j] = np.nan
        if np.isnan(y[:, j]).all():
            raise ValueError(f"band.sources: no dev rows of {', '.join(keep)} annotate {risk!r}")
    return y


def build_cascade(fast: str | Path, second: str | Path, out: str | Path, max_loss: float = 0.003,
                  traffic: str | Path | None = None, subset: int = 0, split: str = "dev", root=None,
                  log=print, select: dict | list | None = None, recheck_flags: bool = False) -> dict:
    """Choose the band on `split` (each risk judged on its `select` sources' rows) and write
    OUT/cascade.json; returns what was measured."""
    first, sec = Detector.from_pretrained(fast), Detector.from_pretrained(second)
    texts, y, p1, p2, sources = dev_probabilities(first, sec, split, root, subset, select)
    log(f"{split}: {len(texts)} labeled texts from {', '.join(sources)}")
    p_traffic = first.predict_proba(read_texts(Path(traffic))) if traffic else None
    band, report = choose_band(p1, p2, y, first.thresholds, sec.thresholds, first.labels, max_loss, p_traffic,
                               reach_top=recheck_flags)
    if recheck_flags:
        band = recheck(band, first.thresholds)
        ref = {r: m["second"] for r, m in report["macro_f1"].items()}
        report = band_report(band, p1, p2, y, first.thresholds, sec.thresholds, first.labels, ref,
                             p1 if p_traffic is None else p_traffic)
    for r, m in report["macro_f1"].items():
        log(f"{r}: band {band[r]}  macro-F1 fast {m['fast']:.4f}  second {m['second']:.4f}  cascade {m['cascade']:.4f}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    second_ref = os.path.relpath(os.path.abspath(second), os.path.abspath(out))
    cfg = {"first": first.model_id, "second": second_ref, "band": {r: (list(b) if b else None) for r, b in band.items()},
           "max_loss": max_loss, "recheck_flags": recheck_flags, "chosen_on": {"split": split, "sources": sources, "n": len(texts), "select": select,
                                               "traffic": str(traffic) if traffic else None}, "dev": report}
    (out / CASCADE).write_text(json.dumps(cfg, indent=2, ensure_ascii=False), encoding="utf-8")
    return {"band": band, **report}
