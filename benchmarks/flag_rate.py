"""What a model does to a real crawl: the share of 20,000 random real comments it flags per risk,
and a fixed random sample of its flagged posts to read by eye.

Comments are drawn at random (fixed seed) over every line of the CHNCI file. (Leaving out the
comments the team annotated, as the retrain scenario's crawl does, is no random sample any more:
11,800 of them were chosen because a model scored them high, and without them the default's
harassment flag rate reads 0.6% instead of 2.9%.)

    python benchmarks/flag_rate.py --model models/default --out results/flag_rate.json
    python benchmarks/flag_rate.py --model runs/old --model models/default --read 30
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def crawl_sample(n: int, seed: int, annotated: bool = True) -> list[dict]:
    """n comments drawn at random over the whole file; `annotated` False leaves out the comments
    the team annotated (a crawl whose reviews cannot collide with training labels, but not a random
    sample of the file: many of them were chosen for their high scores)."""
    from training.data.sources import default_root, load_source

    if annotated:
        with open(default_root() / "unlabeled_posts" / "chnci_comments.jsonl", encoding="utf-8") as f:
            rows = [{"id": r["id"], "text": r["text"]} for r in map(json.loads, f)]
    else:
        rows = []
        for split in ("train", "dev", "test"):  # the chnci source: every comment the team did not annotate
            ds = load_source("chnci", split)
            rows += [{"id": i, "text": t} for i, t in zip(ds["id"], ds["text"])]
    rows.sort(key=lambda r: r["id"])
    return random.Random(seed).sample(rows, min(n, len(rows)))


def flags_and_rates(det, texts: list[str]) -> tuple[np.ndarray, np.ndarray, dict]:
    """A model's probabilities and flags on the texts, and its flag rate per risk."""
    p = det.predict_proba(texts)
    flags = p >= np.array([det.thresholds[r] for r in det.labels])
    return p, flags, {r: round(float(flags[:, j].mean()), 4) for j, r in enumerate(det.labels)}


def main() -> None:
    from detector.model.core import Detector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--read", type=int, default=30, help="flagged posts to print for reading (random, fixed seed)")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    posts = crawl_sample(a.n, a.seed)
    texts = [p["text"] for p in posts]
    res = []
    for m in a.model:
        det = Detector.from_pretrained(m)
        p, flags, rates = flags_and_rates(det, texts)
        flagged = np.flatnonzero(flags.any(1))
        picked = sorted(random.Random(a.seed).sample(list(flagged), min(a.read, len(flagged))))
        read = [{"id": posts[i]["id"], "text": texts[i], "flags": [r for j, r in enumerate(det.labels) if flags[i, j]],
                 "scores": {r: round(float(p[i, j]), 3) for j, r in enumerate(det.labels)}} for i in picked]
        res.append({"model": m, "model_id": det.model_id, "n": len(texts), "flag_rate": rates,
                    "any_flag": round(float(flags.any(1).mean()), 4), "read": read})
        print(f"{m} ({det.model_id}) on {len(texts)} random real comments: "
              + ", ".join(f"{r} {100 * v:.2f}%" for r, v in rates.items()) + f"; any {100 * res[-1]['any_flag']:.2f}%")
        for r in read:
            print(f"   {','.join(r['flags']):24s} {r['text'][:70]!r}")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
