"""What each shortcut of the CPU transformer recipe costs (issue 3).

Same short budget for every variant (3,000 train rows per source, 200 steps of batch 32,
1,000 dev and 1,000 test rows per source); one shortcut is undone at a time against the
baseline = configs/transformer-cpu.toml cut to 6 layers (64 tokens, frozen embeddings):

    python benchmarks/cpu_shortcuts.py --out results/cpu_shortcuts.json [--only base,layers12]

Writes, per variant: dev and test macro-F1 per risk, their mean, train seconds, and the
difference to the baseline. Runs are sequential (2 cores); ~1 h in all on an idle machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from training.trainers.dispatch import train_from_recipe  # noqa: E402

BUDGET = ["model.num_layers=6", "train.subset=3000", "train.max_steps=200", "train.dev_subset=1000", "train.test_subset=1000"]
VARIANTS = {
    "base": [],                                        # 6 layers, 64 tokens, frozen embeddings
    "layers12": ["model.num_layers=12"],               # all 12 layers
    "tokens128": ["train.max_length=128"],             # twice the sequence length
    "trainable_embeddings": ["model.freeze_embeddings=false"],
    "all_rows": ["train.subset=0"],                    # same 200 steps drawn from every train row
    "steps400": ["train.max_steps=400"],               # twice the steps (what a longer run buys)
}


def summary(metrics: dict) -> dict:
    out = {}
    for split in ("dev", "test"):
        per = {r: round(m["macro_f1"], 4) for r, m in metrics[split].items()}
        out[split] = per | {"mean": round(sum(per.values()) / len(per), 4)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/transformer-cpu.toml")
    ap.add_argument("--out", default="results/cpu_shortcuts.json")
    ap.add_argument("--runs", default="runs/shortcuts")
    ap.add_argument("--only", default="", help="comma-separated variant names")
    args = ap.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    names = [n for n in VARIANTS if not args.only or n in args.only.split(",")]
    for name in names:
        t = time.perf_counter()
        model_dir = Path(args.runs) / name
        train_from_recipe(Path(args.config), model_dir, overrides=BUDGET + VARIANTS[name],
                          log=lambda m: print(f"[{name}] {m}", flush=True))
        metrics = json.loads((model_dir / "metrics.json").read_text())
        results[name] = {"overrides": VARIANTS[name], "seconds": round(time.perf_counter() - t)} | summary(metrics)
        base = results.get("base")
        if base and name != "base":
            results[name]["delta_vs_base"] = {s: round(results[name][s]["mean"] - base[s]["mean"], 4) for s in ("dev", "test")}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results | {"budget": BUDGET}, indent=2))
        print(json.dumps({name: results[name]}), flush=True)


if __name__ == "__main__":
    main()
