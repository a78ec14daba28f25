"""Retrain with reviewed samples: train a challenger on the base recipe's data plus the reviewers'
decisions, evaluate it and the current model on the same fixed sets, and promote it only if it is
not worse beyond a tolerance on any risk.

- Reviewed samples carry a label for every risk, so they annotate all risks (source `reviewed`).
- A fixed share of them, chosen by a hash of the post id, is held out for evaluation and never
  trained on; the rest are training rows.
- Reviewed labels override: a base train/dev row whose cleaned text equals a reviewed text is
  dropped. Duplicates are removed: reviewed items with the same cleaned text count once (the
  latest decision), and a reviewed text that is also in a fixed test set is not trained on.
- Evaluation sets: each risk's own test sets (one per source, as `test_by_source` in metrics.json)
  and the held-out reviewed slice. A set smaller than `min_n`, or with one class only, is
  reported but does not decide.
- Rule: for every risk and deciding set, challenger macro-F1 >= current macro-F1 - tolerance[risk].

The challenger always becomes a new numbered version (with `retrain_report.json`); only the rule
decides whether `current` moves to it."""
from __future__ import annotations

import copy
import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detector.text.cleaning import clean
from detector.model.core import Detector
from detector.registry import Registry, version_name
from training.recipe import FastRecipe, Recipe, RetrainConfig, as_recipe, load_recipe, read_toml
from training.typed import build, merge, to_dict
from training.data.sources import PROJECT, hash_unit, read_jsonl
from training.data.splits import load_split
from training.trainers.fast import train_fast
from training.retrain.gate import HELDOUT, EvalSet, compare, crawl_rows, describe, eval_sets, evaluate_on  # noqa: F401

DEFAULT_CONFIG = PROJECT / "configs" / "retrain.toml"
REVIEWED = "reviewed"


@dataclass
class ReviewedSample:
    id: str
    text: str
    labels: dict[str, int]  # the risks it was judged on
    decided_at: str = ""


@dataclass
class RetrainResult:
    version: str
    promoted: bool
    reason: str
    current: str | None
    comparison: list[dict]
    counts: dict
    report: Path
    seconds: float = 0.0
    labels: list[str] = field(default_factory=list)


# -- configuration and inputs -------------------------------------------------------------------

def load_retrain_config(path: str | Path | None = None, overrides: dict | None = None) -> RetrainConfig:
    """configs/retrain.toml (or `path`) with `overrides` ({section: {key: value}}) merged in, typed
    and checked (training/recipe/ RetrainConfig holds the defaults)."""
    path = Path(path) if path else DEFAULT_CONFIG
    if path.is_file():
        raw = read_toml(path)
    elif path != DEFAULT_CONFIG:
        raise FileNotFoundError(f"no retrain config at {path}")
    else:
        raw = {}
    try:
        return build(RetrainConfig, merge(raw, overrides or {}))
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def load_reviewed(source: str | Path, labels: list[str]) -> list[ReviewedSample]:
    """Reviewed samples from a review queue (SQLite) or a `jingwang review export --format jsonl` file
    (also any JSONL with `id`, `text` and either `labels` {risk: 0|1} or one 0/1 column per risk)."""
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"cannot read reviewed samples from {source}: no such file")
    out: list[ReviewedSample] = []
    if _is_sqlite(source):
        from detector.review.db import ReviewDB

        try:
            items = list(ReviewDB(source, create=False).iter_items("reviewed"))
        except sqlite3.DatabaseError as e:
            raise ValueError(f"{source}: not a review queue ({e})") from None
        for it in items:
            out.append(ReviewedSample(it["id"], it["text"], {r: int(it["labels"][r]) for r in labels if r in it["labels"]},
                                      it["decided_at"] or ""))
        return out
    for n, row in enumerate(read_jsonl(source), 1):
        lab = row.get("labels") if isinstance(row.get("labels"), dict) else row
        got = {r: int(lab[r]) for r in labels if lab.get(r) in (0, 1, "0", "1", True, False)}
        if not isinstance(row.get("text"), str) or not row["text"].strip() or not got:
            raise ValueError(f"{source}, record {n}: needs a text and 0/1 labels for at least one of {', '.join(labels)}")
        out.append(ReviewedSample(str(row.get("id", f"{source.name}-{n}")), row["text"], got, str(row.get("decided_at", ""))))
    return out


def is_heldout(item_id: str, share: float, salt: str) -> bool:
    """A fixed choice per post id: the same items stay held out as more reviews arrive."""
    return hash_unit(f"{salt}:{item_id}") < share


# -- data ---------------------------------------------------------------------------------------

def _label_row(s: ReviewedSample, labels: list[str]) -> list[float]:
    return [float(s.labels[r]) if r in s.labels else np.nan for r in labels]


def build_splits(recipe: FastRecipe | dict, reviewed: list[ReviewedSample], cfg: RetrainConfig, root=None, log=print):
    """Base splits with reviewed samples joined to train, and the held-out reviewed slice."""
    recipe = as_recipe(recipe)
    labels, data, evasion, rc = list(recipe.model.labels), recipe.data, recipe.cleaning.evasion, cfg.reviewed
    splits = {k: load_split(data.sources, name, labels, root, evasion=evasion) for k, name in data.named_splits().items()}
    counts = {"reviewed": len(reviewed)}

    # reviewed: one decision per post id (the latest), then one per exact original text (the same
    # post crawled twice); different posts whose cleaned texts are equal (mention-only posts all
    # clean to "[AT]") stay apart. A group touching the held-out slice goes there whole.
    by_id: dict[str, ReviewedSample] = {}
    for s in reviewed:
        if s.id not in by_id or (s.decided_at, s.id) >= (by_id[s.id].decided_at, by_id[s.id].id):
            by_id[s.id] = s
    groups: dict[str, list[ReviewedSample]] = {}
    for s in by_id.values():
        groups.setdefault(s.text, []).append(s)
    train_r, held_r = {}, {}
    for text, members in groups.items():
        latest = max(members, key=lambda s: (s.decided_at, s.id))
        ctext = clean(text, evasion=evasion).text
        key = (ctext, text)
        if any(is_heldout(s.id, rc.heldout_share, rc.salt) for s in members):
            held_r[key] = latest
        else:
            train_r[key] = latest
    counts["duplicates_removed"] = len(reviewed) - len(train_r) - len(held_r)
    test_texts = set(splits["test"].texts)
    leaked = [k for k in train_r if k[0] in test_texts]
    for k in leaked:
        del train_r[k]
    counts["in_test_sets_not_trained"] = len(leaked)
    counts["heldout"], counts["train"] = len(held_r), len(train_r)

    # reviewed labels override base rows with the same cleaned text
    override = {k[0] for k in train_r} | {k[0] for k in held_r}
    for k in ("train", "dev"):
        sp = splits[k]
        keep = np.array([t not in override for t in sp.texts], bool)
        counts[f"base_{k}_rows_overridden"] = int((~keep).sum())
        splits[k] = sp.select(keep)
    repeat = max(1, rc.repeat)
    if train_r:
        rows = list(train_r.items()) * repeat
        splits["train"] = splits["train"].extend([k[0] for k, _ in rows],
                                                 np.array([_label_row(s, labels) for _, s in rows], float), REVIEWED)
    log(f"reviewed samples: {counts['reviewed']} -> {counts['train']} train (x{repeat}), {counts['heldout']} held out, "
        f"{counts['duplicates_removed']} duplicates, {counts['in_test_sets_not_trained']} also in test sets; "
        f"base rows overridden: train {counts['base_train_rows_overridden']}, dev {counts['base_dev_rows_overridden']}")
    return splits, list(train_r.values()), list(held_r.values()), counts


def crawl_texts(crawl: str | Path | None, reviewed: str | Path, samples: list[ReviewedSample]) -> list[str]:
    """The crawl's post texts: the given file, else every post of the review queue, else the reviewed posts."""
    if crawl is not None:
        from detector.batch.io import Post, iter_posts

        return [p.text for p in iter_posts(str(crawl)) if isinstance(p, Post)]
    if _is_sqlite(Path(reviewed)):
        from detector.review.db import ReviewDB

        return [it["text"] for it in ReviewDB(reviewed, create=False).iter_items(None)]
    return [s.text for s in samples]


# -- the whole retrain --------------------------------------------------------------------------

def _reviewed_sha(samples: list[ReviewedSample]) -> str:
    body = json.dumps(sorted([s.id, s.labels] for s in samples), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def start_registry(reg: Registry, from_model: str | Path, log=print) -> None:
    """`retrain --from`: v0001 is a copy of `from_model`, made current with the copy (one lock).
    A run interrupted after the copy (v0001 there, current or not) is resumed, not refused."""
    from_model = Detector.read_config(from_model)[0]  # a registry: its current version
    versions = reg.versions()
    reason = f"first version, copied from {from_model}"
    if not versions:
        first = reg.add_copy(from_model, current_reason=reason)
        log(f"registry {reg.root} started: {first} = copy of {from_model}")
        return
    if versions == [version_name(1)] and same_files(reg.root / versions[0], from_model):
        if reg.current() is None:
            reg.promote(versions[0], reason=f"{reason} (an interrupted run had copied it)")
        log(f"registry {reg.root}: resuming an interrupted run, {versions[0]} = copy of {from_model} is current")
        return
    raise ValueError(f"{reg.root} already has versions ({', '.join(versions)}): --from only starts a new registry; "
                     f"run without --from to retrain against its current version")


def same_files(a: Path, b: Path) -> bool:
    """Two model folders with the same config.json and the same files of the same sizes."""
    def listing(p: Path) -> list:
        return sorted((str(f.relative_to(p)), f.stat().st_size) for f in p.rglob("*") if f.is_file())
    return (a / "config.json").read_bytes() == (b / "config.json").read_bytes() and listing(a) == listing(b)


def retrain(base_config: str | Path | Recipe | dict, reviewed: str | Path, out: str | Path,
            from_model: str | Path | None = None, config: str | Path | None = None, overrides: list[str] | None = None,
            root=None, promote: bool = True, crawl: str | Path | None = None, log=print) -> RetrainResult:
    """Train a challenger, compare it with the current model (training/retrain/gate.py) and promote
    it if no check refuses. `crawl`: the posts the reviews came from (JSONL/CSV/Parquet with a
    text field; default: every post in the review queue)."""
    t0 = time.time()
    root = Path(root) if root is not None else None
    given = isinstance(base_config, (dict, Recipe))
    recipe = copy.deepcopy(as_recipe(base_config)) if given else load_recipe(base_config, overrides)
    if not isinstance(recipe, FastRecipe):
        raise ValueError(f"retrain builds fast models: the base recipe's model.type is {recipe.model.type!r}")
    cfg = load_retrain_config(config)
    labels = list(recipe.model.labels)
    reg = Registry(out)
    with reg.lock(".retrain.lock", wait=False):
        if from_model is not None:
            start_registry(reg, from_model, log)
        current = reg.current()
        samples = load_reviewed(reviewed, labels)
        splits, train_r, held_r, counts = build_splits(recipe, samples, cfg, root, log)
        number = reg.next_number()
        recipe.model.name, recipe.model.version = reg.name, str(number)
        stage = reg.staging()
        extra = {"reviewed": {"source": str(reviewed), "n_train": len(train_r), "n_heldout": len(held_r),
                              "repeat": cfg.reviewed.repeat, "sha256": _reviewed_sha(train_r),
                              "heldout_share": cfg.reviewed.heldout_share, "salt": cfg.reviewed.salt}}
        try:
            challenger = train_fast(recipe, stage, root=root, log=log, splits=splits, extra_config=extra)
            sets = eval_sets(recipe, labels, held_r, root)
            log(f"evaluating on {len(sets)} sets ({sum(len(s.y) for s in sets)} items)")
            ch_metrics = evaluate_on(challenger, sets)
            cur_metrics = evaluate_on(Detector.from_pretrained(reg.root / current), sets) if current else None
            rows, ok, reason = compare(sets, cur_metrics, ch_metrics, cfg)
            if current:
                posts = crawl_texts(crawl, reviewed, samples)
                extra_rows = crawl_rows(Detector.from_pretrained(reg.root / current), challenger, samples, posts, cfg)
                rows += extra_rows
                refused = [r for r in extra_rows if r["gates"] and not r["ok"]]
                if refused:
                    why = "; ".join(describe(r) for r in refused)
                    reason = why if not ok else f"the challenger would raise flags reviewers rejected: {why}"
                    ok = False
            version = reg.add(stage, number)
        except BaseException:
            import shutil
            shutil.rmtree(stage, ignore_errors=True)
            raise
        do_promote = ok and promote
        if ok and not promote:
            reason = f"would promote ({reason}), but --no-promote was given"
        report = {"challenger": version, "current": current, "promoted": do_promote, "reason": reason,
                  "rule": "training/retrain/gate.py: fixed sets (macro-F1), real comments (false flags per 1,000), "
                          "held-out reviews (flag precision), the crawl (flag rate of risks reviewers mostly rejected)",
                  "promotion": to_dict(cfg.promotion),
                  "base_config": recipe.recipe.path or "(dict)", "reviewed_source": str(reviewed),
                  "counts": counts, "comparison": rows,
                  "heldout_ids": sorted(s.id for s in held_r),
                  "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.time() - t0, 1)}
        path = reg.root / version / "retrain_report.json"
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        if do_promote:
            reg.promote(version, reason=reason, extra={"report": f"{version}/retrain_report.json"})
    return RetrainResult(version, do_promote, reason, current, rows, counts, path, time.time() - t0, labels)
