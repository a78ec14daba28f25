"""Train the transformer scorer from a recipe: one encoder with one sigmoid output per risk,
trained on all sources at once with the loss of unannotated risks masked (or counted as
weighted cross-source negatives), sources balanced by sampling, early stopping on dev;
then calibration and thresholds on dev, test metrics, and a self-describing model folder.
The loop and its checkpoints: transformer_loop.py, transformer_checkpoint.py."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertModel

from detector.model.core import Detector
from detector.scorers.compute import resolve_device, set_torch_threads
from detector.scorers.transformer import MultiLabelEncoder, TransformerScorer, batch_logits, load_encoder
from detector.text.segment import DEFAULT_USERDICT, Segmenter
from training.data.splits import Split, group_scale, load_split
from training.data.transformer_batches import build_char_tokenizer, loss_targets, source_tables, source_weights
from training.evaluation.metrics import binary_metrics
from training.recipe import TransformerModel, TransformerRecipe, as_recipe, risk_sources, risk_value
from training.trainers.calibrate import calibrate_risk
from training.trainers.fast import model_config, source_metrics, write_model_card
from training.trainers.transformer_checkpoint import check_recipe, read_checkpoint
from training.trainers.transformer_loop import (  # noqa: F401 (make_optimizer, masked_bce: used from here)
    Encoded, Targets, Trainer, make_optimizer, masked_bce)
from training.typed import build

# `model.base = "random:NAME"`: a randomly initialised BERT with a char vocabulary built from
# the training texts (vocab_size here is a minimum: the embedding table is at least this big).
RANDOM_PRESETS: dict[str, dict] = {
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
    "e5-small": {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12,
                 "intermediate_size": 1536, "vocab_size": 20000},
}


def build_encoder(model_cfg: TransformerModel | dict, texts: list[str], max_length: int):
    """(encoder, tokenizer): a local folder (optionally cut to its first `num_layers` layers)
    or `random:PRESET` (char tokenizer from `texts`, random BERT). `model_cfg`: the recipe's
    [model] table (a dict: the keys it gives, the rest their defaults)."""
    if isinstance(model_cfg, dict):
        model_cfg = build(TransformerModel, {"type": "transformer", **model_cfg}, "model")
    base, layers = model_cfg.base, model_cfg.num_layers
    if not base.startswith("random:"):
        folder = Path(base)
        return load_encoder(folder, **({"num_hidden_layers": layers} if layers else {}))
    name = base.split(":", 1)[1]
    if name not in RANDOM_PRESETS:
        raise ValueError(f"model.base {base!r}: unknown random preset; known: {', '.join(RANDOM_PRESETS)}")
    preset = dict(RANDOM_PRESETS[name])
    tokenizer = build_char_tokenizer(texts, model_cfg.vocab_size, max(512, max_length))
    vocab = max(len(tokenizer), int(preset.pop("vocab_size", 0)))
    if layers:
        preset["num_hidden_layers"] = layers
    cfg = BertConfig(vocab_size=vocab, max_position_embeddings=max(512, max_length + 2),
                     pad_token_id=tokenizer.pad_token_id, **preset)
    return BertModel(cfg), tokenizer


def freeze_embeddings(encoder: torch.nn.Module) -> int:
    """Stop training the embedding layer (word, position, type embeddings); returns #frozen params."""
    module = encoder.embeddings if hasattr(encoder, "embeddings") else encoder.get_input_embeddings()
    n = 0
    for p in module.parameters():
        p.requires_grad_(False)
        n += p.numel()
    return n


def encode(split: Split, tokenizer, max_length: int) -> Encoded:
    ids = tokenizer(split.texts, truncation=True, max_length=max_length)["input_ids"] if split.texts else []
    return Encoded(ids, split.y, split.source, split.groups())


def select_rows(dev: Encoded, labels: list[str], select) -> Encoded:
    """The dev rows model selection scores (`train.select_sources`, once or per risk): a risk's
    labels outside its sources become NaN and rows left with no label drop out. None: all of dev."""
    if not any(risk_sources(select, r) for r in labels):
        return dev
    y = dev.y.copy()
    for j, risk in enumerate(labels):
        sources = risk_sources(select, risk)
        if sources:
            y[~np.isin(dev.sources, sources), j] = np.nan
    rows = np.flatnonzero(~np.isnan(y).all(axis=1))
    return Encoded([dev.ids[i] for i in rows], y[rows], dev.sources[rows])


def train_targets(train: Encoded, recipe: TransformerRecipe, labels: list[str]) -> Targets:
    """Loss targets and weights of the train rows (cross-source negatives, data.source_weight and
    data.mask as the fast recipe reads them) and their sampling probabilities (data.balance)."""
    d = recipe.data
    probs = source_weights(train.sources, d.balance)
    scale, drop = source_tables(train.sources, labels, d.source_weight, d.mask)
    if d.group_cap and train.groups is not None:
        for j, risk in enumerate(labels):
            scale[:, j] *= group_scale(train.y[:, j], train.sources, train.groups, d.group_cap, risk)
    cross = [float(risk_value(d, "cross_negative_weight", r)) for r in labels]
    y, w = loss_targets(train.y, cross, probs, scale, drop)
    return Targets(y, w, probs)


def risk_calibration(j: int, risk: str, z_dev: np.ndarray, dev: Encoded, recipe: TransformerRecipe):
    """(calibrator, threshold) of one risk, chosen as for the fast model (`calibrate_risk`)."""
    def dev_scores(sources: list[str] | None, cal):
        m = ~np.isnan(dev.y[:, j])
        if sources:
            m &= np.isin(dev.sources, sources)
        if not m.any():
            raise ValueError(f"no dev rows{' of ' + ', '.join(sources) if sources else ''} annotate risk {risk!r}")
        return (z_dev[m, j] if cal is None else cal(z_dev[m, j])), dev.y[m, j]

    return calibrate_risk(risk, recipe.calibration, recipe.thresholds, dev_scores)


def calibrate_and_measure(labels: list[str], z_dev: np.ndarray, dev: Encoded, z_test: np.ndarray,
                          test: Encoded, recipe: TransformerRecipe, log=print):
    """Per risk: calibrator and threshold on dev (risk_calibration), metrics on dev and test,
    overall and per source."""
    cals, thresholds, metrics = [], {}, {"dev": {}, "test": {}}
    for j, risk in enumerate(labels):
        cal, thr = risk_calibration(j, risk, z_dev, dev, recipe)
        cals.append(cal)
        thresholds[risk] = thr
        dm, tm = ~np.isnan(dev.y[:, j]), ~np.isnan(test.y[:, j])
        metrics["dev"][risk] = binary_metrics(dev.y[dm, j], cal(z_dev[dm, j]), thr)
        metrics.setdefault("dev_by_source", {})[risk] = source_metrics(
            dev.y[dm, j], cal(z_dev[dm, j]), np.asarray(dev.sources)[dm], thr)
        if tm.any():
            metrics["test"][risk] = binary_metrics(test.y[tm, j], cal(z_test[tm, j]), thr)
            metrics.setdefault("test_by_source", {})[risk] = source_metrics(
                test.y[tm, j], cal(z_test[tm, j]), np.asarray(test.sources)[tm], thr)
            log(f"{risk}: dev macro-F1 {metrics['dev'][risk]['macro_f1']:.4f}  "
                f"test macro-F1 {metrics['test'][risk]['macro_f1']:.4f}  threshold {thr:.3f}")
    return cals, thresholds, metrics


def load_splits(recipe: TransformerRecipe, labels: list[str], root, log=print) -> dict[str, Split]:
    d, t = recipe.data, recipe.train
    caps = {"train": t.subset, "dev": t.dev_subset, "test": t.test_subset}
    splits = {k: load_split(d.sources, name, labels, root, evasion=recipe.cleaning.evasion, limits=d.limit,
                            subset=caps[k], seed=recipe.model.seed) for k, name in d.named_splits().items()}
    for k, s in splits.items():
        per_source = {src: int((s.source == src).sum()) for src in d.sources}
        log(f"{k}: {len(s.texts)} rows {per_source}")
    return splits


def checkpoint_dir(recipe: TransformerRecipe, out: str | Path) -> Path:
    """Where the run's checkpoints go: train.checkpoint_dir, else `<out>.ckpt` beside the model."""
    return Path(recipe.train.checkpoint_dir or f"{Path(out)}.ckpt")


def train_transformer(recipe: TransformerRecipe | dict, out: str | Path, log=print, root=None,
                      resume_from: str | Path | None = None) -> Detector:
    """Train, calibrate and save the model into `out`. `resume_from`: a checkpoint folder (or a
    folder of them: the newest) of a run of the same recipe, which this run continues."""
    t0 = time.time()
    recipe = as_recipe(recipe)
    m, t = recipe.model, recipe.train
    resume = read_checkpoint(resume_from) if resume_from else None
    if resume is not None:  # a different recipe stops here, before any data is read
        check_recipe(resume[2], recipe.to_dict(), resume[0])
    labels = list(m.labels)
    device = resolve_device(t.device)
    if device == "cpu":
        set_torch_threads()
    torch.manual_seed(m.seed)
    splits = load_splits(recipe, labels, root, log)
    encoder, tokenizer = build_encoder(m, splits["train"].texts, t.max_length)
    if m.freeze_embeddings:
        log(f"froze {freeze_embeddings(encoder):,} embedding parameters")
    model = MultiLabelEncoder(encoder, len(labels), m.pooling, m.dropout).to(device)
    enc = {k: encode(s, tokenizer, t.max_length) for k, s in splits.items()}
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ckpt = checkpoint_dir(recipe, out) if t.checkpoint_every > 0 else None
    trainer = Trainer(model, pad_id, recipe, device, log, ckpt)
    select = select_rows(enc["dev"], labels, t.select_sources)
    summary = trainer.fit(enc["train"], select, train_targets(enc["train"], recipe, labels), resume)
    if resume is not None:
        summary["resumed_from"] = str(resume[0])
    t_eval = time.time()
    z_dev = (trainer.dev_logits if select is enc["dev"]
             else batch_logits(model, enc["dev"].ids, pad_id, t.eval_batch_size, device))
    z_test = batch_logits(model, enc["test"].ids, pad_id, t.eval_batch_size, device)
    summary["test_eval_seconds"] = round(time.time() - t_eval, 1)
    cals, thresholds, metrics = calibrate_and_measure(labels, z_dev, enc["dev"], z_test, enc["test"], recipe, log)
    userdict = Path(recipe.segmentation.userdict or DEFAULT_USERDICT)
    scorer = TransformerScorer(labels, model, tokenizer, cals, t.max_length, t.eval_batch_size,
                               Segmenter(userdict if userdict.is_file() else None), device)
    config = model_config(recipe, labels, root, time.time() - t0)
    config["training"] = summary
    det = Detector(scorer, thresholds, config)
    det.save_pretrained(out, metrics=metrics)
    write_model_card(Path(out), det, metrics)
    log(f"saved {out} ({time.time() - t0:.0f}s)")
    return det
