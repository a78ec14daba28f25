"""The ensemble's recipe (configs/ensemble.toml) and the retrain settings (configs/retrain.toml)."""
from __future__ import annotations

from dataclasses import dataclass, field

from training.recipe.common import Model, PerRisk, Recipe, Sources
from training.recipe.fast import FastThresholds


@dataclass(kw_only=True)
class Ensemble:
    members: list[str]
    weights: str | list[float] = "tune"   # one per member, or "tune" (a grid over the simplex on dev)
    grid_step: float = 0.1
    per_risk: bool = False
    # one recipe per member ("" = none): trained into the member's folder when that folder holds no
    # model (a transformer run with checkpoints in <folder>.ckpt continues from the newest), so one
    # `jingwang train` builds the members and the ensemble; [] = every member must exist
    recipes: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.recipes and len(self.recipes) != len(self.members):
            raise ValueError(f"ensemble.recipes names {len(self.recipes)} recipes for {len(self.members)} "
                             "members: give one per member (\"\" for a member that must exist)")


@dataclass(kw_only=True)
class EnsembleData:
    sources: list[str]
    dev_split: str = "dev"
    test_split: str = "test"
    dev_subset: int = 0
    test_subset: int = 0
    select_sources: Sources = None  # weights tuned by dev macro-F1 on these sources' dev rows (None = all)


@dataclass(kw_only=True)
class EnsembleRecipe(Recipe):
    model: Model
    ensemble: Ensemble
    data: EnsembleData
    # as the fast and transformer recipes (training/trainers/calibrate.py risk_threshold)
    thresholds: FastThresholds = field(default_factory=FastThresholds)


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


