"""Scores unchanged by a refactor of the fast scorer (issue 14): save the scores of a model on a
fixed random sample of real comments before the change, compare after it.

    python benchmarks/refactor_check.py save    --out results/refactor_before.npz   # before
    python benchmarks/refactor_check.py compare --before results/refactor_before.npz # after

The sample is random.Random(seed).sample over every line of the comments file (10,000 by
default). Saved: the unrounded calibrated probabilities (Detector.predict_proba) and the flags
of Detector.score. `compare` prints the largest absolute difference per risk and the posts
whose flags changed; it exits 1 when max |dp| > --tol (1e-6) or any flag differs.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from detector.model.core import Detector  # noqa: E402

COMMENTS = Path("/work/shared/datasets/unlabeled_posts/chnci_comments.jsonl")


def sample_texts(path: Path, n: int, seed: int) -> list[str]:
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    picked = random.Random(seed).sample(range(len(lines)), min(n, len(lines)))
    return [json.loads(lines[i])["text"] for i in picked]


def run_model(model: str, texts: list[str], batch: int = 1000) -> tuple[np.ndarray, list[list[str]], float]:
    """Probabilities (Detector.predict_proba; where the scorer featurizes a batch once for scores
    and evidence, that path's too, as a second array) and the flags of Detector.score."""
    det = Detector.from_pretrained(model)
    t0 = time.perf_counter()
    proba, flags, one_pass = [], [], []
    for i in range(0, len(texts), batch):
        chunk = texts[i:i + batch]
        proba.append(det.predict_proba(chunk).astype(np.float64))
        flags.extend(r["flags"] for r in det.score(chunk, evidence=True))
        if hasattr(det.scorer, "analyze"):
            cleaned = det.clean(chunk)
            one_pass.append(det.gate(det.scorer.batch_proba(det.scorer.analyze(cleaned)), cleaned))
    proba = np.concatenate(proba)
    if one_pass:
        proba = np.stack([proba, np.concatenate(one_pass).astype(np.float64)])
    return proba, flags, time.perf_counter() - t0


def save(args) -> int:
    texts = sample_texts(Path(args.input), args.n, args.seed)
    proba, flags, secs = run_model(args.model, texts)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, proba=proba, flags=np.array(json.dumps(flags)),
             meta=np.array(json.dumps({"model": args.model, "n": len(texts), "seed": args.seed,
                                       "input": str(args.input)})))
    print(f"saved {len(texts)} posts' scores to {args.out} ({secs:.1f} s scoring with evidence)")
    return 0


def compare(args) -> int:
    ref = np.load(args.before)
    meta = json.loads(str(ref["meta"]))
    texts = sample_texts(Path(meta["input"]), meta["n"], meta["seed"])
    proba, flags, secs = run_model(args.model or meta["model"], texts)
    det_labels = Detector.read_config(args.model or meta["model"])[1]["labels"]
    diff = np.abs(proba - ref["proba"]).reshape(-1, len(det_labels))  # both paths where there are two
    old_flags = json.loads(str(ref["flags"]))
    changed = [i for i, (a, b) in enumerate(zip(old_flags, flags)) if a != b]
    print(f"{len(texts)} posts (seed {meta['seed']}), {secs:.1f} s scoring with evidence")
    for j, lab in enumerate(det_labels):
        print(f"  {lab:13s} max |dp| = {diff[:, j].max():.3g}")
    print(f"  max |dp| overall = {diff.max():.3g} (tol {args.tol:g}); posts with changed flags: {len(changed)}")
    for i in changed[:10]:
        print(f"    {texts[i][:40]!r}: {old_flags[i]} -> {flags[i]}")
    ok = diff.max() <= args.tol and not changed
    print("OK: scores and flags unchanged" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("save")
    s.add_argument("--model", default="models/default")
    s.add_argument("--input", default=str(COMMENTS))
    s.add_argument("--n", type=int, default=10000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="results/refactor_before.npz")
    c = sub.add_parser("compare")
    c.add_argument("--before", default="results/refactor_before.npz")
    c.add_argument("--model", default=None, help="default: the model the scores were saved with")
    c.add_argument("--tol", type=float, default=1e-6)
    args = ap.parse_args()
    return save(args) if args.cmd == "save" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
