"""Draw the team's annotation sample of real comments (docs/annotation.md).

A random sample over the whole CHNCI comment file (it is ordered by incident, so its head is not a
sample), stratified by platform in proportion to the file, with a fixed seed. The first `eval_n`
ids (in a shuffled order) form the `eval` split, never trained or tuned on; the rest are `dev`.
Only ids are written: the texts stay in ../shared and the loader joins them by id.

    python -m training.data.real_sample --n 2000 --eval-n 1000 --out sample.jsonl
    # a second, dev-only draw from the comments not drawn the first time
    python -m training.data.real_sample --n 3000 --eval-n 0 --seed 20261205 --exclude data/real/labels.tsv.gz --out more.jsonl
"""
from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

from training.data.sources import default_root, read_labels

SEED = 20261204


def draw(path: Path, n: int, eval_n: int, seed: int = SEED, exclude: frozenset = frozenset()) -> list[dict]:
    by_platform: dict[str, list[str]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["id"] not in exclude:
                by_platform[row["platform"]].append(row["id"])
    total = sum(len(v) for v in by_platform.values())
    rng = random.Random(seed)
    picked: list[tuple[str, str]] = []
    platforms = sorted(by_platform)
    quotas = {p: round(n * len(by_platform[p]) / total) for p in platforms}
    quotas[max(platforms, key=lambda p: len(by_platform[p]))] += n - sum(quotas.values())
    for p in platforms:
        picked += [(i, p) for i in rng.sample(by_platform[p], quotas[p])]
    rng.shuffle(picked)
    # eval and dev stratified alike: every platform's share of eval equals its share of the sample
    split_of: dict[str, str] = {}
    for p in platforms:
        ids = [i for i, q in picked if q == p]
        k = round(eval_n * len(ids) / n)
        split_of.update({i: "eval" if j < k else "dev" for j, i in enumerate(ids)})
    return [{"id": i, "platform": p, "split": split_of[i]} for i, p in picked]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--eval-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--exclude", type=Path, action="append", default=[], help="JSONL or labels TSV whose ids are not drawn")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    corpus = a.corpus or default_root() / "unlabeled_posts" / "chnci_comments.jsonl"
    exclude = frozenset(r["id"] for f in a.exclude for r in read_labels(f))
    rows = draw(corpus, a.n, a.eval_n, a.seed, exclude)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} ids -> {a.out}")


if __name__ == "__main__":
    main()
