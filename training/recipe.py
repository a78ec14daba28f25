"""Model recipes: TOML files under configs/, one per recipe, every hyperparameter named.
Overrides from the command line use dotted keys: `classifier.C=2.0`."""
from __future__ import annotations

import copy
import json
import platform
import tomllib
from importlib import metadata
from pathlib import Path

LIBRARIES = ("jingwang", "numpy", "scipy", "scikit-learn", "jieba", "rjieba", "pypinyin", "torch", "transformers",
             "datasets", "safetensors", "tokenizers", "opencc-python-reimplemented")


def read_toml(path: str | Path, missing: str = "no such file") -> dict:
    """A TOML file as a dict; a missing file or bad TOML is one sentence naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot read {path}: {missing}")
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{path}: not valid TOML ({e})") from None


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> dict:
    path = Path(path)
    recipe = apply_overrides(read_toml(path, "no recipe there"), overrides or [])
    recipe.setdefault("recipe", {})["path"] = str(path)
    return recipe


def apply_overrides(recipe: dict, overrides: list[str]) -> dict:
    out = copy.deepcopy(recipe)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out
        *parents, leaf = key.strip().split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return out
