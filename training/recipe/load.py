"""Reading a recipe: the model type picks the dataclass, `--set` overrides are checked against it
before they apply, and settings per risk name only known risks."""
from __future__ import annotations

from pathlib import Path

from training.recipe.cascade import CascadeRecipe
from training.recipe.common import Recipe, _number, read_toml
from training.recipe.ensemble import EnsembleRecipe
from training.recipe.fast import FastRecipe
from training.recipe.transformer import TransformerRecipe
from training.typed import apply_overrides, build, check_path, merge, parse_override, unknown_key

RECIPES: dict[str, type] = {"fast": FastRecipe, "transformer": TransformerRecipe, "ensemble": EnsembleRecipe,
                            "cascade": CascadeRecipe}
PER_RISK = {"data": ("cross_negative_weight", "gate_sources", "select_sources"), "classifier": ("C", "nb_scale"),
            "calibration": ("sources",), "thresholds": ("rule", "sources", "max_false_flags", "budget_sources"),
            "train": ("select_sources",), "distill": ("weight",)}
SOURCE_TABLES = (FastRecipe, TransformerRecipe)   # recipes with data.source_weight and data.mask
RULES = ("f1", "macro_f1", "budget")   # and precision:P (training/trainers/calibrate.py risk_threshold)


def recipe_class(raw: dict) -> type:
    kind = raw.get("model", {}).get("type") if isinstance(raw.get("model"), dict) else None
    if kind not in RECIPES:
        raise ValueError(f"model.type must be one of {', '.join(RECIPES)}, not {kind!r}")
    return RECIPES[kind]


def parse_recipe(raw: dict) -> Recipe:
    """The typed recipe of a dict (a TOML file's tables), checked; ValueError names what is wrong."""
    recipe = build(recipe_class(raw), raw)
    check_risks(recipe)
    return recipe


def as_recipe(recipe: Recipe | dict) -> Recipe:
    """A typed recipe as it is, a dict parsed (tests and benchmarks build recipes as dicts)."""
    return recipe if isinstance(recipe, Recipe) else parse_recipe(recipe)


def check_risks(recipe: Recipe) -> None:
    """Settings given per risk name only risks of model.labels; the threshold rules are known ones."""
    if isinstance(recipe, CascadeRecipe):  # its members' recipes are checked when they are read
        return
    labels = recipe.model.labels
    named = [(f"{section}.{key}", getattr(getattr(recipe, section, None), key, None))
             for section, keys in PER_RISK.items() for key in keys]
    if isinstance(recipe, SOURCE_TABLES):
        named += [(f"data.source_weight.{s}", w) for s, w in recipe.data.source_weight.items()]
        named += [(f"data.mask.{s}", dict.fromkeys(risks)) for s, risks in recipe.data.mask.items()]
    if isinstance(recipe, FastRecipe) and recipe.distill is not None:
        named += [("distill.risks", dict.fromkeys(recipe.distill.risks or []))]
    for where, value in named:
        for risk in value if isinstance(value, dict) else ():
            if risk not in labels:
                raise ValueError(unknown_key(risk, labels, "risk", f"{where}."))
    rules = recipe.thresholds.rule
    for rule in rules.values() if isinstance(rules, dict) else [rules]:
        if rule not in RULES and not (rule.startswith("precision:") and _number(rule.split(":", 1)[1])):
            raise ValueError(f"thresholds.rule {rule!r} is not a rule: use f1, macro_f1, precision:P or budget")


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """The recipe of a TOML file with `--set` overrides applied, typed and checked: a wrong key or
    value stops here, before any data is read."""
    path = Path(path)
    raw = read_toml(path, "no recipe there")
    try:
        cls = recipe_class(raw)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    for item in overrides or []:
        keys, _ = parse_override(item)
        check_path(cls, keys, f"--set {item}")
    raw = apply_overrides(raw, overrides or [])
    raw = merge(raw, {"recipe": {"path": str(path)}})
    try:
        return parse_recipe(raw)
    except ValueError as e:
        raise ValueError(f"{path}{' with --set ' + ' '.join(overrides) if overrides else ''}: {e}") from None
