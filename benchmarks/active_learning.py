"""How fast does a team adapt the model to its own platform with reviews? Learning curves of the
three `review import --sample` strategies.

A new user's model is simulated by the default recipe without the team's real comments in
training (their dev rows still set thresholds). Its "crawl" is the pool of team-labeled real
comments drawn at random (the `real` train split's random rows); each strategy picks N of them
from the model's scores, the team's labels stand in for the reviewers' decisions, the reviewed
rows join training (as `jingwang retrain` adds them) and the model is refitted; precision and
recall are then read on the team's eval sample (1,000 random comments, never trained on).

    python benchmarks/active_learning.py --sizes 100 200 400 --out results/active_learning.json \
        --plot docs/active_learning.png

Features are fitted once on the base training rows (a real retrain refits them with the reviews
too); only the classifiers, calibrators and thresholds are refitted per point.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RISKS = ("rumor", "paid_posting", "harassment")


def base_recipe(path: Path) -> dict:
    from training.recipe import read_toml

    recipe = read_toml(path)
    recipe["data"].setdefault("mask", {})["real"] = list(RISKS)  # not trained on: what a new user's model has not seen
    return recipe


def fit(recipe, X, splits, extra_X=None, extra_y=None) -> dict:
    from training.trainers.fast import train_risk

    if extra_X is not None and len(extra_y):
        splits = dict(splits, train=splits["train"].extend([""] * len(extra_y), extra_y, "reviewed"))
        X = dict(X, train=sp.vstack([X["train"], extra_X]).tocsr())
    seed = int(recipe["model"].get("seed", 13))
    return {r: train_risk(j, r, X, splits, recipe, seed) for j, r in enumerate(RISKS)}


def predict(parts: dict, X, texts: list[str]) -> np.ndarray:
    from detector.scorers.calibration import sigmoid  # noqa: F401  (calibrators are callables)
    from detector.text.content import content_mask

    mask = content_mask(texts, list(RISKS))
    return np.stack([parts[r]["cal"](np.asarray(X @ parts[r]["coef"]).ravel() + parts[r]["intercept"]) * mask[:, j]
                     for j, r in enumerate(RISKS)], 1)


def measure(p: np.ndarray, y: np.ndarray, thresholds: dict) -> dict:
    out = {}
    flags_all = right_all = 0
    for j, r in enumerate(RISKS):
        f = p[:, j] >= thresholds[r]
        tp = int((f & (y[:, j] == 1)).sum())
        flags_all += int(f.sum())
        right_all += tp
        out[r] = {"flags": int(f.sum()), "correct": tp, "precision": tp / f.sum() if f.sum() else None,
                  "recall": tp / (y[:, j] == 1).sum() if (y[:, j] == 1).sum() else None}
    out["all"] = {"flags": flags_all, "correct": right_all, "precision": right_all / flags_all if flags_all else None,
                  "false_flags_per_1000": 1000 * (flags_all - right_all) / len(y)}
    return out


def main() -> None:
    from detector.text.cleaning import clean
    from detector.review.sampling import select
    from training.data.sources import load_source, team_labels, load_specs
    from training.trainers.fast import featurize, load_splits

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path("configs/fast.toml"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400])
    ap.add_argument("--strategies", nargs="+", default=["uncertain", "diverse", "random"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--plot", type=Path, default=None)
    a = ap.parse_args()
    t0 = time.time()
    recipe = base_recipe(a.config)
    splits = load_splits(recipe, list(RISKS))
    feat, X, _ = featurize(recipe, splits)
    random_ids = {r["id"] for r in team_labels(load_specs()["real"]) if r.get("selected_by") in (None, "random")}
    pool_ds = load_source("real", "train")
    keep = [i for i, rid in enumerate(pool_ds["id"]) if rid in random_ids]
    pool_text = [pool_ds["text"][i] for i in keep]
    pool_clean = [clean(t).text for t in pool_text]
    pool_y = np.array([[pool_ds[r][i] for r in RISKS] for i in keep], float)
    pool_X = feat.transform(pool_clean)
    ev = load_source("real", "eval")
    ev_clean = [clean(t).text for t in ev["text"]]
    ev_X, ev_y = feat.transform(ev_clean), np.array([[ev[r][i] for r in RISKS] for i in range(len(ev))], float)
    print(f"pool {len(keep)} random labeled comments, eval {len(ev)} ({time.time() - t0:.0f}s)", flush=True)

    base = fit(recipe, X, splits)
    thr = {r: base[r]["threshold"] for r in RISKS}
    p_pool = predict(base, pool_X, pool_clean)
    records = [{"id": str(i), "text": t, "scores": {r: float(p_pool[i, j]) for j, r in enumerate(RISKS)},
                "flags": [r for j, r in enumerate(RISKS) if p_pool[i, j] >= thr[r]]} for i, t in enumerate(pool_text)]
    res = {"pool": len(keep), "eval": len(ev), "base": measure(predict(base, ev_X, ev_clean), ev_y, thr), "curves": {}}
    print("base", json.dumps(res["base"]["harassment"]), json.dumps(res["base"]["all"]), flush=True)
    for s in a.strategies:
        res["curves"][s] = {}
        for n in a.sizes:
            idx = select(records, s, n, seed=a.seed, thresholds=thr)
            parts = fit(recipe, X, splits, pool_X[idx], pool_y[idx])
            m = measure(predict(parts, ev_X, ev_clean), ev_y, {r: parts[r]["threshold"] for r in RISKS})
            m["reviewed_positives"] = {r: int(pool_y[idx, j].sum()) for j, r in enumerate(RISKS)}
            res["curves"][s][n] = m
            print(s, n, json.dumps(m["harassment"]), json.dumps(m["all"]), f"({time.time() - t0:.0f}s)", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    if a.plot:
        plot(res, a.plot)


def plot(res: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    panels = [("harassment", "precision"), ("harassment", "recall"), ("all", "precision")]
    for ax, (risk, key) in zip(axes, panels):
        for s, curve in res["curves"].items():
            xs = [0] + [int(n) for n in curve]
            ys = [res["base"][risk][key]] + [curve[n][risk][key] for n in curve]
            ax.plot(xs, [np.nan if v is None else v for v in ys], marker="o", label=s)
        ax.set_title(f"{'all flags' if risk == 'all' else risk}: {key} on the eval sample")
        ax.set_xlabel("reviews added")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
