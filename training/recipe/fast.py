"""The fast model's recipe (configs/fast.toml)."""
from __future__ import annotations

from dataclasses import dataclass, field

from detector.scorers.features import FeaturizerConfig
from training.recipe.common import (CLASS_WEIGHTS, Calibration, Model, PerRisk, Recipe, Segmentation, SourceData,
                                    Sources)
from training.typed import build


@dataclass(kw_only=True)
class FastData(SourceData):
    domain_gate: list[str] = field(default_factory=list)        # risks with a domain gate
    gate_sources: Sources = None
    gate_saturation: float = 1.0


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
class Distill:
    """[distill]: soft labels of a teacher (a `jingwang score` output on unlabeled comments) as extra
    training rows (training/trainers/distill.py). Each row enters twice: a positive weighing w*p and
    a negative weighing w*(1-p), p = the teacher's score."""
    scores: str                          # the teacher's JSONL: `id`, `text`, `scores` {risk: p} per line
    # per risk: the distilled rows' total weight as a share of the total weight of the risk's
    # annotated training rows (after class balancing and data.source_weight); 0 = none for that risk
    weight: PerRisk = 0.5
    risks: list[str] | None = None       # risks that learn from the teacher (None = every label)
    limit: int = 0                       # at most this many rows, a random sample with model.seed (0 = all)
    # never trained on, by id and exact text (besides the dev and test splits of data.sources, always):
    exclude_sources: list[str] = field(default_factory=lambda: ["real"])   # every split of these sources
    exclude_files: list[str] = field(default_factory=list)   # JSONL (`id`, `text`) or labels .tsv (`id`)

    def __post_init__(self):
        if self.limit < 0:
            raise ValueError(f"distill.limit must be 0 (all rows) or more, not {self.limit}")
        for w in (self.weight.values() if isinstance(self.weight, dict) else [self.weight]):
            if w < 0:
                raise ValueError(f"distill.weight must be 0 or more, not {w}")


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
    distill: Distill | None = None          # no [distill] table: labeled rows only


