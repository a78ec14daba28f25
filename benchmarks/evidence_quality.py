"""Evidence as a reviewer reads it (issue 14): counts of the faults evidence items must not have,
on random real comments scored with a model.

    python benchmarks/evidence_quality.py --model models/default --n 5000 --out results/evidence_quality.json

The sample is random.Random(seed).sample over every line of the comments file. "flagged" counts
the evidence of the risks the model flags; with --explain-all every risk of every post is
explained too (thresholds 0), a harder test on many more lists. Counted per item:

- repeated: an item whose span is the same as, or overlaps, a span of another item of the same
  risk (or the same span twice in one item);
- placeholder: a term holding the cleaner's placeholders or a piece of one (`[URL]`, `URL]`, `T][`);
- punctuation_only: a term without a letter, digit or Chinese character;
- romanised: a term that is not the post's text at its spans (e.g. `exin` for 恶心);
- single_char: a term of one character (reported, not a fault when it is a word).
Exit status 1 when --check is given and any fault count is not 0.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from detector.model.core import Detector  # noqa: E402

COMMENTS = Path("/work/shared/datasets/unlabeled_posts/chnci_comments.jsonl")
PLACEHOLDER = re.compile(r"\[(URL|AT)\]?|(URL|AT)\]|\]\[")
FAULTS = ("repeated", "placeholder", "punctuation_only", "romanised")


def sample_texts(path: Path, n: int, seed: int) -> list[str]:
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    picked = random.Random(seed).sample(range(len(lines)), min(n, len(lines)))
    return [json.loads(lines[i])["text"] for i in picked]


def item_faults(text: str, items: list[dict]) -> Counter:
    """Fault counts of one risk's evidence list of one post (see the module docstring)."""
    c = Counter(lists=1, items=len(items))
    seen: list[tuple[int, int, int]] = []
    for n, it in enumerate(items):
        term, spans = str(it.get("term", "")), [tuple(s) for s in it.get("spans", [])]
        repeated = len(set(spans)) < len(spans) or any(
            m != n and s < e2 and s2 < e for s, e in spans for m, s2, e2 in seen)
        seen.extend((n, s, e) for s, e in spans)
        c["repeated"] += repeated
        c["placeholder"] += bool(PLACEHOLDER.search(term))
        c["punctuation_only"] += not any(ch.isalnum() for ch in term)
        c["romanised"] += any(text[s:e] != term for s, e in spans)
        c["single_char"] += len(term) == 1
        c["with_share"] += "share" in it
        for v in it.get("views", []):
            c[f"view:{v}"] += 1
    c["lists_with_repeats"] += c["repeated"] > 0
    return c


def measure(det: Detector, texts: list[str], batch: int = 1000) -> tuple[Counter, list[dict]]:
    total, examples = Counter(), []
    for i in range(0, len(texts), batch):
        chunk = texts[i:i + batch]
        for text, res in zip(chunk, det.score(chunk, evidence=True)):
            for risk, items in res["evidence"].items():
                c = item_faults(text, items)
                total.update(c)
                if any(c[f] for f in FAULTS) and len(examples) < 10:
                    examples.append({"text": text[:80], "risk": risk, "evidence": items})
    return total, examples


def summary(c: Counter) -> dict:
    items = max(c["items"], 1)
    out = {"lists": c["lists"], "items": c["items"], "items_per_list": round(c["items"] / max(c["lists"], 1), 2)}
    out.update({f: c[f] for f in FAULTS})
    out["lists_with_repeats"] = c["lists_with_repeats"]
    out["single_char_share"] = round(c["single_char"] / items, 3)
    out["items_with_share"] = c["with_share"]
    out["views"] = {k[5:]: round(v / items, 3) for k, v in sorted(c.items()) if k.startswith("view:")}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--input", default=str(COMMENTS))
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--explain-all", action="store_true", help="also explain every risk of every post")
    ap.add_argument("--out", default=None, help="write the counts and examples as JSON")
    ap.add_argument("--check", action="store_true", help="exit 1 when any fault count is not 0")
    args = ap.parse_args()
    texts = sample_texts(Path(args.input), args.n, args.seed)
    det = Detector.from_pretrained(args.model)
    runs = {"flagged": dict(det.thresholds)}
    if args.explain_all:
        runs["all_risks"] = {r: 0.0 for r in det.labels}
    report = {"model": args.model, "n": len(texts), "seed": args.seed, "input": args.input, "runs": {}}
    for name, thresholds in runs.items():
        det.thresholds = thresholds
        t0 = time.perf_counter()
        counts, examples = measure(det, texts)
        report["runs"][name] = {**summary(counts), "seconds": round(time.perf_counter() - t0, 1), "examples": examples}
        print(f"{name:9s}", json.dumps({k: v for k, v in report["runs"][name].items() if k != "examples"},
                                       ensure_ascii=False))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    bad = sum(r[f] for r in report["runs"].values() for f in FAULTS)
    return 1 if args.check and bad else 0


if __name__ == "__main__":
    sys.exit(main())
