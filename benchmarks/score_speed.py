"""End-to-end speed of `jingwang score`: posts/s and peak RSS on N real crawled posts.

Posts come from ../shared/datasets/unlabeled_posts (real Weibo/Douyin/Bilibili comments),
repeated to reach N. Each size runs the real CLI in a subprocess (model loading included).

    python benchmarks/score_speed.py --model models/default --sizes 10000 100000 --out results/score_speed.json
"""
from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from training.data import default_root


def make_input(path: Path, n: int) -> None:
    src = default_root() / "unlabeled_posts" / "chnci_comments.jsonl"
    with open(src, encoding="utf-8") as f:
        rows = [json.loads(line) for line in itertools.islice(f, 200_000)]
    with open(path, "w", encoding="utf-8") as out:
        for i, r in enumerate(itertools.islice(itertools.cycle(rows), n)):
            out.write(json.dumps({"id": f"p{i}", "text": r["text"], "author": r.get("platform", ""),
                                  "created_at": r.get("created_at", "")}, ensure_ascii=False) + "\n")


def run(model: str, n: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        make_input(inp, n)
        cmd = [sys.executable, "-m", "training.cli", "score", str(inp), "--model", model,
               "--out", str(out), "--quiet", *extra]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        secs = time.perf_counter() - t0
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        lines = sum(1 for _ in open(out, encoding="utf-8"))
    return {"posts": n, "scored": lines, "seconds": round(secs, 2), "posts_per_s": round(n / secs, 1),
            "peak_rss_mb_max_so_far": round(rss_mb, 1), "args": extra}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--args", nargs="*", default=[], help="extra `jingwang score` arguments")
    ap.add_argument("--out", default="results/score_speed.json")
    args = ap.parse_args()
    results = []
    for n in args.sizes:
        r = run(args.model, n, args.args)
        results.append(r)
        print(json.dumps(r))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"model": args.model, "results": results}, indent=2), encoding="utf-8")
    print("| posts | seconds | posts/s | peak RSS (MB) |\n|---|---|---|---|")
    for r in results:
        print(f"| {r['posts']} | {r['seconds']} | {r['posts_per_s']} | {r['peak_rss_mb_max_so_far']} |")


if __name__ == "__main__":
    main()
