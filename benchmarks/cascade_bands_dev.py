"""Cascade bands compared on the team's real dev rows, where the members' thresholds were chosen:
each band as written in a cascade folder, and the same band with every fast flag re-checked by
the second model (`band.recheck_flags`: training/trainers/cascade.py `recheck`), against the fast and second models alone.
Traffic: the share of random real comments each routes to the second model.

    python benchmarks/cascade_bands_dev.py --fast models/fast-plain --second models/ensemble \\
        --cascade models/cascade --cascade models/cascade-mixeddev

Only dev rows are read (never the eval split)."""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detector.model.cascade import in_band  # noqa: E402
from detector.model.core import Detector  # noqa: E402
from training.data.splits import load_split  # noqa: E402
from training.trainers.cascade import recheck  # noqa: E402

COMMENTS = ROOT.parent / "shared/datasets/unlabeled_posts/chnci_comments.jsonl"


def measure(p1, p2, pt, y, labels, t1, t2, band: dict | None) -> dict:
    """Flags and harassment P/R/F1 on dev; `band` None = the second model everywhere."""
    if band is None:
        routed, traffic = np.ones(len(p1), bool), np.ones(len(pt), bool)
    else:
        routed, traffic = in_band(p1, labels, band), in_band(pt, labels, band)
    out, tp, flags = {}, 0, 0
    for j, r in enumerate(labels):
        m = ~np.isnan(y[:, j])
        pred = np.where(routed, p2[:, j] >= t2[r], p1[:, j] >= t1[r])[m]
        yt = y[m, j] == 1
        t, f = int((pred & yt).sum()), int(pred.sum())
        tp, flags = tp + t, flags + f
        if r == "harassment":
            prec, rec = t / max(f, 1), t / max(int(yt.sum()), 1)
            out["harassment P R F1"] = [round(prec, 3), round(rec, 3), round(2 * prec * rec / max(prec + rec, 1e-9), 3)]
    return out | {"flags": flags, "flag precision": round(tp / max(flags, 1), 3), "traffic": round(float(traffic.mean()), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", required=True)
    ap.add_argument("--second", required=True)
    ap.add_argument("--cascade", action="append", default=[])
    ap.add_argument("--n", type=int, default=15000, help="random real comments for the traffic share")
    args = ap.parse_args()
    fast, second = Detector.from_pretrained(args.fast), Detector.from_pretrained(args.second)
    labels = fast.labels
    dev = load_split(["real"], "dev", labels, evasion=None)
    cols = [second.labels.index(r) for r in labels]
    p1 = np.round(fast.predict_proba(dev.texts), 4)
    p2 = np.round(second.predict_proba(dev.texts)[:, cols], 4)
    lines = COMMENTS.read_text(encoding="utf-8").splitlines()
    sample = [json.loads(x)["text"] for x in random.Random(16).sample(lines, args.n)]
    pt = np.round(fast.predict_proba(sample), 4)
    t1, t2 = fast.thresholds, second.thresholds
    rows = {"fast": measure(p1, p2, pt, dev.y, labels, t1, t2, {}),
            "second": measure(p1, p2, pt, dev.y, labels, t1, t2, None)}
    for c in args.cascade:
        band = json.loads((Path(c) / "cascade.json").read_text(encoding="utf-8"))["band"]
        rows[c] = measure(p1, p2, pt, dev.y, labels, t1, t2, band)
        rows[c + " + every fast flag re-checked"] = measure(p1, p2, pt, dev.y, labels, t1, t2, recheck(band, t1))
    for name, row in rows.items():
        print(f"{name}: {row}")


if __name__ == "__main__":
    main()
