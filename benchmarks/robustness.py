"""Recall on evasive rewrites against recall on the plain posts, per risk and perturbation.

Positives of each test set are rewritten (training/perturb.py) and scored at the model's
thresholds. Goal (issue 4): recall on rewrites within 3 points of the plain recall for the
evasions the cleaner undoes (traditional, split, emoji, zero-width, homoglyph).

    python benchmarks/robustness.py --model models/default --out results/robustness.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from detector.detector import Detector
from training.data import load_source
from training.perturb import PERTURBATIONS, perturb

SETS = {"harassment": ("cold", "test"), "rumor": ("weibo21", "test"), "paid_posting": ("paid_team", "test")}


def recall(det: Detector, texts: list[str], risk: str) -> float:
    p = det.predict_proba(texts)[:, det.labels.index(risk)]
    return float(np.mean(p >= det.thresholds[risk]))


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
        row = {"plain": recall(det, texts, risk), "n": len(texts)}
        for kind in PERTURBATIONS:
            row[kind] = recall(det, perturb(texts, kind, seed=0), risk)
        results[risk] = {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
        print(risk, json.dumps(results[risk]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"model": args.model, "recall": results}, indent=2), encoding="utf-8")
    kinds = ["plain", *PERTURBATIONS]
    print("| risk | n | " + " | ".join(kinds) + " |\n|" + "---|" * (len(kinds) + 2))
    for risk, row in results.items():
        print(f"| {risk} | {row['n']} | " + " | ".join(f"{row[k]:.3f}" for k in kinds) + " |")


if __name__ == "__main__":
    main()
