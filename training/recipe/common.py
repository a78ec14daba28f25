"""What every recipe shares: constants, per-risk values, the sections every model type has,
reading TOML and the library versions recorded beside a model."""
from __future__ import annotations

import platform
import tomllib
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path

from detector.risks import RISKS
from training.typed import to_dict

LIBRARIES = ("jingwang", "numpy", "scipy", "scikit-learn", "jieba", "rjieba", "pypinyin", "torch", "transformers",
             "datasets", "safetensors", "tokenizers", "opencc-python-reimplemented")
CALIBRATION_METHODS = ("identity", "sigmoid", "temperature", "isotonic")
BALANCE_MODES = ("uniform", "sqrt", "none")
CLASS_WEIGHTS = ("balanced", "none")

SOURCE_WEIGHT = 1.0  # the row weight of a source (or risk) that data.source_weight leaves out
PerRisk = float | dict[str, float]            # one value, or {risk: value}; a risk left out takes the default
Sources = list[str] | dict[str, list[str]] | None   # sources once, or per risk; None = every source


def _risks():
    return list(RISKS)


# -- sections every recipe has --------------------------------------------------------------------

@dataclass(kw_only=True)
class Cleaning:
    evasion: bool = True  # undo evasive spellings (detector/text/cleaning.py)


@dataclass(kw_only=True)
class Segmentation:
    userdict: str = ""    # jieba user dictionary; "" = detector/resources/userdict.txt


@dataclass(kw_only=True)
class RecipeInfo:
    path: str = ""        # the TOML file the recipe was read from (set by load_recipe)


@dataclass(kw_only=True)
class Model:
    type: str
    name: str = "default"
    version: str | int = "1"
    seed: int = 13
    labels: list[str] = field(default_factory=_risks)

    def __post_init__(self):
        self.version = str(self.version)


@dataclass(kw_only=True)
class SourceData:
    """The `[data]` settings every trained model type shares (their meanings: configs/fast.toml)."""
    sources: list[str]
    train_split: str = "train"
    dev_split: str = "dev"
    test_split: str = "test"
    limit: dict[str, int] = field(default_factory=dict)          # source -> at most this many rows
    source_weight: dict[str, PerRisk] = field(default_factory=dict)  # source -> weight of its rows (SOURCE_WEIGHT)
    mask: dict[str, list[str]] = field(default_factory=dict)    # source -> risks its rows take no part in
    # source -> the positives of one incident weigh together at most this many rows (0 = no cap)
    group_cap: dict[str, PerRisk] = field(default_factory=dict)
    cross_negative_weight: PerRisk = 0.0

    def named_splits(self) -> dict[str, str]:
        return {"train": self.train_split, "dev": self.dev_split, "test": self.test_split}


@dataclass(kw_only=True)
class Calibration:
    method: str = field(default="sigmoid", metadata={"choices": CALIBRATION_METHODS})


@dataclass(kw_only=True)
class Recipe:
    content_gate: bool = True  # posts without words are not flagged (detector/text/content.py)
    cleaning: Cleaning = field(default_factory=Cleaning)
    recipe: RecipeInfo = field(default_factory=RecipeInfo)

    def to_dict(self) -> dict:
        return to_dict(self)


def _number(s: str) -> bool:
    try:
        return 0.0 < float(s) <= 1.0
    except ValueError:
        return False


def per_risk(value, risk: str, default):
    """A setting given once or per risk ({rumor = 32.0, ...}): its value for `risk`, else `default`."""
    if isinstance(value, dict):
        return value.get(risk, default)
    return default if value is None else value


def risk_value(section, name: str, risk: str):
    """Setting `name` of a recipe section for `risk`; a risk a per-risk table leaves out takes the
    field's default (so every default stays in the dataclasses above)."""
    default = next(f.default for f in fields(section) if f.name == name)
    return per_risk(getattr(section, name), risk, default)


def risk_sources(value: Sources, risk: str) -> list[str] | None:
    """Sources named once (a list) or per risk ({rumor = [...]}); None = every source."""
    return list(per_risk(value, risk, None) or []) or None



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


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return out
