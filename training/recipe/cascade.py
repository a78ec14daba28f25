"""The cascade's recipe (configs/cascade.toml): two members and the band between them.

`jingwang train --config configs/cascade.toml --out DIR` builds the fast member and the second
member (each from its recipe into DIR/fast and DIR/second, or an existing model folder used as it
is), then chooses the band on dev as `jingwang model cascade` does and writes DIR/cascade.json
(training/trainers/dispatch.py `train_cascade`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from training.recipe.common import Model, Recipe, Sources


@dataclass(kw_only=True)
class Member:
    """[fast] or [second]: one member of the cascade."""
    recipe: str = ""          # its recipe (configs/*.toml), trained into OUT/fast or OUT/second
    # an existing model folder (or registry): when it holds a model it is used as it is and the
    # recipe is not trained; when it does not, the recipe is trained into OUT/<member>
    model: str = ""
    overrides: list[str] = field(default_factory=list)   # `--set` overrides of the recipe


@dataclass(kw_only=True)
class Band:
    """[band]: how the uncertain band is chosen (training/trainers/cascade.py, `jingwang model cascade`)."""
    max_loss: float = 0.3     # macro-F1 points each risk may lose on dev against the second model alone
    traffic: str = ""         # JSONL of real unlabeled posts whose routed share is minimised ("" = the dev texts)
    subset: int = 0           # at most this many dev rows per source (0 = all)
    split: str = "dev"        # the labeled split the band is chosen on
    # per risk, the dev rows max_loss is measured on: the sources whose posts the thresholds were
    # made for (e.g. {harassment = ["real"]}); None = every dev row of the members' sources
    sources: Sources = None
    # every post the fast model would flag is scored again by the second model (the band reaches
    # the top): flags carry the second model's precision, for a little more traffic
    recheck_flags: bool = False

    def __post_init__(self):
        if self.max_loss < 0 or self.subset < 0:
            raise ValueError(f"band.max_loss and band.subset must be 0 or more, not {self.max_loss}, {self.subset}")


@dataclass(kw_only=True)
class CascadeModel(Model):
    name: str = "cascade"


@dataclass(kw_only=True)
class CascadeRecipe(Recipe):
    model: CascadeModel
    fast: Member              # scores every post
    second: Member            # scores the posts in the band (usually a transformer)
    band: Band = field(default_factory=Band)

    def __post_init__(self):
        for name in ("fast", "second"):
            member = getattr(self, name)
            if not member.recipe and not member.model:
                raise ValueError(f"{name} needs a recipe (a configs/*.toml to train) or a model (a folder to use)")
