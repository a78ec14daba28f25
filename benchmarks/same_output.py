"""`jingwang score` output unchanged by a refactor (issue 15): the same random sample of real
comments scored by the code of an older commit and by this checkout, byte for byte.

    python benchmarks/same_output.py --ref 2536c0a --model models/default --n 10000

The older code runs from a `git worktree` of REF with this checkout's virtual environment
(`python -m training.cli score` there, its console entry point before issue 15; `python -m
detector.cli score` here). The sample is random.Random(seed).shuffle over every line of the
comments file, then its first N lines. Writes results/same_output.json with the md5 of both
outputs (scored and flagged files); exits 1 when they differ.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
COMMENTS = PROJECT.parent / "shared" / "datasets" / "unlabeled_posts" / "chnci_comments.jsonl"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def score(cwd: Path, module: str, posts: Path, model: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", module, "score", str(posts), "--model", str(model), "--out", str(out / "scored.jsonl"),
           "--flagged", str(out / "flagged.jsonl"), "-q"]
    subprocess.run(cmd, cwd=cwd, check=True)
    return {"scored": md5(out / "scored.jsonl"), "flagged": md5(out / "flagged.jsonl"),
            "lines": sum(1 for _ in open(out / "scored.jsonl", encoding="utf-8"))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default="2536c0a", help="the commit before the refactor")
    ap.add_argument("--old-module", default="training.cli", help="its console entry point, as a module")
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--comments", default=str(COMMENTS))
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", default=str(PROJECT / "results" / "same_output.json"))
    a = ap.parse_args()
    lines = Path(a.comments).read_text(encoding="utf-8").splitlines()
    random.Random(a.seed).shuffle(lines)
    model = (PROJECT / a.model).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        posts = tmp / "posts.jsonl"
        posts.write_text("\n".join(lines[:a.n]) + "\n", encoding="utf-8")
        tree = tmp / "old"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(tree), a.ref], cwd=PROJECT, check=True)
        try:
            (tmp / "before").mkdir()
            (tmp / "after").mkdir()
            before = score(tree, a.old_module, posts, model, tmp / "before")
            after = score(PROJECT, "detector.cli", posts, model, tmp / "after")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=PROJECT, check=False)
    result = {"ref": a.ref, "model": a.model, "n": a.n, "seed": a.seed, "before": before, "after": after,
              "identical": before == after}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
