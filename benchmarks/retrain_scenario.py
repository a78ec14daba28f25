"""The retrain scenario of issue 12 on a real crawl: reviewers reject the model's rumor flags, and
`jingwang retrain` must then lower the rumor flag rate on that crawl, or refuse with its reason.

1. A crawl: `--n` random real comments (fixed seed, the team's annotated comments left out).
2. `jingwang score` it with `--model`, and `jingwang review import` every scored post.
3. 24 reviews: 16 of the model's rumor flags and 8 of its other flags (random, fixed seed), each
   decided for all three risks from `--reviews` (a JSONL of {id, rumor, paid_posting, harassment}
   written by people who read the posts; ids without a decision are written to WORK/to_read.jsonl
   and the script stops, so that someone reads them first).
4. `jingwang retrain --from MODEL --crawl CRAWL`: a registry with the model as v0001 and the
   challenger as v0002, promoted or refused by the gate.
5. The rumor (and every) flag rate of both versions on the crawl.

    python benchmarks/retrain_scenario.py --model models/default --work runs/retrain_scenario \
        --reviews data/real/retrain_reviews.jsonl --out results/retrain_scenario.json
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RISKS = ("rumor", "paid_posting", "harassment")


def pick(scored: list[dict], n_rumor: int, n_other: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rumor = [r for r in scored if "rumor" in r["flags"]]
    other = [r for r in scored if r["flags"] and "rumor" not in r["flags"]]
    if len(rumor) < n_rumor:
        raise SystemExit(f"the model flags only {len(rumor)} posts of the crawl as rumor (need {n_rumor}): "
                         f"use a larger --n")
    return rng.sample(rumor, n_rumor) + rng.sample(other, min(n_other, len(other)))


def main() -> None:
    from benchmarks.flag_rate import crawl_sample, flags_and_rates
    from detector.model.core import Detector
    from detector.review.db import ReviewDB

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("models/default"))
    ap.add_argument("--base-config", type=Path, default=Path("configs/fast.toml"))
    ap.add_argument("--reviews", type=Path, default=Path("data/real/retrain_reviews.jsonl"))
    ap.add_argument("--work", type=Path, default=Path("runs/retrain_scenario"))
    ap.add_argument("--n", type=int, default=20000, help="crawl size")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    jw = str(Path(sys.executable).parent / "jingwang")
    a.work.mkdir(parents=True, exist_ok=True)
    crawl, scored_path, db_path = a.work / "crawl.jsonl", a.work / "scored.jsonl", a.work / "review.sqlite"
    posts = crawl_sample(a.n, a.seed, annotated=False)
    crawl.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    subprocess.run([jw, "score", str(crawl), "--model", str(a.model), "--out", str(scored_path), "-q",
                    "--no-evidence"], check=True)
    scored = [json.loads(line) for line in scored_path.open(encoding="utf-8")]
    chosen = pick(scored, 16, 8, a.seed)
    reviews = {}
    if a.reviews.is_file():
        reviews = {r["id"]: r for r in map(json.loads, a.reviews.open(encoding="utf-8"))}
    missing = [r for r in chosen if r["id"] not in reviews]
    if missing:
        to_read = a.work / "to_read.jsonl"
        to_read.write_text("".join(json.dumps({"id": r["id"], "text": r["text"], "flags": r["flags"]},
                                              ensure_ascii=False) + "\n" for r in missing), encoding="utf-8")
        raise SystemExit(f"{len(missing)} chosen posts have no decision in {a.reviews}: read {to_read} and add "
                         f"{{id, rumor, paid_posting, harassment}} lines for them")
    db_path.unlink(missing_ok=True)
    subprocess.run([jw, "review", "import", str(scored_path), "--db", str(db_path)], check=True,
                   stdout=subprocess.DEVNULL)
    db = ReviewDB(db_path)
    for r in chosen:
        db.decide(r["id"], "scenario", {k: int(reviews[r["id"]][k]) for k in RISKS})
    rejected = sum(1 for r in chosen if "rumor" in r["flags"] and not reviews[r["id"]]["rumor"])
    reg = a.work / "registry"
    subprocess.run(["rm", "-rf", str(reg)], check=True)
    proc = subprocess.run([jw, "retrain", "--base-config", str(a.base_config), "--reviewed", str(db_path),
                           "--out", str(reg), "--from", str(a.model), "--crawl", str(crawl)],
                          capture_output=True, text=True)
    print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
    texts = [p["text"] for p in posts]
    versions = sorted(p for p in reg.iterdir() if p.is_dir() and p.name.startswith("v"))
    rates = {}
    for v in versions:
        det = Detector.from_pretrained(v)
        rates[v.name] = {"flag_rate": flags_and_rates(det, texts)[2], "model_id": det.model_id}
    current = (reg / "current").resolve().name if (reg / "current").exists() else None
    res = {"model": str(a.model), "crawl_n": len(posts), "reviews": len(chosen),
           "rumor_flags_reviewed": sum("rumor" in r["flags"] for r in chosen), "rumor_flags_rejected": rejected,
           "retrain_exit": proc.returncode, "current_after": current, "versions": rates,
           "retrain_output": proc.stdout[-3000:]}
    for name, v in rates.items():
        print(f"{name} ({v['model_id']}): " + ", ".join(f"{k} {100 * x:.2f}%" for k, x in v["flag_rate"].items()))
    print(f"current after retrain: {current}")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
