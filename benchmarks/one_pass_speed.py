"""Speed of Detector.score with evidence before and after the one-pass refactor (issue 14), and
with each model given, in one run: every variant in its own process, interleaved rounds, best
rate kept, each also as a ratio to a plain jieba.lcut loop over the same texts timed in the
same round (absolute rates vary from machine to machine and with load).

    python benchmarks/one_pass_speed.py --before-rev 40c92ed --models models/default runs/i14-rjieba

Variants: "before" = the code at --before-rev (git archive into a temporary folder) with the
first model; "after" = this tree with each model. Texts: random real comments and random longer
posts (Weibo21 and COLD), fixed seed. In-process: model load and start-up are not counted.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SHARED = Path("/work/shared/datasets")
CORPORA = {"comments": [SHARED / "unlabeled_posts" / "chnci_comments.jsonl"],
           "posts": [SHARED / "weibo21" / "train.jsonl", SHARED / "weibo21" / "test.jsonl", SHARED / "cold" / "test.jsonl"]}


def sample(corpus: str, n: int, seed: int) -> list[str]:
    texts = []
    for p in CORPORA[corpus]:
        with open(p, encoding="utf-8") as f:
            texts += [t for t in (json.loads(line).get("text") for line in f if line.strip()) if t]
    return random.Random(seed).sample(texts, min(n, len(texts)))


def worker(root: str, model: str, corpus: str, n: int, seed: int, batch: int) -> dict:
    """Runs inside the variant's process: rate of Detector.score(evidence=True) in batches."""
    sys.path.insert(0, root)
    import jieba

    from detector.model.core import Detector

    texts = sample(corpus, n, seed)
    det = Detector.from_pretrained(model)
    det.score(texts[:20])
    t0 = time.perf_counter()
    flagged = 0
    for i in range(0, len(texts), batch):
        flagged += sum(bool(r["flags"]) for r in det.score(texts[i:i + batch], evidence=True))
    secs = time.perf_counter() - t0
    jieba.setLogLevel(60)
    jieba.lcut("预热")
    t1 = time.perf_counter()
    for t in texts:
        jieba.lcut(t)
    lcut = time.perf_counter() - t1
    return {"posts_per_s": len(texts) / secs, "jieba_lcut_posts_per_s": len(texts) / lcut,
            "flagged": flagged, "n": len(texts)}


def run_variant(root: str, model: str, corpus: str, args) -> dict:
    code = ("import json, sys; sys.path.insert(0, %r); from one_pass_speed import worker; "
            "print(json.dumps(worker(%r, %r, %r, %d, %d, %d)))"
            % (str(PROJECT / "benchmarks"), root, model, corpus, args.n, args.seed, args.batch))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    if out.returncode:
        raise SystemExit(f"variant {root} {model} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before-rev", required=True, help="git revision of the code before the refactor")
    ap.add_argument("--models", nargs="+", default=["models/default"])
    ap.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as before:
        archive = subprocess.run(["git", "archive", args.before_rev], cwd=PROJECT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
        models = [str((PROJECT / m).resolve()) for m in args.models]
        variants = [("before", before, models[0])] + [("after", str(PROJECT), m) for m in models]
        best: dict = {}
        for _ in range(args.rounds):
            for corpus in args.corpora:
                for name, root, model in variants:
                    r = run_variant(root, model, corpus, args)
                    key = (corpus, name, Path(model).name)
                    r["ratio_to_jieba_lcut"] = r["posts_per_s"] / r["jieba_lcut_posts_per_s"]
                    if key not in best or r["posts_per_s"] > best[key]["posts_per_s"]:
                        best[key] = r
    rows = [{"corpus": c, "code": v, "model": m, **{k: round(x, 3) if isinstance(x, float) else x
                                                      for k, x in r.items()}} for (c, v, m), r in best.items()]
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"settings": vars(args), "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
