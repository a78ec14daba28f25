"""Model recipes: TOML files under configs/, one per recipe, read into one typed dataclass per
section and model type. Every default lives here; an unknown key, in a file or in a `--set`
override (dotted keys: `classifier.C=2.0`), is an error naming it with the closest known key.
The resolved recipe (defaults filled in) is saved in every model's config.json."""
from __future__ import annotations

import platform
import tomllib
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path

from detector.risks import RISKS
from detector.scorers.features import FeaturizerConfig
from training.typed import apply_overrides, build, check_path, merge, parse_override, to_dict, unknown_key

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
class Calibration:
    method: str = field(default="sigmoid", metadata={"choices": CALIBRATION_METHODS})


@dataclass(kw_only=True)
class Thresholds:
    rule: str = "f1"      # f1 | macro_f1 | precision:P, chosen on dev


@dataclass(kw_only=True)
class Recipe:
    content_gate: bool = True  # posts without words are not flagged (detector/text/content.py)
    cleaning: Cleaning = field(default_factory=Cleaning)
    recipe: RecipeInfo = field(default_factory=RecipeInfo)

    def to_dict(self) -> dict:
        return to_dict(self)


# -- fast (configs/fast.toml) ---------------------------------------------------------------------

@dataclass(kw_only=True)
class FastData:
    sources: list[str]
    train_split: str = "train"
    dev_split: str = "dev"
    test_split: str = "test"
    limit: dict[str, int] = field(default_factory=dict)          # source -> at most this many rows
    source_weight: dict[str, PerRisk] = field(default_factory=dict)  # source -> row weight (SOURCE_WEIGHT)
    mask: dict[str, list[str]] = field(default_factory=dict)    # source -> risks its rows take no part in
    cross_negative_weight: PerRisk = 0.0
    domain_gate: list[str] = field(default_factory=list)        # risks with a domain gate
    gate_sources: Sources = None
    gate_saturation: float = 1.0

    def named_splits(self) -> dict[str, str]:
        return {"train": self.train_split, "dev": self.dev_split, "test": self.test_split}


@dataclass(kw_only=True)
class Classifier:
    C: PerRisk = 4.0
    nb_scale: PerRisk = 0.0    # NB-LR: features scaled by |NB log-count ratio|^nb_scale (0 = plain LR)
    gate_C: float = 4.0
    class_weight: str = field(default="balanced", metadata={"choices": CLASS_WEIGHTS})
    max_iter: int = 2000
    solver: str = "liblinear"


@dataclass(kw_only=True)
class FastCalibration(Calibration):
    sources: Sources = None    # fitted on the dev rows of these sources


@dataclass(kw_only=True)
class FastThresholds:
    rule: str | dict[str, str] = "f1"   # f1 | macro_f1 | precision:P | budget, once or per risk
    sources: Sources = None
    max_false_flags: PerRisk | None = None   # per 1,000 dev posts of budget_sources
    budget_sources: Sources = None


@dataclass(kw_only=True)
class LexiconFile:
    path: str = ""        # "" = the table in detector/resources


@dataclass(kw_only=True)
class SubtypeConfig:
    """[subtypes]: each flagged risk's subtypes (training/trainers/subtypes.py)."""
    # source -> {role: that source's split}; roles: train, dev, eval (eval: benchmarks/subtypes.py only)
    splits: dict[str, dict[str, str]] = field(default_factory=lambda: {
        "real": {"train": "train", "dev": "dev", "eval": "eval"},
        "paid_team": {"train": "train", "dev": "dev", "eval": "test"}})
    C: float = 4.0
    class_weight: str = field(default="balanced", metadata={"choices": CLASS_WEIGHTS})
    max_iter: int = 2000
    solver: str = "liblinear"
    lexicon_weight: float = 1.0     # scale of the intent scores beside the TF-IDF features
    min_positives: int = 5          # fewer training rows: the subtype is scored by its intents alone
    min_dev_positives: int = 10     # fewer dev rows: the threshold is default_threshold
    # thresholds are set on the dev rows of these sources only (the paid set's dev rows are
    # template text, where nearly any threshold separates the subtypes)
    threshold_sources: list[str] = field(default_factory=lambda: ["real"])
    default_threshold: float = 0.9  # also: a secondary subtype shows only from this score

    @classmethod
    def from_dict(cls, d: dict) -> "SubtypeConfig":
        return build(cls, d, "subtypes")


@dataclass(kw_only=True)
class FastRecipe(Recipe):
    model: Model
    data: FastData
    featurizer: FeaturizerConfig = field(default_factory=FeaturizerConfig)
    classifier: Classifier = field(default_factory=Classifier)
    calibration: FastCalibration = field(default_factory=FastCalibration)
    thresholds: FastThresholds = field(default_factory=FastThresholds)
    segmentation: Segmentation = field(default_factory=Segmentation)
    lexicon: LexiconFile = field(default_factory=LexiconFile)
    harassment_lexicon: LexiconFile = field(default_factory=LexiconFile)
    subtypes: SubtypeConfig | None = None   # no [subtypes] table: no subtype head


# -- transformer (configs/transformer*.toml) ------------------------------------------------------

@dataclass(kw_only=True)
class TransformerModel(Model):
    name: str = "transformer"
    base: str = "random:tiny"   # a local HF folder, or random:PRESET (training/trainers/transformer.py)
    pooling: str = field(default="mean", metadata={"choices": ("mean", "cls")})
    dropout: float = 0.1
    num_layers: int = 0         # 0 = every encoder layer
    freeze_embeddings: bool = False
    vocab_size: int = 8000      # random:PRESET only: at most this many characters


@dataclass(kw_only=True)
class TransformerData:
    sources: list[str]
    train_split: str = "train"
    dev_split: str = "dev"
    test_split: str = "test"
    balance: str = field(default="uniform", metadata={"choices": BALANCE_MODES})
    cross_negative_weight: float = 0.0

    def named_splits(self) -> dict[str, str]:
        return {"train": self.train_split, "dev": self.dev_split, "test": self.test_split}


@dataclass(kw_only=True)
class Train:
    max_length: int = 128
    batch_size: int = 32
    eval_batch_size: int = 64
    lr: float = 5e-5
    epochs: int = 1
    max_steps: int = 0          # 0 = no cap
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    subset: int = 0             # at most this many train rows per source (0 = all); dev_ and test_ alike
    dev_subset: int = 0
    test_subset: int = 0
    eval_every: int = 0         # 0 = once per epoch
    patience: int = 0           # 0 = no early stopping
    group_by_length: int = 50
    log_every: int = 50
    device: str = "auto"
    bf16: bool = True


@dataclass(kw_only=True)
class TransformerRecipe(Recipe):
    model: TransformerModel
    data: TransformerData
    train: Train = field(default_factory=Train)
    calibration: Calibration = field(default_factory=Calibration)
    thresholds: Thresholds = field(default_factory=Thresholds)
    segmentation: Segmentation = field(default_factory=Segmentation)


# -- ensemble (configs/ensemble.toml) -------------------------------------------------------------

@dataclass(kw_only=True)
class Ensemble:
    members: list[str]
    weights: str | list[float] = "tune"   # one per member, or "tune" (a grid over the simplex on dev)
    grid_step: float = 0.1
    per_risk: bool = False


@dataclass(kw_only=True)
class EnsembleData:
    sources: list[str]
    dev_split: str = "dev"
    test_split: str = "test"
    dev_subset: int = 0
    test_subset: int = 0


@dataclass(kw_only=True)
class EnsembleRecipe(Recipe):
    model: Model
    ensemble: Ensemble
    data: EnsembleData
    thresholds: Thresholds = field(default_factory=Thresholds)


# -- retrain (configs/retrain.toml) ---------------------------------------------------------------

@dataclass(kw_only=True)
class Reviewed:
    heldout_share: float = 0.2          # share of reviewed items held out (by a hash of the post id)
    salt: str = "jingwang-heldout-v1"
    repeat: int = 1                     # each reviewed training row counts this many times


@dataclass(kw_only=True)
class Promotion:
    min_n: int = 30                     # smaller sets (or one class only) are reported, do not decide
    tolerance: PerRisk = 0.01           # fixed sets: challenger macro-F1 >= current - tolerance
    false_flags_tolerance: float = 5.0  # real comments: false flags per 1,000 may rise by this much
    precision_tolerance: float = 0.02   # held-out reviews: flag precision may fall by this much
    min_flags: int = 10
    rejected_share: float = 0.5         # the crawl: risks whose flags reviewers mostly rejected ...
    min_rejected_flags: int = 5
    flag_rate_tolerance: float = 0.002  # ... may not be flagged on a larger share of it than this


@dataclass(kw_only=True)
class RetrainConfig:
    reviewed: Reviewed = field(default_factory=Reviewed)
    promotion: Promotion = field(default_factory=Promotion)

    def __post_init__(self):
        if not 0.0 <= self.reviewed.heldout_share < 1.0:
            raise ValueError(f"reviewed.heldout_share must be in [0, 1), not {self.reviewed.heldout_share}")


RECIPES: dict[str, type] = {"fast": FastRecipe, "transformer": TransformerRecipe, "ensemble": EnsembleRecipe}
PER_RISK = {"data": ("cross_negative_weight", "gate_sources"), "classifier": ("C", "nb_scale"),
            "calibration": ("sources",), "thresholds": ("rule", "sources", "max_false_flags", "budget_sources")}


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
    labels = recipe.model.labels
    named = [(f"{section}.{key}", getattr(getattr(recipe, section, None), key, None))
             for section, keys in PER_RISK.items() for key in keys]
    if isinstance(recipe, FastRecipe):
        named += [(f"data.source_weight.{s}", w) for s, w in recipe.data.source_weight.items()]
        named += [(f"data.mask.{s}", dict.fromkeys(risks)) for s, risks in recipe.data.mask.items()]
    for where, value in named:
        for risk in value if isinstance(value, dict) else ():
            if risk not in labels:
                raise ValueError(unknown_key(risk, labels, "risk", f"{where}."))
    rules = recipe.thresholds.rule
    for rule in rules.values() if isinstance(rules, dict) else [rules]:
        allowed = rule in ("f1", "macro_f1") or (rule == "budget" and isinstance(recipe, FastRecipe))
        if not allowed and not (rule.startswith("precision:") and _number(rule.split(":", 1)[1])):
            raise ValueError(f"thresholds.rule {rule!r} is not a rule: use f1, macro_f1, precision:P"
                             + (" or budget" if isinstance(recipe, FastRecipe) else ""))


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


# -- reading recipes ------------------------------------------------------------------------------

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


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return out
