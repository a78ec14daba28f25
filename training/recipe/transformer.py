"""The transformer's recipe (configs/transformer*.toml)."""
from __future__ import annotations

from dataclasses import dataclass, field

from training.recipe.common import BALANCE_MODES, Model, Recipe, Segmentation, SourceData, Sources
from training.recipe.fast import FastCalibration, FastThresholds


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
class TransformerData(SourceData):
    # source_weight: the loss weight of a source's rows
    balance: str = field(default="uniform", metadata={"choices": BALANCE_MODES})


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
    select_sources: Sources = None  # best step by dev macro-F1 on the dev rows of these sources (None = all)
    checkpoint_every: int = 0   # 0 = no checkpoints
    checkpoint_dir: str = ""    # "" = <out>.ckpt
    keep_checkpoints: int = 2   # the newest this many are kept


@dataclass(kw_only=True)
class TransformerRecipe(Recipe):
    model: TransformerModel
    data: TransformerData
    train: Train = field(default_factory=Train)
    calibration: FastCalibration = field(default_factory=FastCalibration)
    thresholds: FastThresholds = field(default_factory=FastThresholds)
    segmentation: Segmentation = field(default_factory=Segmentation)


