"""Domain-adaptive pretraining (`jingwang model adapt`): continued masked-LM training of a base
encoder folder on unlabeled texts, written out as a base folder that `model.base` of a
transformer recipe loads exactly like the one `jingwang model base` builds.

The base folder holds a `BertModel` without an MLM head. The model trained here is transformers'
`BertForMaskedLM` whose encoder is the base's (pooler included, unused), with a fresh head
(transform N(0, 0.02), bias 0) and the decoder tied to the word embeddings. `head_steps` > 0
first trains the head alone (encoder frozen, `head_lr`): the held-out loss after it is what the
base encoder itself achieves, so `after` minus `after_head` is the adaptation's own gain.
Masking is BERT's 80/10/10 (`adapt_data.mask_tokens`); the loss counts masked tokens only and the
vocabulary projection runs on those only. AdamW (no decay on biases and LayerNorm), linear
warm-up then linear decay to zero over `steps`, gradients clipped to `max_grad_norm`.

Dropout and masks are seeded per step and the batch of each step is a function of the seed (see
`adapt_data`), so `resume_from` continues to the same weights as an uninterrupted run.
OUT gets config.json + model.safetensors (the encoder), the base's tokenizer files, adapt.json
(settings, data sha256, excluded rows, held-out loss and perplexity before/after, speed) and
checkpoints/ (the last two)."""
from __future__ import annotations

import json
import math
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from detector.scorers.compute import resolve_device, set_torch_threads, threads
from detector.scorers.transformer import load_encoder, quiet_hf
from detector.text.cleaning import clean
from training.base.adapt_checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from training.base.adapt_data import (Batches, encode, keep_indices, mask_tokens, read_corpus, read_id_file,
                                      split_holdout, step_generator, team_eval_rows)
from training.data.sources import sha256_file

NOT_COPIED = {"config.json", "conversion.json", "adapt.json", "generation_config.json"}
RUN_ONLY = ("checkpoint_every", "log_every", "device")  # settings that do not change the result


@dataclass
class AdaptSettings:
    steps: int
    batch_size: int = 32
    max_length: int = 64
    lr: float = 5e-5
    mask_prob: float = 0.15
    seed: int = 13
    holdout: int = 2000
    checkpoint_every: int = 200  # 0 = no checkpoints
    head_steps: int = 0  # steps training the head alone before `steps` of the whole model
    head_lr: float = 1e-3
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    group_by_length: int = 50  # steps whose texts are sorted by length together (1 = off)
    eval_batch_size: int = 64
    clean: bool = True  # texts cleaned as the scorers clean them (detector.text.cleaning, evasions undone)
    exclude_eval: bool = True  # leave out the team's evaluation rows (adapt_data.TEAM_EVAL)
    log_every: int = 20
    device: str = "auto"  # cuda when torch sees a GPU, else cpu

    def check(self) -> "AdaptSettings":
        for name in ("steps", "batch_size", "max_length", "holdout", "eval_batch_size", "group_by_length", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not 0 < self.mask_prob < 1:
            raise ValueError(f"mask_prob must lie in (0, 1), not {self.mask_prob}")
        if self.max_length < 3:
            raise ValueError(f"max_length must be at least 3 (<s>, a token, </s>), not {self.max_length}")
        for name in ("checkpoint_every", "head_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")
        return self

    def result_keys(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in RUN_ONLY}


def build_mlm(encoder):
    """`BertForMaskedLM` around `encoder` (its own modules, not copies) with a fresh head whose
    decoder is the word embedding matrix."""
    from transformers import BertForMaskedLM

    config = encoder.config.__class__.from_dict({**encoder.config.to_dict(), "tie_word_embeddings": True,
                                                 "architectures": ["BertForMaskedLM"]})
    torch.manual_seed(0)  # the head's initial weights
    mlm = BertForMaskedLM(config)
    mlm.bert = encoder
    mlm.cls.predictions.decoder.weight = encoder.get_input_embeddings().weight
    mlm.cls.predictions.decoder.bias = mlm.cls.predictions.bias
    return mlm


def make_optimizer(mlm, s: AdaptSettings) -> torch.optim.AdamW:
    groups = {(role, decay): [] for role in ("head", "encoder") for decay in (True, False)}
    for name, p in mlm.named_parameters():
        role = "head" if name.startswith("cls.") else "encoder"
        groups[(role, not (p.ndim < 2 or "LayerNorm" in name))].append(p)
    return torch.optim.AdamW([{"params": ps, "weight_decay": s.weight_decay if decay else 0.0, "role": role}
                              for (role, decay), ps in groups.items() if ps], lr=s.lr)


def set_step(mlm, opt, s: AdaptSettings, t: int) -> float:
    """Learning rates (and whether the encoder trains) at global step `t`; returns the encoder's lr."""
    head_phase = t < s.head_steps
    for p in mlm.bert.parameters():
        p.requires_grad_(not head_phase)
    m = t - s.head_steps
    warm = max(1, round(s.warmup_ratio * s.steps))
    factor = (m + 1) / warm if m < warm else max(0.0, (s.steps - m) / max(1, s.steps - warm))
    for g in opt.param_groups:
        g["lr"] = (s.head_lr if g["role"] == "head" else 0.0) if head_phase else s.lr * factor
    return 0.0 if head_phase else s.lr * factor


def masked_loss(mlm, inputs, attention, labels, reduction: str = "mean"):
    """(cross-entropy over the masked tokens, their logits): the vocabulary projection runs on
    the masked positions only."""
    hidden = mlm.bert(input_ids=inputs, attention_mask=attention).last_hidden_state
    chosen = labels != -100
    logits = mlm.cls(hidden[chosen])
    return F.cross_entropy(logits, labels[chosen], reduction=reduction), logits


class Texts:
    """The corpus texts as the model reads them (cleaned when asked), tokenised and masked."""

    def __init__(self, corpus_texts: list[str], tokenizer, s: AdaptSettings, device: str = "cpu"):
        self.raw, self.tokenizer, self.s, self.device = corpus_texts, tokenizer, s, device
        self.special = set(tokenizer.all_special_ids) | {tokenizer.pad_token_id}
        self.normal = torch.tensor([i for i in range(len(tokenizer)) if i not in self.special])

    def text(self, i: int) -> str:
        return clean(self.raw[i], evasion=True).text if self.s.clean else self.raw[i]

    def masked(self, idx, gen):
        ids, attention, special = encode(self.tokenizer, [self.text(int(i)) for i in idx], self.s.max_length,
                                         self.special)
        inputs, labels = mask_tokens(ids, special, self.tokenizer.mask_token_id, self.normal, self.s.mask_prob, gen)
        return inputs.to(self.device), attention.to(self.device), labels.to(self.device)


def evaluate(mlm, texts: Texts, holdout: np.ndarray, s: AdaptSettings) -> dict:
    """Masked-LM loss (mean over masked tokens), perplexity and top-1 accuracy on the held-out
    texts, with the same masks every time (seeded)."""
    gen = step_generator(s.seed, 0, stream=4)
    order = holdout[np.argsort([len(texts.raw[i]) for i in holdout], kind="stable")]
    total = correct = n = 0.0
    mlm.eval()
    with torch.no_grad():
        for b in range(0, len(order), s.eval_batch_size):
            inputs, attention, labels = texts.masked(order[b:b + s.eval_batch_size], gen)
            loss, logits = masked_loss(mlm, inputs, attention, labels, reduction="sum")
            total += float(loss)
            correct += float((logits.argmax(-1) == labels[labels != -100]).sum())
            n += int((labels != -100).sum())
    mlm.train()
    return {"loss": round(total / n, 4), "perplexity": round(math.exp(total / n), 2),
            "accuracy": round(correct / n, 4), "masked_tokens": int(n), "texts": len(holdout)}


def train_step(mlm, opt, texts: Texts, batches: Batches, s: AdaptSettings, t: int) -> tuple[float, int]:
    """One optimiser step at global step `t`: (loss, non-padding tokens)."""
    set_step(mlm, opt, s, t)
    torch.manual_seed(int(np.random.SeedSequence([s.seed, 5, t]).generate_state(1)[0]))  # dropout
    inputs, attention, labels = texts.masked(batches.of(t), step_generator(s.seed, t))
    loss, _ = masked_loss(mlm, inputs, attention, labels)
    loss.backward()
    trainable = [p for p in mlm.parameters() if p.grad is not None]
    torch.nn.utils.clip_grad_norm_(trainable, s.max_grad_norm)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return float(loss.detach()), int(attention.sum())


def _fingerprint(base: Path, corpus, settings: AdaptSettings, exclusion: dict) -> dict:
    return {"settings": settings.result_keys(), "base_sha256": sha256_file(base / "model.safetensors"),
            "data_sha256": [f["sha256"] for f in corpus.files], "exclude_sha256": exclusion["ids_sha256"]}


def _check_resume(state: dict, fingerprint: dict, folder: Path) -> None:
    for key, want in fingerprint.items():
        have = state.get(key)
        if key == "settings":
            diff = [k for k in want if have.get(k) != want[k]]
            if diff:
                raise ValueError(f"{folder}: the checkpoint was made with {diff[0]}={have.get(diff[0])!r}, "
                                 f"this run has {want[diff[0]]!r}; resume with the same settings")
        elif have != want:
            raise ValueError(f"{folder}: the checkpoint was made with another {key.replace('_', ' ')}; "
                             f"resume with the same base, data and exclusions")


def _exclusions(corpus, s: AdaptSettings, exclude_files: list[Path]) -> tuple[np.ndarray, dict]:
    import hashlib

    ids, texts, sets = team_eval_rows() if s.exclude_eval else (set(), set(), {})
    files = []
    for f in exclude_files:
        found = read_id_file(f)
        ids |= found
        files.append({"path": str(f), "sha256": sha256_file(Path(f)), "ids": len(found)})
    keep, counts = keep_indices(corpus, ids, texts)
    digest = hashlib.sha256("\n".join(sorted(ids) + ["--"] + sorted(texts)).encode("utf-8")).hexdigest()
    info = {"team_eval": s.exclude_eval, "sets": sets, "files": files, **counts, "ids_sha256": digest,
            "rule": "rows whose id is excluded, rows with the text of such a row, rows with an excluded text"}
    return keep, info


def write_base(encoder, base: Path, out: Path) -> None:
    """OUT as a base folder: the encoder's config and weights, the base's tokenizer files
    (each file written beside and renamed into place)."""
    tmp = out / ".adapted.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_hf():
        encoder.save_pretrained(tmp)
    for f in base.iterdir():
        if f.is_file() and f.name not in NOT_COPIED and f.suffix not in (".safetensors", ".bin", ".pt"):
            shutil.copy2(f, tmp / f.name)
    for f in tmp.iterdir():
        os.replace(f, out / f.name)
    tmp.rmdir()


def _base_info(base: Path) -> dict:
    info = {"path": str(base)}
    for name in ("conversion.json", "adapt.json"):
        if (base / name).is_file():
            info[name.removesuffix(".json")] = json.loads((base / name).read_text(encoding="utf-8"))
    return info


def adapt(base: Path, data: list[Path], out: Path, settings: AdaptSettings, *, resume_from: Path | None = None,
          exclude: list[Path] = (), log: Callable[[str], None] = print) -> dict:
    """Run the adaptation (module docstring); returns what OUT/adapt.json holds."""
    s, base, out, started = settings.check(), Path(base), Path(out), time.perf_counter()
    device = resolve_device(s.device) or "cpu"
    if device == "cpu":
        set_torch_threads()
    corpus = read_corpus(list(data))
    keep, exclusion = _exclusions(corpus, s, list(exclude))
    holdout, pool = split_holdout(keep, s.holdout, s.batch_size, s.seed)
    log(f"{len(corpus.texts):,} texts; {exclusion['excluded_by_id'] + exclusion['excluded_by_text']:,} excluded; "
        f"{len(holdout):,} held out, {len(pool):,} to adapt on")
    encoder, tokenizer = load_encoder(base)
    mlm, texts = build_mlm(encoder).to(device), Texts(corpus.texts, tokenizer, s, device)
    opt = make_optimizer(mlm, s)
    fingerprint = _fingerprint(base, corpus, s, exclusion)
    state = {**fingerprint, "loss": {}, "losses": [], "step_seconds": [], "train_seconds": 0.0, "tokens": 0,
             "resumed_from": []}
    if resume_from is not None:
        folder = resolve_checkpoint(resume_from)
        loaded = load_checkpoint(folder, mlm, opt)
        _check_resume(loaded, fingerprint, folder)
        state = {**loaded, "resumed_from": loaded.get("resumed_from", []) + [str(folder)]}
        log(f"resumed from {folder} at step {state['step']}")
    else:
        state["loss"]["before"] = evaluate(mlm, texts, holdout, s)
        log(f"held-out masked-LM loss before: {state['loss']['before']['loss']}")
    run_steps(mlm, opt, texts, holdout, pool, s, state, out, log)
    state["loss"]["after"] = evaluate(mlm, texts, holdout, s)
    out.mkdir(parents=True, exist_ok=True)
    write_base(encoder.cpu(), base, out)
    result = _result(base, out, s, corpus, exclusion, holdout, pool, state, time.perf_counter() - started)
    (out / "adapt.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return result


def run_steps(mlm, opt, texts: Texts, holdout, pool, s: AdaptSettings, state: dict, out: Path, log) -> None:
    """Train from state["step"] (0 when new) to head_steps + steps, updating `state`; checkpoints."""
    lengths = np.array([len(t) for t in texts.raw])
    batches = Batches(pool, lengths, s.batch_size, s.seed, s.group_by_length)
    total = s.head_steps + s.steps
    first, since = state.get("step", 0), time.perf_counter()
    mlm.train()
    for t in range(first, total):
        tick = time.perf_counter()
        loss, tokens = train_step(mlm, opt, texts, batches, s, t)
        state["step_seconds"].append(round(time.perf_counter() - tick, 4))
        state["train_seconds"] += state["step_seconds"][-1]
        state["tokens"] += tokens
        state["losses"].append(loss)
        if (t + 1) % s.log_every == 0 or t + 1 == total:
            log(f"step {t + 1}/{total}: loss {np.mean(state['losses'][-s.log_every:]):.3f}, "
                f"{(t + 1 - first) / (time.perf_counter() - since):.2f} steps/s")
        if s.head_steps and t + 1 == s.head_steps:
            state["loss"]["after_head"] = evaluate(mlm, texts, holdout, s)
            log(f"held-out masked-LM loss after {s.head_steps} head steps: {state['loss']['after_head']['loss']}")
        if s.checkpoint_every and (t + 1) % s.checkpoint_every == 0 and t + 1 < total:
            save_checkpoint(out / "checkpoints", t + 1, mlm, opt, {**state, "step": t + 1})
    state["step"] = total


def _result(base: Path, out: Path, s: AdaptSettings, corpus, exclusion: dict, holdout, pool, state: dict,
            wall: float) -> dict:
    import transformers

    total, loss, losses = s.head_steps + s.steps, state["loss"], state["losses"]
    return {
        "base": _base_info(base),
        "base_sha256": state["base_sha256"],
        "settings": asdict(s),
        "data": {"files": corpus.files, "distinct_texts": len(corpus.texts), "adapt_pool": len(pool),
                 "holdout": len(holdout), "text_field": "text"},
        "excluded": exclusion,
        "loss": loss,
        "loss_change": round(loss["after"]["loss"] - loss.get("after_head", loss["before"])["loss"], 4),
        "steps": total,
        "train_seconds": round(state["train_seconds"], 1),
        "steps_per_s": round(total / state["train_seconds"], 3) if state["train_seconds"] else None,
        "tokens_per_s": round(state["tokens"] / state["train_seconds"], 1) if state["train_seconds"] else None,
        # the first steps are slow (memory first touched): the median step of the whole model is the
        # rate of a long run
        "median_step_seconds": round(float(np.median(state["step_seconds"][s.head_steps:])), 3),
        "wall_seconds_this_run": round(wall, 1),
        "resumed_from": state["resumed_from"],
        "device": resolve_device(s.device) or "cpu",
        "threads": threads(),
        "history": [{"step": min(i + s.log_every, total), "loss": round(float(np.mean(losses[i:i + s.log_every])), 4)}
                    for i in range(0, total, s.log_every)],
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
        "adapter": "training.base.adapt.adapt",
    }
