"""The transformer's training loop: weighted sampling of sources, masked loss, periodic dev
evaluation on the selection rows, early stopping, the best trainable weights kept, and
checkpoints every N steps from which a run continues exactly as if it had not stopped."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import get_linear_schedule_with_warmup

from detector.scorers.calibration import sigmoid
from detector.scorers.padding import pad_batch
from detector.scorers.transformer import MultiLabelEncoder, batch_logits, tensors
from training.data.transformer_batches import epoch_indices, length_grouped_batches
from training.evaluation.metrics import binary_metrics, choose_threshold
from training.recipe import TransformerRecipe
from training.trainers.transformer_checkpoint import (check_recipe, load_optimizer, load_rng, optimizer_tensors,
                                                      recipe_sha256, rng_tensors, write_checkpoint)


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
    groups: np.ndarray | None = None   # each row's incident ("" = none): data.group_cap

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(x) for x in self.ids])


@dataclass
class Targets:
    """What the loss reads for every train row: targets and weights (rows x risks), and the
    sampling probabilities of the rows."""
    y: np.ndarray
    weights: np.ndarray
    probs: np.ndarray


class Trainer:
    """The training loop. `fit` trains to the recipe's end (or early stop), writing a checkpoint
    every `train.checkpoint_every` steps into `checkpoint_dir`; `fit(..., resume=...)` continues
    from one (its tensors and JSON state, training/trainers/transformer_checkpoint.py)."""

    def __init__(self, model: MultiLabelEncoder, pad_id: int, recipe: TransformerRecipe, device: str, log=print,
                 checkpoint_dir: str | Path | None = None):
        self.model, self.pad_id, self.log, self.device = model, pad_id, log, device
        self.tcfg, self.dcfg, self.recipe = recipe.train, recipe.data, recipe.to_dict()
        self.rng = np.random.default_rng(recipe.model.seed)
        self.bf16 = device.startswith("cuda") and self.tcfg.bf16
        self.best = (-math.inf, None, None, 0)  # score, weights, dev logits, step
        self.step, self.bad_evals, self.history = 0, 0, []
        self.dev_logits: np.ndarray | None = None
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None

    def plan(self, n: int) -> tuple[int, int]:
        """(steps per epoch, total steps)."""
        per_epoch = math.ceil(n / self.tcfg.batch_size)
        total = per_epoch * self.tcfg.epochs
        if self.tcfg.max_steps > 0:
            total = min(total, self.tcfg.max_steps)
        return per_epoch, max(total, 1)

    def fit(self, train: Encoded, dev: Encoded, targets: Targets, resume: tuple | None = None) -> dict:
        """Train on `train` (`targets`: its loss targets, weights and sampling probabilities),
        evaluating on `dev` (the selection rows). `resume`: (folder, tensors, state) of a checkpoint."""
        t = self.tcfg
        if not train.ids or not dev.ids:
            raise ValueError("transformer training needs train and dev rows; check data.sources, the splits "
                             "and train.select_sources")
        _, total = self.plan(len(train.ids))
        opt = make_optimizer(self.model, t.lr, t.weight_decay)
        sched = get_linear_schedule_with_warmup(opt, int(t.warmup_ratio * total), total)
        epoch, skip, stop = 0, 0, False
        if resume is not None:
            epoch, skip, stop = self.load_state(*resume, opt, sched, len(train.ids))
        t0, start, lengths = time.time(), self.step, train.lengths
        while not stop:
            epoch_rng = self.rng.bit_generator.state  # enough to draw this epoch's order again
            order = epoch_indices(targets.probs, self.dcfg.balance, self.rng)
            batches = length_grouped_batches(order, lengths, t.batch_size, self.rng, t.group_by_length)
            for pos in range(skip, len(batches)):
                loss = self.train_step(train, targets, batches[pos], opt, sched)
                self.step += 1
                if self.step % t.log_every == 0 or self.step == total:
                    rate = (self.step - start) / max(time.time() - t0, 1e-9)
                    self.log(f"step {self.step}/{total} loss {loss:.4f} ({rate:.2f} steps/s)")
                evaluate = t.eval_every > 0 and self.step % t.eval_every == 0
                stop = (evaluate and self.evaluate(dev)) or self.step >= total
                if t.checkpoint_every > 0 and self.step % t.checkpoint_every == 0 and self.checkpoint_dir:
                    self.save_checkpoint(epoch, pos + 1, epoch_rng, stop, opt, sched, len(train.ids))
                if stop:
                    break
            epoch, skip = epoch + 1, 0
            if not stop and t.eval_every <= 0 and self.evaluate(dev):
                stop = True
        if not self.history or self.history[-1]["step"] != self.step:
            self.evaluate(dev)
        return self.restore(time.time() - t0, self.step - start)

    def train_step(self, train: Encoded, targets: Targets, idx: np.ndarray, opt, sched) -> float:
        self.model.train()
        input_ids, mask = tensors(pad_batch([train.ids[i] for i in idx], self.pad_id))
        y = torch.from_numpy(targets.y[idx]).to(self.device)
        w = torch.from_numpy(targets.weights[idx]).to(self.device)
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

    def restore(self, seconds: float, steps: int) -> dict:
        score, weights, z, step = self.best
        self.model.load_state_dict(weights, strict=False)
        self.model.eval()
        self.dev_logits = z
        return {"steps": self.step, "best_step": step, "best_dev_macro_f1": round(score, 4),
                "train_loop_seconds": round(seconds, 1), "steps_per_s": round(steps / max(seconds, 1e-9), 3),
                "history": self.history}

    # -- checkpoints ------------------------------------------------------------------------------

    def save_checkpoint(self, epoch: int, position: int, epoch_rng: dict, done: bool, opt, sched, n_train: int):
        score, weights, z, best_step = self.best
        tensors = {f"model.{k}": v.detach().cpu().clone().contiguous()
                   for k, v in self.model.named_parameters() if v.requires_grad}
        if weights is not None:
            tensors.update({f"best.{k}": v.detach().cpu().clone().contiguous() for k, v in weights.items()})
            tensors["best_dev_logits"] = torch.from_numpy(np.ascontiguousarray(z, np.float32))
        opt_tensors, opt_meta = optimizer_tensors(opt)
        tensors.update(opt_tensors)
        tensors.update(rng_tensors())
        meta = {"step": self.step, "epoch": epoch, "position": position, "epoch_rng": epoch_rng, "done": done,
                "n_train": n_train, "bad_evals": self.bad_evals, "history": self.history,
                "best_score": None if weights is None else score, "best_step": best_step,
                "optimizer": opt_meta, "scheduler": sched.state_dict(),
                "recipe_sha256": recipe_sha256(self.recipe), "recipe": self.recipe}
        path = write_checkpoint(self.checkpoint_dir, self.step, tensors, meta, self.tcfg.keep_checkpoints)
        self.log(f"checkpoint {path} (step {self.step})")

    def load_state(self, folder: Path, tensors: dict, meta: dict, opt, sched, n_train: int) -> tuple[int, int, bool]:
        """Restore a checkpoint into this trainer; (epoch, batches of it already trained, done)."""
        check_recipe(meta, self.recipe, folder)
        if meta["n_train"] != n_train:
            raise ValueError(f"cannot resume from {folder}: it trained on {meta['n_train']} rows, "
                             f"the data now gives {n_train}")
        params = dict(self.model.named_parameters())
        with torch.no_grad():
            for k, p in params.items():
                if p.requires_grad:
                    p.copy_(tensors[f"model.{k}"].to(p.device))
        if meta["best_score"] is not None:
            weights = {k: tensors[f"best.{k}"].to(self.device) for k in params if params[k].requires_grad}
            self.best = (meta["best_score"], weights, tensors["best_dev_logits"].numpy(), meta["best_step"])
        load_optimizer(opt, tensors, meta["optimizer"])
        sched.load_state_dict(meta["scheduler"])
        load_rng(tensors)
        self.rng.bit_generator.state = meta["epoch_rng"]
        self.step, self.bad_evals, self.history = meta["step"], meta["bad_evals"], meta["history"]
        self.log(f"resumed from {folder} at step {self.step}")
        return meta["epoch"], meta["position"], bool(meta["done"])
