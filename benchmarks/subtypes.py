"""Subtype quality on the team's evaluation rows: per risk, the subtypes the model gives each of
the risk's true positives (as if the risk were flagged) against the team's subtypes.

Rows (never trained or tuned on): the real comments' `eval` split (data/real/labels.tsv.gz
`subtypes`) and the team's hand-written paid-posting eval set (data/paid_posting/eval.jsonl,
`category` mapped to a subtype by training/subtypes.PAID_CATEGORIES). Per subtype: support,
precision, recall, F1; per risk: macro-F1 over the subtypes with at least one eval row (the
others are listed as unmeasured), and the same for the lexicon intents alone (scores = the
highest intent weight, the same choice rule at 0.5) as a baseline. `flagged` says how many of the
risk's eval positives the model flags at its threshold (subtypes are only shown on those), and
`head_on_flagged` the head's table on those rows alone.

    .venv/bin/python benchmarks/subtypes.py --model runs/subtypes-default --out results/subtypes.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def f1_table(subtypes: list[str], gold: list[set], pred: list[set]) -> dict:
    """Per subtype support/precision/recall/F1 and the macro-F1 over the subtypes with support."""
    per = {}
    for s in subtypes:
        tp = sum(s in g and s in p for g, p in zip(gold, pred))
        fp = sum(s not in g and s in p for g, p in zip(gold, pred))
        fn = sum(s in g and s not in p for g, p in zip(gold, pred))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        per[s] = {"support": tp + fn, "predicted": tp + fp, "precision": round(prec, 4), "recall": round(rec, 4),
                  "f1": round(2 * prec * rec / (prec + rec) if prec + rec else 0.0, 4)}
    measured = [s for s in subtypes if per[s]["support"] > 0]
    macro = float(np.mean([per[s]["f1"] for s in measured])) if measured else None
    return {"macro_f1": None if macro is None else round(macro, 4), "measured": measured,
            "unmeasured": [s for s in subtypes if s not in measured], "per_subtype": per}


def evaluate(model: str, role: str = "eval") -> dict:
    from detector.model.core import Detector
    from detector.model.subtypes import SUBTYPES, SubtypeHead, chosen, subtypes_for
    from training.trainers.subtypes import SubtypeConfig, load_rows

    det = Detector.from_pretrained(model)
    path, _ = Detector.read_config(model)
    head = SubtypeHead.load(path)
    if head is None:
        raise SystemExit(f"{path} has no subtype head (subtypes.json); train one with training/trainers/subtypes.py")
    cfg = SubtypeConfig.from_dict(head.info.get("config", {}))
    rows = load_rows(cfg, role, evasion=det.evasion)
    out = {}
    for risk, subs in SUBTYPES.items():
        idx = rows.risk_rows[risk]
        texts = [rows.texts[i] for i in idx]
        gold = [{s for j, s in enumerate(subs) if y[j]} for y in rows.risk_y[risk]]
        cleaned = det.clean(texts)  # texts are cleaned already; cleaning twice is a no-op on them
        got = subtypes_for(head, det.scorer.featurizer, cleaned, [[risk]] * len(texts))
        pred = [set(g.get(risk, {})) for g in got]
        L = head.intents.matrix(texts, list(subs))
        lex = [{subs[j] for j in chosen(list(subs), row, np.full(len(subs), 0.5))} for row in L]
        flag = np.zeros(len(texts), bool)
        if texts and risk in det.labels:
            flag = det.proba(cleaned)[:, det.labels.index(risk)] >= det.thresholds[risk]
        sources = sorted({rows.sources[i] for i in idx})
        out[risk] = {"rows": len(texts), "sources": sources, "flagged": int(flag.sum()),
                     "head": f1_table(list(subs), gold, pred), "lexicon_only": f1_table(list(subs), gold, lex),
                     "head_on_flagged": f1_table(list(subs), [g for g, f in zip(gold, flag) if f],
                                                 [p for p, f in zip(pred, flag) if f]),
                     "train_dev_counts": head.info.get("counts", {}).get(risk, {})}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a fast model folder with subtypes.json")
    ap.add_argument("--role", default="eval", help="eval (default) or dev")
    ap.add_argument("--out", default="results/subtypes.json")
    a = ap.parse_args(argv)
    t0 = time.time()
    res = {"model": a.model, "role": a.role, "command": " ".join([".venv/bin/python", "benchmarks/subtypes.py", *sys.argv[1:]]),
           "risks": evaluate(a.model, a.role)}
    res["seconds"] = round(time.time() - t0, 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    for risk, r in res["risks"].items():
        h, lx = r["head"], r["lexicon_only"]
        per = ", ".join(f"{s} F1 {v['f1']:.2f} (n={v['support']})" for s, v in h["per_subtype"].items() if v["support"])
        print(f"{risk}: {r['rows']} rows, flagged {r['flagged']}; head macro-F1 {h['macro_f1']}, "
              f"lexicon-only {lx['macro_f1']}, head on flagged rows {r['head_on_flagged']['macro_f1']}; {per}; "
              f"unmeasured: {', '.join(h['unmeasured']) or '-'}")


if __name__ == "__main__":
    main()
