"""Choose real comments for a training round of annotation (docs/annotation.md): from a random pool
of the CHNCI comment file (fixed seed, over the whole file), the comments a model scores highest
for a risk (`top`), near below its threshold (`band`: from `band_low` times the threshold up to it)
and a random share, each comment once. Labels come from reading them, never from these scores: the
scores only choose what to read. Rows already labeled, and texts equal to a labeled comment's text,
are never chosen (an eval text must not come back as a training row under another id). Only ids are
written; the texts stay in ../shared.

    python -m training.data.real_select --model models/default --pool 80000 \\
        --top harassment=2400 --band harassment=1400 --top rumor=500 --top paid_posting=500 \\
        --random 1200 --exclude data/real/labels.tsv.gz --out runs/round3/ids.jsonl

Rows are not a random sample (their `selected_by` says how each was chosen): for training only.
Once read, the annotators' files (docs/annotation.md "Output", one per batch) join the team's labels:

    python -m training.data.real_select merge --ids runs/round3/ids.jsonl \
        --labels runs/round3/labels_0.jsonl ... --split train --into data/real/labels.tsv.gz
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from training.data.sources import default_root, read_labels

SEED = 20261206


def read_pool(corpus: Path, n: int, seed: int, exclude_ids: set[str], exclude_texts: set[str]) -> list[dict]:
    """n comments drawn at random over the whole file (fewer if it has fewer), without the excluded
    ids and texts, one per distinct text."""
    rows, seen = [], set(exclude_texts)
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            text = (r.get("text") or "").strip()
            if r["id"] in exclude_ids or not text or text in seen:
                continue
            seen.add(text)
            rows.append({"id": r["id"], "platform": r.get("platform", ""), "text": text})
    random.Random(seed).shuffle(rows)
    return rows[:n]


def select(scores: np.ndarray, labels: list[str], thresholds: dict[str, float], top: dict[str, int],
           band: dict[str, int], n_random: int, seed: int, band_low: float = 0.5) -> list[tuple[int, str]]:
    """(pool index, selected_by) of each chosen row, each row once: per risk its `top` highest
    scores, then `band` drawn at random from [band_low * threshold, threshold), then `n_random`
    from the rest."""
    rng = random.Random(seed)
    taken: dict[int, str] = {}
    for risk, k in top.items():
        j = labels.index(risk)
        order = [int(i) for i in np.argsort(-scores[:, j], kind="stable") if int(i) not in taken]
        taken.update({i: f"top-{risk}" for i in order[:k]})
    for risk, k in band.items():
        j, t = labels.index(risk), thresholds[risk]
        near = [i for i in range(len(scores)) if i not in taken and band_low * t <= scores[i, j] < t]
        taken.update({i: f"band-{risk}" for i in rng.sample(near, min(k, len(near)))})
    rest = [i for i in range(len(scores)) if i not in taken]
    taken.update({i: "random" for i in rng.sample(rest, min(n_random, len(rest)))})
    return sorted(taken.items())


def _counts(specs: list[str]) -> dict[str, int]:
    out = {}
    for s in specs:
        risk, _, k = s.partition("=")
        if not k.isdigit():
            raise SystemExit(f"error: expected RISK=N, not {s!r}")
        out[risk] = int(k)
    return out


def check_label(r: dict, where: str) -> dict:
    """One annotator's line (docs/annotation.md "Output"), checked: 0/1 per risk, and subtypes of
    exactly the risks labeled 1. Raises ValueError naming `where` (file:line) and the field."""
    from detector.model.subtypes import SUBTYPES
    from detector.risks import RISKS

    for k in ("id",) + RISKS:
        if k not in r:
            raise ValueError(f"{where}: no {k!r}")
    for k in RISKS:
        if r[k] not in (0, 1):
            raise ValueError(f"{where}: {k} must be 0 or 1, not {r[k]!r}")
    subs = r.get("subtypes") or []
    owner = {s: risk for risk, names in SUBTYPES.items() for s in names}
    unknown = [s for s in subs if s not in owner]
    if unknown:
        raise ValueError(f"{where}: subtypes: unknown {', '.join(map(repr, unknown))}")
    for k in RISKS:
        if r[k] and not any(owner[s] == k for s in subs):
            raise ValueError(f"{where}: {k} is 1 but no subtype of {k} is given")
        if not r[k] and any(owner[s] == k for s in subs):
            raise ValueError(f"{where}: a subtype of {k} is given but {k} is 0")
    return r


def merge(ids: Path, label_files: list[Path], split: str, into: Path) -> int:
    """Append the chosen rows' labels to the labels table `into` (one annotator each). Every label
    file is checked before anything is written; an id twice, not chosen, or already in the table
    stops the merge. Returns the rows added."""
    from training.data.sources import read_labels_tsv, read_text, write_text

    chosen = {r["id"]: r for r in map(json.loads, ids.read_text(encoding="utf-8").splitlines())}
    present = {r["id"] for r in read_labels_tsv(into)}
    rows, seen = [], set()
    for file in label_files:
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{file}:{n}"
            try:
                r = check_label(json.loads(line), where)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: not JSON ({e.msg})") from None
            if r["id"] not in chosen:
                raise ValueError(f"{where}: {r['id']} is not in {ids}")
            if r["id"] in seen or r["id"] in present:
                raise ValueError(f"{where}: {r['id']} is labeled twice")
            seen.add(r["id"])
            c = chosen[r["id"]]
            rows.append([r["id"], split, c.get("platform", ""), r["rumor"], r["paid_posting"], r["harassment"], 1,
                         ",".join(r.get("subtypes") or []), c.get("selected_by", "")])
    missing = len(chosen) - len(seen)
    text = read_text(into)
    write_text(into, text + ("" if text.endswith("\n") or not text else "\n")
               + "".join("\t".join(map(str, row)) + "\n" for row in rows))
    print(f"{len(rows)} rows added to {into}" + (f"; {missing} chosen ids have no label yet" if missing else ""))
    return len(rows)


def main() -> None:
    import sys

    if sys.argv[1:2] == ["merge"]:
        mp = argparse.ArgumentParser(prog="real_select merge", description=merge.__doc__.splitlines()[0])
        mp.add_argument("--ids", type=Path, required=True)
        mp.add_argument("--labels", type=Path, nargs="+", required=True)
        mp.add_argument("--split", default="train")
        mp.add_argument("--into", type=Path, required=True)
        m = mp.parse_args(sys.argv[2:])
        try:
            merge(m.ids, m.labels, m.split, m.into)
        except (ValueError, FileNotFoundError) as e:
            raise SystemExit(f"error: {e}") from None
        return
    from detector.model.core import Detector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="the model whose scores choose the rows")
    ap.add_argument("--pool", type=int, default=80000, help="random comments to choose from")
    ap.add_argument("--top", action="append", default=[], help="RISK=N: the N highest scores")
    ap.add_argument("--band", action="append", default=[], help="RISK=N: N drawn just under the threshold")
    ap.add_argument("--band-low", type=float, default=0.5, help="the band starts at this share of the threshold")
    ap.add_argument("--random", type=int, default=0)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--exclude", type=Path, action="append", default=[], help="labels TSV or JSONL whose ids are not chosen")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    corpus = a.corpus or default_root() / "unlabeled_posts" / "chnci_comments.jsonl"
    labeled = {r["id"] for f in a.exclude for r in read_labels(f)}
    texts_of_labeled = set()
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["id"] in labeled:
                texts_of_labeled.add((r.get("text") or "").strip())
    pool = read_pool(corpus, a.pool, a.seed, labeled, texts_of_labeled)
    det = Detector.from_pretrained(a.model)
    scores = det.predict_proba([r["text"] for r in pool])
    chosen = select(scores, det.labels, det.thresholds, _counts(a.top), _counts(a.band), a.random, a.seed,
                    a.band_low)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        for i, how in chosen:
            f.write(json.dumps({"id": pool[i]["id"], "platform": pool[i]["platform"], "selected_by": how},
                               ensure_ascii=False) + "\n")
    print(f"{len(chosen)} ids from a pool of {len(pool)} -> {a.out} (model {det.model_id})")


if __name__ == "__main__":
    main()
