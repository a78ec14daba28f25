"""Data side of transformer training: loss targets with masks, source balancing, length-grouped
batches, and the char-level tokenizer of `random:*` encoders."""
from __future__ import annotations

from collections import Counter

import numpy as np
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from training.recipe import BALANCE_MODES, SOURCE_WEIGHT, per_risk

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def loss_targets(y: np.ndarray, cross_weight: float | list[float] = 0.0, probs: np.ndarray | None = None,
                 scale: np.ndarray | None = None, drop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(targets, weights) for the masked loss. Annotated entries keep their label, weight 1.
    Entries of a risk the row's source does not annotate become negatives whose weights
    together total `cross_weight` (one value, or one per risk column) times the risk's own
    negatives, in expectation under the sampling probabilities `probs` (same meaning as
    configs/fast.toml; 0 = masked out). `drop` (rows x risks, True = the entry takes no part:
    data.mask) and `scale` (rows x risks, weight multipliers: data.source_weight) apply last, as
    the fast trainer applies them (training/trainers/fast.py `risk_weights`)."""
    drop = np.zeros(y.shape, bool) if drop is None else np.asarray(drop, bool)
    own = ~np.isnan(y) & ~drop
    cross_w = np.broadcast_to(np.asarray(cross_weight, np.float64), (y.shape[1],))
    p = np.full(len(y), 1.0 / max(len(y), 1)) if probs is None else np.asarray(probs, np.float64)
    targets = np.where(own, np.nan_to_num(y), 0.0).astype(np.float32)
    weights = own.astype(np.float32)
    for j in range(y.shape[1]):
        cross = ~own[:, j] & ~drop[:, j]
        cross_mass = p[cross].sum()
        own_neg_mass = p[own[:, j] & (targets[:, j] == 0)].sum()
        if cross_w[j] > 0 and cross_mass > 0:
            weights[cross, j] = cross_w[j] * own_neg_mass / cross_mass
    if scale is not None:
        weights = weights * np.asarray(scale, np.float32)
    return targets, weights.astype(np.float32)


def source_tables(sources: np.ndarray, labels: list[str], source_weight: dict, mask: dict[str, list[str]]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(scale, drop), rows x risks: each row's loss weight per risk from `data.source_weight`
    (one value or per risk; SOURCE_WEIGHT when not given) and whether `data.mask` takes the row
    out of a risk."""
    sources = np.asarray(sources)
    scale = np.ones((len(sources), len(labels)), np.float32)
    drop = np.zeros((len(sources), len(labels)), bool)
    for src, w in source_weight.items():
        for j, risk in enumerate(labels):
            scale[sources == src, j] = float(per_risk(w, risk, SOURCE_WEIGHT))
    for src, risks in mask.items():
        for risk in risks:
            drop[sources == src, labels.index(risk)] = True
    return scale, drop


def source_weights(sources: np.ndarray, mode: str = "uniform") -> np.ndarray:
    """Per-example sampling probabilities (sum 1). uniform: each source gets the same share;
    sqrt: a source's share is proportional to sqrt(its size); none: proportional to its size."""
    if mode not in BALANCE_MODES:
        raise ValueError(f"data.balance must be one of {', '.join(BALANCE_MODES)}, not {mode!r}")
    sources = np.asarray(sources)
    counts = Counter(sources.tolist())
    share = {s: 1.0 if mode == "uniform" else (np.sqrt(n) if mode == "sqrt" else float(n))
             for s, n in counts.items()}
    total = sum(share.values())
    w = np.array([share[s] / total / counts[s] for s in sources.tolist()], np.float64)
    return w / w.sum()


def epoch_indices(weights: np.ndarray, mode: str, rng: np.random.Generator) -> np.ndarray:
    """One epoch of example indices (as many as there are examples): a shuffle for "none",
    else a weighted draw with replacement."""
    n = len(weights)
    if mode == "none":
        return rng.permutation(n)
    return rng.choice(n, size=n, replace=True, p=weights)


def length_grouped_batches(indices: np.ndarray, lengths: np.ndarray, batch_size: int,
                           rng: np.random.Generator, group: int = 50) -> list[np.ndarray]:
    """Batches of `indices`: chunks of `group` batches are sorted by length so a batch pads
    little, then the batches are shuffled. group <= 1 keeps the order as given."""
    if group <= 1:
        return [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]
    batches = []
    chunk = batch_size * group
    for c in range(0, len(indices), chunk):
        part = indices[c:c + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def build_char_tokenizer(texts: list[str], max_vocab: int = 8000, model_max_length: int = 512) -> PreTrainedTokenizerFast:
    """A char-level WordPiece-free tokenizer (one token per non-space character, the `max_vocab`
    most frequent characters of `texts`, [CLS] text [SEP]) as a real HF tokenizer that
    `save_pretrained` writes and `AutoTokenizer` loads."""
    counts = Counter(ch for t in texts for ch in t if not ch.isspace())
    chars = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:max(0, max_vocab - len(SPECIAL_TOKENS))]
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + chars)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Split(Regex("."), "isolated")])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=model_max_length)
