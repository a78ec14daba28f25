"""Train any recipe: dispatch on `model.type` to the trainer for that scorer."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from training.recipe import as_recipe, load_recipe


def _fast(recipe, out, log, **kw):
    from training.trainers.fast import train_fast
    return train_fast(recipe, out, log=log, **kw)


def _transformer(recipe, out, log, **kw):
    from training.trainers.transformer import train_transformer
    return train_transformer(recipe, out, log=log, **kw)


def _ensemble(recipe, out, log, **kw):
    from training.trainers.ensemble import build_ensemble
    train_members(recipe.ensemble, log)
    return build_ensemble(recipe, out, log=log)


def train_members(ens, log=print, root=None) -> list[str]:
    """Train each ensemble member whose folder holds no model from its recipe (ensemble.recipes);
    a transformer whose checkpoints are in <folder>.ckpt continues from the newest. Every recipe is
    read and checked before anything trains. Returns the folders trained."""
    import time

    from detector.model.core import Detector, ModelNotFoundError
    from training.trainers.transformer import checkpoint_dir
    from training.trainers.transformer_checkpoint import checkpoints

    todo = []
    for path, rec in zip(ens.members, ens.recipes or [""] * len(ens.members)):
        try:
            Detector.read_config(path)
            continue
        except ModelNotFoundError:
            if not rec:
                raise FileNotFoundError(f"ensemble member {path}: no model there, and ensemble.recipes names none "
                                        "to train it from") from None
        member = as_recipe(load_recipe(rec))
        if member.model.type not in ("fast", "transformer"):
            raise ValueError(f"ensemble member {path}: {rec} is a {member.model.type} recipe; a member is "
                             "trained from a fast or transformer recipe")
        todo.append((path, rec, member))
    for path, rec, member in todo:
        kw, t = ({} if root is None else {"root": root}), time.time()
        if member.model.type == "transformer":
            ckpt = checkpoint_dir(member, path)
            if ckpt.is_dir() and checkpoints(ckpt):
                kw["resume_from"] = ckpt
        resume = f", resuming from {kw['resume_from']}" if "resume_from" in kw else ""
        log(f"ensemble member {path}: training {rec}{resume}")
        TRAINERS[member.model.type](member, path, log, **kw)
        log(f"ensemble member {path}: trained in {time.time() - t:.0f} s")
    return [path for path, _, _ in todo]


def _cascade(recipe, out, log, **kw):
    return train_cascade(recipe, out, log=log)


TRAINERS: dict[str, Callable] = {"fast": _fast, "transformer": _transformer, "ensemble": _ensemble,
                                 "cascade": _cascade}


def train_from_recipe(config: str | Path, out: str | Path, overrides: list[str] | None = None, log=print,
                      registry: bool = False, resume_from: str | Path | None = None):
    """Train the recipe into `out`; with `registry`, `out` is a model registry (models/NAME) and the
    model becomes its next version, made current (`jingwang retrain` and `models` work on it).
    `resume_from`: a checkpoint (or a folder of them) of a run of the same recipe to continue
    (transformer recipes only)."""
    recipe = as_recipe(load_recipe(config, overrides))  # checked here: a wrong key stops before any data is read
    kind = recipe.model.type
    if registry and kind == "cascade":
        raise ValueError(f"{config}: a cascade folder is not a registry version; train it without --registry")
    kw = {}
    if resume_from is not None:
        if kind != "transformer":
            raise ValueError(f"--resume-from continues transformer runs; {config} is a {kind} recipe")
        kw["resume_from"] = resume_from
    if not registry:
        return TRAINERS[kind](recipe, out, log, **kw)
    from detector.registry import Registry

    reg = Registry(out)
    stage = reg.staging()
    try:
        recipe.model.version = str(reg.next_number())
        TRAINERS[kind](recipe, stage, log, **kw)
        version = reg.add(stage, current_reason=f"trained from {config}")  # added and current under one lock
    except BaseException:
        import shutil
        shutil.rmtree(stage, ignore_errors=True)
        raise
    log(f"{out}: {version} is current")
    return version


def _member(recipe, name: str, out: Path) -> tuple[Path, object | None]:
    """(folder, recipe to train or None) of a cascade member: its `model` folder when that holds a
    model, else its recipe (read and checked now, before anything trains) into OUT/<name>."""
    from detector.model.core import Detector, ModelNotFoundError

    m = getattr(recipe, name)
    if m.model:
        try:
            Detector.read_config(m.model)
            return Path(m.model), None
        except ModelNotFoundError:
            if not m.recipe:
                raise FileNotFoundError(f"{name}.model {m.model}: no model there, and {name}.recipe names none "
                                        f"to train") from None
    member = load_recipe(m.recipe, m.overrides)
    if member.model.type == "cascade":
        raise ValueError(f"{name}.recipe {m.recipe} is a cascade; a member is a fast, transformer or ensemble recipe")
    return out / name, member


def train_cascade(recipe, out: str | Path, log=print) -> dict:
    """A cascade from its recipe (training/recipe/cascade.py): the fast member, the second member
    (each trained from its recipe, or an existing folder used as it is), then the band chosen on dev
    exactly as `jingwang model cascade` does, into OUT/cascade.json; the resolved recipe and the
    members' folders are added to that file. Use: `jingwang score POSTS --model FAST --cascade OUT`."""
    import json
    import os
    import time

    from detector.model.cascade import CASCADE
    from training.recipe import library_versions
    from training.trainers.cascade import build_cascade

    t0, out, band = time.time(), Path(out), recipe.band
    plan = {name: _member(recipe, name, out) for name in ("fast", "second")}
    if band.traffic and not Path(band.traffic).is_file():
        raise FileNotFoundError(f"band.traffic: cannot read {band.traffic}: no such file")
    members = {}
    for name, (path, member) in plan.items():
        t = time.time()
        if member is None:
            log(f"{name}: using the model in {path}")
        else:
            log(f"{name}: training {getattr(recipe, name).recipe} into {path}")
            TRAINERS[member.model.type](member, path, log)
        members[name] = {"path": str(path), "trained": member is not None, "seconds": round(time.time() - t, 1)}
    fast, second = plan["fast"][0], plan["second"][0]
    res = build_cascade(fast, second, out, band.max_loss / 100, traffic=band.traffic or None, subset=band.subset,
                        split=band.split, log=log, select=band.sources, recheck_flags=band.recheck_flags)
    cfg = json.loads((out / CASCADE).read_text(encoding="utf-8"))
    cfg.update(first_path=os.path.relpath(os.path.abspath(fast), os.path.abspath(out)), members=members,
               recipe=recipe.to_dict(), library_versions=library_versions(), train_seconds=round(time.time() - t0, 1))
    (out / CASCADE).write_text(json.dumps(cfg, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"cascade written to {out}: routes {100 * res['routed_share_traffic']:.1f}% of "
        f"{'traffic' if band.traffic else band.split} posts to the second model; score with "
        f"`jingwang score POSTS.jsonl --model {fast} --cascade {out}`")
    return res
