"""Sweep one risk's training settings of the fast recipe on fixed features: for each variant,
refit that risk's head and report, on the dev rows of every source, the threshold-free ranking
(ROC-AUC, PR-AUC) and precision / recall / false flags per 1,000 at the recipe's threshold rule.

Features are built once (settings under [featurizer] are not swept here: train a model for
those). Variants are `--set`-style overrides, joined by spaces within one --variant:

    python benchmarks/fast_sweep.py --risk harassment --out results/sweep-harassment.json \
        --variant "" --variant "data.source_weight.real=3" --variant "classifier.C.harassment=4"

`--risk all` fits the three heads of each variant and adds one row for the team's real dev
comments with every head's flags pooled (flags, flags right, precision), as a reviewer meets them.

Only dev rows are used (the team's real `eval` split is never read).
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def apply(recipe: dict, overrides: str) -> dict:
    from training.typed import apply_overrides

    out = copy.deepcopy(recipe)
    return apply_overrides(out, [o for o in overrides.split() if o]) if overrides.strip() else out


def main() -> None:
    from training.recipe import read_toml
    from training.evaluation.evaluate import best_f1
    from training.trainers.fast import featurize, load_splits, train_risk
    from detector.risks import RISKS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path("configs/fast.toml"))
    ap.add_argument("--risk", required=True, choices=[*RISKS, "all"])
    ap.add_argument("--variant", action="append", default=[], help="space-separated key=value overrides")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    recipe = read_toml(a.config)
    labels = list(RISKS)
    t0 = time.time()
    splits = load_splits(recipe, labels)
    _, X, _ = featurize(recipe, splits)
    print(f"features {X['train'].shape} ({time.time() - t0:.0f}s)", flush=True)
    risks = labels if a.risk == "all" else [a.risk]
    rows = []
    for v in a.variant or [""]:
        r = apply(recipe, v)
        real = {}
        for risk in risks:
            part = train_risk(labels.index(risk), risk, X, splits, r, int(r["model"].get("seed", 13)))
            row = {"variant": v or "(recipe)", "risk": risk, "threshold": part["threshold"]}
            p_dev, y_dev, src_dev = part["dev_rows"]
            for src, m in part["dev_by_source"].items():
                row[src] = {k: m[k] for k in ("n", "positives", "roc_auc", "pr_auc", "precision", "recall", "f1",
                                              "macro_f1", "false_flags_per_1000")}
                row[src]["best_f1"] = best_f1(y_dev[src_dev == src], p_dev[src_dev == src])["f1"]
            rows.append(row)
            if "real" in part["dev_by_source"]:
                on_real = src_dev == "real"
                real[risk] = (p_dev[on_real] >= part["threshold"], y_dev[on_real] == 1)
            cells = "  ".join(f"{s} auc {m['roc_auc']:.3f} ap {m['pr_auc']:.3f} P {m['precision']:.2f} R {m['recall']:.2f} "
                              f"mF1 {m['macro_f1']:.3f} F1 {m['f1']:.3f}/{m['best_f1']:.3f} ff {m['false_flags_per_1000']:.0f}"
                              for s, m in row.items() if isinstance(m, dict))
            print(f"{row['variant']:45s} {risk[:10]:10s} thr {part['threshold']:.3f}  {cells}", flush=True)
        if len(risks) > 1 and len(real) == len(risks):
            # the real comments annotate every risk, so their dev rows line up across heads
            flagged = np.any([f for f, _ in real.values()], axis=0)
            right = np.any([f & y for f, y in real.values()], axis=0)
            pooled = {"variant": v or "(recipe)", "risk": "all (real dev)", "flags": int(flagged.sum()),
                      "right": int(right.sum()), "precision": float(right.sum() / max(1, flagged.sum()))}
            rows.append(pooled)
            print(f"{pooled['variant']:45s} all flags on real dev: {pooled['flags']} ({pooled['right']} right, "
                  f"precision {pooled['precision']:.3f})", flush=True)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
