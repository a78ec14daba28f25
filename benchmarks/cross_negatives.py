"""How should a source's rows count for the risks it does not annotate? Trains the fast
recipe with several `data.cross_negative_weight` values and reports, per risk, test
macro-F1 on its own source and the flag rate on real unlabeled comments (CHNCI), where
almost nothing should be flagged as a news rumor or SMS-style spam.

    python benchmarks/cross_negatives.py --weights 0 0.1 0.3 --out results/cross_negatives.json
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from detector.model.core import Detector
from training.recipe import load_recipe
from training.data.sources import default_root, read_jsonl
from training.trainers.fast import train_fast


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/fast.toml")
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.1, 0.3])
    ap.add_argument("--set", nargs="*", default=[], help="recipe overrides for every run")
    ap.add_argument("--unlabeled", type=int, default=5000)
    ap.add_argument("--out", default="results/cross_negatives.json")
    args = ap.parse_args()
    rows = read_jsonl(default_root() / "unlabeled_posts" / "chnci_comments.jsonl")
    texts = [r["text"] for r in random.Random(0).sample(rows, args.unlabeled)]
    results = {}
    for w in args.weights:
        recipe = load_recipe(args.config, args.set + [f"data.cross_negative_weight={w}"])
        with tempfile.TemporaryDirectory() as tmp:
            det = train_fast(recipe, Path(tmp) / "m", log=lambda m: None)
            metrics = json.loads((Path(tmp) / "m" / "metrics.json").read_text())
            flags = [r["flags"] for r in det.score(texts, evidence=False)]
        results[str(w)] = {r: {"test_macro_f1": round(metrics["test"][r]["macro_f1"], 4),
                               "chnci_flag_rate": round(sum(r in f for f in flags) / len(flags), 4)}
                           for r in det.labels}
        print(w, json.dumps(results[str(w)], ensure_ascii=False))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
