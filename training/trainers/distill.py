"""Distillation into the fast model: a teacher's soft labels as extra training rows (`[distill]`).

The teacher file is a `jingwang score` output of a teacher model (transformer, ensemble) on
unlabeled real comments: one JSON object per line with `id`, `text` and `scores` {risk: p}.

What never trains, whatever the teacher says (by id and by exact text, stripped): the dev and test
splits of every source of the recipe (calibration, thresholds and test metrics are measured on
them), every split of `exclude_sources` (default: the team's annotated real comments, whose `eval`
split is the real-comment evaluation) and the rows of `exclude_files`. How many were left out is
logged and saved in config.json.

Soft labels in a logistic regression: each kept row enters the fit of a risk twice, as a positive
weighing w*p and as a negative weighing w*(1-p). `weight` is per risk the distilled rows' total
weight as a share of the total weight of that risk's annotated training rows (after class
balancing and data.source_weight), so it keeps its meaning whatever the number of rows:
w = weight * annotated total / rows. The featurizer and the NB-LR ratios stay those of the
labeled rows (the distilled rows only add to the fit)."""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from detector.text.cleaning import clean
from training.data.sources import load_source, load_specs, read_labels, sha256_file
from training.recipe import FastRecipe, risk_value
from training.typed import to_dict


@dataclass
class Distilled:
    """The kept teacher rows: cleaned texts, their features and the teacher's p per label (NaN for a
    risk that does not learn from the teacher), and what config.json records of them."""
    texts: list[str]
    p: np.ndarray
    report: dict
    X: sp.csr_matrix | None = None

    def soft(self, j: int, risk: str, recipe: FastRecipe) -> tuple | None:
        """(features, p, weight) of one risk for `fast.fit_risk`, or None when the risk takes none."""
        weight = float(risk_value(recipe.distill, "weight", risk))
        if weight <= 0 or not len(self.texts) or np.isnan(self.p[:, j]).all():
            return None
        return self.X, self.p[:, j], weight


def soft_rows(X, p: np.ndarray, weight: float, annotated_total: float):
    """The distilled rows of one risk as (features, 0/1 targets, sample weights): every row twice,
    a positive of weight w*p and a negative of weight w*(1-p), w = weight * annotated_total / rows.
    Rows of weight 0 (p exactly 0 or 1) are left out."""
    w = weight * annotated_total / max(len(p), 1)
    target = np.concatenate([np.ones(len(p), int), np.zeros(len(p), int)])
    sample_weight = np.concatenate([w * p, w * (1.0 - p)])
    keep = sample_weight > 0
    return sp.vstack([X, X]).tocsr()[keep], target[keep], sample_weight[keep]


def distill_risks(recipe: FastRecipe, labels: list[str]) -> list[str]:
    return [r for r in labels if recipe.distill.risks is None or r in recipe.distill.risks]


def read_scores(path: Path, risks: list[str]) -> list[tuple[str, str, list[float]]]:
    """(id, text, [p of each risk]) of every line of a teacher file; a bad line is an error naming
    the file and line."""
    if not path.is_file():
        raise FileNotFoundError(f"distill.scores: cannot read {path}: no such file (a `jingwang score` output)")
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                rows.append(_score_line(line, risks, f"{path}:{lineno}"))
    return rows


def _score_line(line: str, risks: list[str], where: str) -> tuple[str, str, list[float]]:
    try:
        r = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where}: not valid JSON ({e.msg})") from None
    if not isinstance(r, dict):
        raise ValueError(f"{where}: a line must be a JSON object with id, text and scores")
    if not isinstance(r.get("id"), (str, int)) or isinstance(r.get("id"), bool):
        raise ValueError(f"{where}: no `id` (a string)")
    if not isinstance(r.get("text"), str):
        raise ValueError(f"{where}: no `text` (a string)")
    scores = r.get("scores")
    if not isinstance(scores, dict):
        raise ValueError(f"{where}: no `scores` table ({{risk: probability}})")
    p = []
    for risk in risks:
        v = scores.get(risk)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0 or math.isnan(v):
            raise ValueError(f"{where}: scores.{risk} must be a probability in [0, 1], not {v!r}")
        p.append(float(v))
    return str(r["id"]), r["text"], p


def held_out(recipe: FastRecipe, labels: list[str], root=None) -> tuple[set[str], set[str]]:
    """Ids and stripped texts that must never train: the dev and test splits of data.sources,
    every split of distill.exclude_sources, the rows of distill.exclude_files."""
    specs, d = load_specs(), recipe.distill
    unknown = [s for s in d.exclude_sources if s not in specs]
    if unknown:
        raise ValueError(f"distill.exclude_sources: unknown dataset {unknown[0]!r}; configured: {', '.join(specs)}")
    pairs = [(s, split) for s in recipe.data.sources for split in (recipe.data.dev_split, recipe.data.test_split)]
    pairs += [(s, split) for s in d.exclude_sources for split in specs[s].split_names()]
    ids, texts = set(), set()
    for name, split in dict.fromkeys(pairs):
        if name in specs and split not in specs[name].split_names():
            continue
        ds = load_source(name, split, root=root, specs=specs, labels=tuple(labels))
        ids.update(ds["id"])
        texts.update(t.strip() for t in ds["text"])
    for file in d.exclude_files:
        if not Path(file).is_file():
            raise FileNotFoundError(f"distill.exclude_files: cannot read {file}: no such file")
        for r in read_labels(Path(file)):
            if r.get("id") is not None:
                ids.add(str(r["id"]))
            if isinstance(r.get("text"), str):
                texts.add(r["text"].strip())
    return ids, texts


def load_distilled(recipe: FastRecipe, labels: list[str], root=None, log=print) -> Distilled:
    """The teacher rows that may train (held-out rows, empty texts and, past `limit`, a random
    sample with model.seed left out), cleaned as the labeled rows are."""
    d = recipe.distill
    path, risks = Path(d.scores), distill_risks(recipe, labels)
    rows = read_scores(path, risks)
    ids, texts = held_out(recipe, labels, root)
    by_id = [r for r in rows if r[0] in ids]
    by_text = [r for r in rows if r[0] not in ids and r[1].strip() in texts]
    empty = [r for r in rows if r[0] not in ids and r[1].strip() not in texts and not r[1].strip()]
    kept = [r for r in rows if r[0] not in ids and r[1].strip() and r[1].strip() not in texts]
    n_eligible = len(kept)
    if 0 < d.limit < len(kept):
        pick = sorted(random.Random(f"{recipe.model.seed}:distill").sample(range(len(kept)), d.limit))
        kept = [kept[i] for i in pick]
    p = np.full((len(kept), len(labels)), np.nan)
    for i, (_, _, scores) in enumerate(kept):
        for risk, v in zip(risks, scores):
            p[i, labels.index(risk)] = v
    report = {"scores": str(path), "scores_sha256": sha256_file(path), "settings": to_dict(d), "lines": len(rows),
              "excluded": {"by_id": len(by_id), "by_text": len(by_text)}, "empty": len(empty),
              "eligible": n_eligible, "rows": len(kept), "risks": risks,
              "mean_p": {r: round(float(p[:, labels.index(r)].mean()), 4) if len(kept) else None for r in risks}}
    log(f"distill: {len(kept)} of {len(rows)} teacher rows from {path} ({len(by_id)} held-out ids and "
        f"{len(by_text)} held-out texts excluded, {len(empty)} empty)")
    evasion = recipe.cleaning.evasion
    return Distilled([clean(t, evasion=evasion).text for _, t, _ in kept], p, report)
