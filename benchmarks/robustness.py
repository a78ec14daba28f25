"""Recall on evasive rewrites against recall on the plain posts, per risk and perturbation,
and the share of the posts flagged in plain form that are still flagged after the rewrite.

Positives of each test set are rewritten (training/datagen/perturb.py) and scored at the model's
thresholds. Goal (issue 4): recall on rewrites within 3 points of the plain recall for the
evasions the cleaner undoes (traditional, split, emoji, zero-width, homoglyph).

    python benchmarks/robustness.py --model models/default --out results/robustness.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from detector.model.core import Detector
from training.data.sources import load_source
from training.datagen.perturb import PERTURBATIONS, perturb

SETS = {"harassment": ("cold", "test"), "rumor": ("weibo21", "test"), "paid_posting": ("paid_team", "test")}


def flagged(det: Detector, texts: list[str], risk: str) -> np.ndarray:
    return det.predict_proba(texts)[:, det.labels.index(risk)] >= det.thresholds[risk]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--max", type=int, default=1000, help="positives per set")
    ap.add_argument("--out", default="results/robustness.json")
    args = ap.parse_args()
    det = Detector.from_pretrained(args.model)
    results = {}
    for risk, (source, split) in SETS.items():
        ds = load_source(source, split)
        texts = [t for t, y in zip(ds["text"], ds[risk]) if y == 1][: args.max]
        plain = flagged(det, texts, risk)
        row, kept = {"plain": float(plain.mean()), "n": len(texts)}, {"n": int(plain.sum())}
        for kind in PERTURBATIONS:
            hit = flagged(det, perturb(texts, kind, seed=0), risk)
            row[kind] = float(hit.mean())
            kept[kind] = float(hit[plain].mean()) if plain.any() else float("nan")
        results[risk] = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
        results[risk]["flagged_kept"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in kept.items()}
        print(risk, json.dumps(results[risk]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"model": args.model, "recall": results}, indent=2), encoding="utf-8")
    kinds = ["plain", *PERTURBATIONS]
    print("| risk | n | " + " | ".join(kinds) + " |\n|" + "---|" * (len(kinds) + 2))
    for risk, row in results.items():
        print(f"| {risk} | {row['n']} | " + " | ".join(f"{row[k]:.3f}" for k in kinds) + " |")
    print("\nShare of the plain-flagged positives still flagged after each rewrite:")
    print("| risk | flagged | " + " | ".join(PERTURBATIONS) + " |\n|" + "---|" * (len(PERTURBATIONS) + 2))
    for risk, row in results.items():
        kept = row["flagged_kept"]
        print(f"| {risk} | {kept['n']} | " + " | ".join(f"{kept[k]:.3f}" for k in PERTURBATIONS) + " |")


if __name__ == "__main__":
    main()
