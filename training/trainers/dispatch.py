"""Train any recipe: dispatch on `model.type` to the trainer for that scorer."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from training.recipe import as_recipe, load_recipe


def _fast(recipe, out, log):
    from training.trainers.fast import train_fast
    return train_fast(recipe, out, log=log)


def _transformer(recipe, out, log):
    from training.trainers.transformer import train_transformer
    return train_transformer(recipe, out, log=log)


def _ensemble(recipe, out, log):
    from training.trainers.ensemble import build_ensemble
    return build_ensemble(recipe, out, log=log)


TRAINERS: dict[str, Callable] = {"fast": _fast, "transformer": _transformer, "ensemble": _ensemble}


def train_from_recipe(config: str | Path, out: str | Path, overrides: list[str] | None = None, log=print,
                      registry: bool = False):
    """Train the recipe into `out`; with `registry`, `out` is a model registry (models/NAME) and the
    model becomes its next version, made current (`jingwang retrain` and `models` work on it)."""
    recipe = as_recipe(load_recipe(config, overrides))  # checked here: a wrong key stops before any data is read
    kind = recipe.model.type
    if not registry:
        return TRAINERS[kind](recipe, out, log)
    from detector.registry import Registry

    reg = Registry(out)
    stage = reg.staging()
    try:
        recipe.model.version = str(reg.next_number())
        TRAINERS[kind](recipe, stage, log)
        version = reg.add(stage, current_reason=f"trained from {config}")  # added and current under one lock
    except BaseException:
        import shutil
        shutil.rmtree(stage, ignore_errors=True)
        raise
    log(f"{out}: {version} is current")
    return version
