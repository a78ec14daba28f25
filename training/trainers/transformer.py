"""Train the transformer scorer from a recipe: one encoder with one sigmoid output per risk,
trained on all sources at once with the loss of unannotated risks masked (or counted as
weighted cross-source negatives), sources balanced by sampling, early stopping on dev;
then calibration and thresholds on dev, test metrics, and a self-describing model folder."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertModel, get_linear_schedule_with_warmup

from detector.scorers.calibration import sigmoid
from detector.model.core import Detector
from detector.scorers.compute import resolve_device, set_torch_threads
from detector.scorers.padding import pad_batch
from detector.scorers.transformer import MultiLabelEncoder, TransformerScorer, batch_logits, load_encoder, tensors
from detector.text.segment import DEFAULT_USERDICT, Segmenter
from training.data.splits import Split, load_split
from training.data.transformer_batches import (build_char_tokenizer, epoch_indices, length_grouped_batches,
                                               loss_targets, source_weights)
from training.evaluation.metrics import binary_metrics, choose_threshold
from training.recipe import TransformerModel, TransformerRecipe, as_recipe
from training.trainers.calibrate import fit_calibrator
from training.trainers.fast import model_config, source_metrics, write_model_card
from training.typed import build

# `model.base = "random:NAME"`: a randomly initialised BERT with a char vocabulary built from
# the training texts (vocab_size here is a minimum: the embedding table is at least this big).
RANDOM_PRESETS: dict[str, dict] = {
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
    "e5-small": {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12,
                 "intermediate_size": 1536, "vocab_size": 20000},
}


def masked_bce(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy averaged over the entries that count. `mask` holds per-entry weights
    (0 = masked, 1 = full, in between = down-weighted); labels that are NaN are always masked.
    Masked entries contribute nothing, gradient included; with nothing masked this is plain BCE."""
    labels = labels.to(logits.dtype)
    known = ~torch.isnan(labels)
    weight = known.to(logits.dtype) if mask is None else mask.to(logits.dtype) * known
    loss = F.binary_cross_entropy_with_logits(logits, torch.where(known, labels, torch.zeros_like(labels)),
                                              reduction="none")
    return (loss * weight).sum() / weight.sum().clamp(min=1e-8)


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


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over trainable parameters; no weight decay for biases and LayerNorm weights."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=lr)


def dev_score(z: np.ndarray, y: np.ndarray) -> float:
    """Macro-F1 averaged over risks, each at its best dev threshold (annotated rows only)."""
    scores = []
    for j in range(y.shape[1]):
        m = ~np.isnan(y[:, j])
        if m.any() and len(np.unique(y[m, j])) == 2:
            p = sigmoid(z[m, j])
            thr = choose_threshold(y[m, j], p, "macro_f1")
            scores.append(binary_metrics(y[m, j], p, thr)["macro_f1"])
    return float(np.mean(scores)) if scores else 0.0


@dataclass
class Encoded:
    """Token ids and labels of one split."""
    ids: list[list[int]]
    y: np.ndarray
    sources: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(x) for x in self.ids])


def encode(split: Split, tokenizer, max_length: int) -> Encoded:
    ids = tokenizer(split.texts, truncation=True, max_length=max_length)["input_ids"] if split.texts else []
    return Encoded(ids, split.y, split.source)


class Trainer:
    """The training loop: weighted sampling of sources, masked loss, periodic dev evaluation,
    early stopping, best trainable weights kept in memory and restored at the end."""

    def __init__(self, model: MultiLabelEncoder, pad_id: int, recipe: TransformerRecipe, device: str, log=print):
        self.model, self.pad_id, self.log, self.device = model, pad_id, log, device
        self.tcfg, self.dcfg = recipe.train, recipe.data
        self.rng = np.random.default_rng(recipe.model.seed)
        self.bf16 = device.startswith("cuda") and self.tcfg.bf16
        self.best = (-math.inf, None, None, 0)  # score, weights, dev logits, step
        self.step, self.bad_evals, self.history = 0, 0, []
        self.dev_logits: np.ndarray | None = None

    def plan(self, n: int) -> tuple[int, int]:
        """(steps per epoch, total steps)."""
        per_epoch = math.ceil(n / self.tcfg.batch_size)
        total = per_epoch * self.tcfg.epochs
        if self.tcfg.max_steps > 0:
            total = min(total, self.tcfg.max_steps)
        return per_epoch, max(total, 1)

    def fit(self, train: Encoded, dev: Encoded) -> dict:
        t = self.tcfg
        if not train.ids or not dev.ids:
            raise ValueError("transformer training needs train and dev rows; check data.sources and the splits")
        probs = source_weights(train.sources, self.dcfg.balance)
        targets, weights = loss_targets(train.y, self.dcfg.cross_negative_weight, probs)
        _, total = self.plan(len(train.ids))
        opt = make_optimizer(self.model, t.lr, t.weight_decay)
        sched = get_linear_schedule_with_warmup(opt, int(t.warmup_ratio * total), total)
        t0, lengths, stop = time.time(), train.lengths, False
        while not stop:
            order = epoch_indices(probs, self.dcfg.balance, self.rng)
            for b in length_grouped_batches(order, lengths, t.batch_size, self.rng, t.group_by_length):
                loss = self.train_step(train, targets, weights, b, opt, sched)
                self.step += 1
                if self.step % t.log_every == 0 or self.step == total:
                    self.log(f"step {self.step}/{total} loss {loss:.4f} ({self.step / (time.time() - t0):.2f} steps/s)")
                evaluate = t.eval_every > 0 and self.step % t.eval_every == 0
                if (evaluate and self.evaluate(dev)) or self.step >= total:
                    stop = True
                    break
            if not stop and t.eval_every <= 0 and self.evaluate(dev):
                stop = True
        if not self.history or self.history[-1]["step"] != self.step:
            self.evaluate(dev)
        return self.restore(time.time() - t0)

    def train_step(self, train: Encoded, targets, weights, idx: np.ndarray, opt, sched) -> float:
        self.model.train()
        input_ids, mask = tensors(pad_batch([train.ids[i] for i in idx], self.pad_id))
        y = torch.from_numpy(targets[idx]).to(self.device)
        w = torch.from_numpy(weights[idx]).to(self.device)
        with torch.autocast("cuda" if self.bf16 else "cpu", dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.model(input_ids.to(self.device), mask.to(self.device))
        loss = masked_bce(logits.float(), y, w)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.tcfg.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    def evaluate(self, dev: Encoded) -> bool:
        """Score dev; keep the weights if best. True when early stopping says stop."""
        self.model.eval()
        z = batch_logits(self.model, dev.ids, self.pad_id, self.tcfg.eval_batch_size, self.device)
        score = dev_score(z, dev.y)
        self.history.append({"step": self.step, "dev_macro_f1": round(score, 4)})
        self.log(f"step {self.step}: dev macro-F1 (mean over risks) {score:.4f}")
        if score > self.best[0]:
            weights = {k: v.detach().clone() for k, v in self.model.named_parameters() if v.requires_grad}
            self.best, self.bad_evals = (score, weights, z, self.step), 0
            return False
        self.bad_evals += 1
        return self.tcfg.patience > 0 and self.bad_evals >= self.tcfg.patience

    def restore(self, seconds: float) -> dict:
        score, weights, z, step = self.best
        self.model.load_state_dict(weights, strict=False)
        self.model.eval()
        self.dev_logits = z
        return {"steps": self.step, "best_step": step, "best_dev_macro_f1": round(score, 4),
                "train_loop_seconds": round(seconds, 1), "steps_per_s": round(self.step / max(seconds, 1e-9), 3),
                "history": self.history}


def calibrate_and_measure(labels: list[str], z_dev: np.ndarray, dev: Encoded, z_test: np.ndarray,
                          test: Encoded, recipe: TransformerRecipe, log=print):
    """Per risk: calibrator and threshold on dev, metrics on dev and test."""
    cals, thresholds, metrics = [], {}, {"dev": {}, "test": {}}
    for j, risk in enumerate(labels):
        dm, tm = ~np.isnan(dev.y[:, j]), ~np.isnan(test.y[:, j])
        if not dm.any():
            raise ValueError(f"no dev rows annotate risk {risk!r}")
        cal = fit_calibrator(z_dev[dm, j], dev.y[dm, j], recipe.calibration.method)
        p_dev = cal(z_dev[dm, j])
        thr = choose_threshold(dev.y[dm, j], p_dev, recipe.thresholds.rule)
        cals.append(cal)
        thresholds[risk] = thr
        metrics["dev"][risk] = binary_metrics(dev.y[dm, j], p_dev, thr)
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
    splits = {k: load_split(d.sources, name, labels, root, evasion=recipe.cleaning.evasion, subset=caps[k],
                            seed=recipe.model.seed) for k, name in d.named_splits().items()}
    for k, s in splits.items():
        per_source = {src: int((s.source == src).sum()) for src in d.sources}
        log(f"{k}: {len(s.texts)} rows {per_source}")
    return splits


def train_transformer(recipe: TransformerRecipe | dict, out: str | Path, log=print, root=None) -> Detector:
    t0 = time.time()
    recipe = as_recipe(recipe)
    m, t = recipe.model, recipe.train
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
    trainer = Trainer(model, pad_id, recipe, device, log)
    summary = trainer.fit(enc["train"], enc["dev"])
    t_eval = time.time()
    z_test = batch_logits(model, enc["test"].ids, pad_id, t.eval_batch_size, device)
    summary["test_eval_seconds"] = round(time.time() - t_eval, 1)
    cals, thresholds, metrics = calibrate_and_measure(labels, trainer.dev_logits, enc["dev"], z_test,
                                                      enc["test"], recipe, log)
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
