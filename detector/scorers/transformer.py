"""The transformer scorer: a local Hugging Face encoder (BERT, XLM-R, converted e5) with
mean or CLS pooling, dropout and one linear layer with one sigmoid output per label
(multi-label), and a calibrator per label applied to its logit.

Model folder: `encoder/` (encoder weights, config and tokenizer, `save_pretrained`,
safetensors), `head.safetensors` (head weight and bias, calibrator arrays), and the
scorer's part of config.json: {"encoder", "pooling", "max_length", "batch_size",
"dropout", "calibration", "userdict"}. Nothing is pickled.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from detector.scorers.base import ModelFolderError, calibrators, inside, load_arrays
from detector.scorers.calibration import Calibrator
from detector.scorers.compute import resolve_device, set_torch_threads
from detector.scorers.occlusion import OcclusionScorer
from detector.scorers.padding import length_buckets, pad_batch
from detector.text.cleaning import CleanText
from detector.text.segment import Segmenter

ENCODER_DIR = "encoder"
HEAD = "head.safetensors"
USERDICT = "userdict.txt"
POOLINGS = ("mean", "cls")


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """(batch, seq, hidden) -> (batch, hidden): masked mean over tokens, or the first token."""
    if pooling == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


class MultiLabelEncoder(nn.Module):
    """encoder -> pooling -> dropout -> linear(n_labels): one logit per label."""

    def __init__(self, encoder: nn.Module, n_labels: int, pooling: str = "mean", dropout: float = 0.1):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(pool(hidden, attention_mask, self.pooling)))


def batch_logits(model: MultiLabelEncoder, ids: list[list[int]], pad_id: int, batch_size: int,
                 device: str = "cpu") -> np.ndarray:
    """Logits (n, n_labels) of tokenized texts: sorted by length, dynamic padding, input order kept."""
    n_labels = model.head.out_features
    out = np.zeros((len(ids), n_labels), np.float32)
    use_bf16 = device.startswith("cuda")
    autocast = torch.autocast("cuda" if use_bf16 else "cpu", dtype=torch.bfloat16, enabled=use_bf16)
    with torch.inference_mode(), autocast:
        for idx in length_buckets([len(x) for x in ids], batch_size):
            input_ids, mask = tensors(pad_batch([ids[i] for i in idx], pad_id), device)
            z = model(input_ids, mask)
            out[idx] = z.float().cpu().numpy()
    return out


def tensors(arrays, device: str = "cpu") -> list[torch.Tensor]:
    """numpy arrays (e.g. `pad_batch`'s) as torch tensors on `device`."""
    return [torch.from_numpy(a).to(device) for a in arrays]


class TransformerScorer(OcclusionScorer):
    model_type = "transformer"

    def __init__(self, labels: list[str], model: MultiLabelEncoder, tokenizer, calibrators: list[Calibrator],
                 max_length: int = 128, batch_size: int = 32, segmenter: Segmenter | None = None,
                 device: str = "cpu"):
        self.labels = list(labels)
        self.tokenizer = tokenizer
        self.calibrators_ = list(calibrators)
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.segmenter = segmenter or Segmenter(None)
        self.device = resolve_device(device) or "cpu"
        self._occluded: tuple[str, dict, np.ndarray | None] | None = None
        if self.device == "cpu":
            set_torch_threads()
        self.model = model.to(self.device).eval()
        if self.model.head.out_features != len(self.labels):
            raise ValueError(f"head has {self.model.head.out_features} outputs for {len(self.labels)} labels")

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return 0 if pad is None else int(pad)

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]

    def logits(self, texts: list[str]) -> np.ndarray:
        """Raw logits (n, n_labels) of cleaned texts."""
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        self.model.eval()
        return batch_logits(self.model, self.tokenize(texts), self.pad_id, self.batch_size, self.device)

    def decision_function(self, texts: list[CleanText]) -> np.ndarray:
        return self.logits([t.text for t in texts])

    def save(self, path: Path) -> dict:
        path = Path(path)
        enc_dir = path / ENCODER_DIR
        with quiet_hf():
            self.model.encoder.save_pretrained(enc_dir)
            self.tokenizer.save_pretrained(enc_dir)
        tensors = {"head.weight": self.model.head.weight, "head.bias": self.model.head.bias}
        for lab, cal in zip(self.labels, self.calibrators_):
            tensors.update({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in cal.arrays(f"cal.{lab}").items()})
        save_file({k: v.detach().float().cpu().contiguous() for k, v in tensors.items()}, str(path / HEAD))
        userdict = self.segmenter.userdict
        if userdict is not None and userdict.resolve() != (path / USERDICT).resolve():
            (path / USERDICT).write_bytes(userdict.read_bytes())
        return {"encoder": ENCODER_DIR, "pooling": self.model.pooling, "max_length": self.max_length,
                "batch_size": self.batch_size, "dropout": float(self.model.dropout.p),
                "calibration": {lab: cal.to_json() for lab, cal in zip(self.labels, self.calibrators_)},
                "userdict": USERDICT if userdict is not None else None}

    @classmethod
    def load(cls, path: Path, config: dict, device: str | None = None) -> "TransformerScorer":
        """Load and check a transformer model folder on `device` (None: cpu): every problem is a
        ModelFolderError naming the file and key; weights are read from safetensors only (never
        torch.load)."""
        path, file = Path(path), Path(path) / "config.json"
        labels = config["labels"]
        enc_dir = inside(path, config.get("encoder", ENCODER_DIR), file, "scorer.encoder", "folder")
        encoder, tokenizer = load_encoder(enc_dir)
        pooling = config.get("pooling", "mean")
        if pooling not in POOLINGS:
            raise ModelFolderError(f"{file}: scorer.pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
        model = MultiLabelEncoder(encoder, len(labels), pooling, config.get("dropout", 0.1))
        arrays = load_arrays(path / HEAD, ("head.weight", "head.bias"))
        want = {"head.weight": tuple(model.head.weight.shape), "head.bias": tuple(model.head.bias.shape)}
        for key, shape in want.items():
            if tuple(arrays[key].shape) != shape:
                raise ModelFolderError(f"{path / HEAD}: array {key!r} has shape {tuple(arrays[key].shape)}, but "
                                       f"{len(labels)} labels and the encoder's hidden size need {shape}")
        model.head.load_state_dict({k.split(".", 1)[1]: torch.from_numpy(arrays[k]) for k in want})
        cals = calibrators(config, arrays, labels, file)
        userdict = inside(path, config["userdict"], file, "scorer.userdict", "file") if config.get("userdict") else None
        return cls(labels, model, tokenizer, cals, config.get("max_length", 128), config.get("batch_size", 32),
                   Segmenter(userdict), device)


def load_encoder(folder: Path, **config_overrides):
    """An encoder (float32, whatever the folder stores) and its tokenizer from a local folder
    (never the hub), weights from safetensors only: a folder holding only pickled weights
    (pytorch_model.bin) is refused, never unpickled. `config_overrides` (e.g. num_hidden_layers=6)
    change the encoder config before the weights are loaded."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"no encoder at {folder}: expected a Hugging Face folder with config.json")
    if not list(folder.glob("*.safetensors")):
        raise ModelFolderError(f"{folder}: no safetensors weights (model.safetensors); pickled weights "
                               f"(.bin, .pt) are never loaded: convert them with save_pretrained(safe_serialization=True)")
    try:
        with quiet_hf():
            encoder = AutoModel.from_pretrained(folder, local_files_only=True, dtype=torch.float32,
                                                use_safetensors=True, **config_overrides)
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError, SafetensorError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelFolderError(f"{folder}: cannot load the encoder, its files are incomplete or corrupt ({first})") from None
    check_finite_weights(encoder, folder)
    return encoder, tokenizer


def check_finite_weights(module: nn.Module, folder: Path) -> None:
    """Refuse NaN or infinite weights (a tensor's sum is finite exactly when its values are: fast)."""
    named = list(module.named_parameters())
    with torch.no_grad():
        sums = torch.stack([p.detach().float().sum() for _, p in named]) if named else torch.zeros(0)
    bad = (~torch.isfinite(sums)).nonzero()
    if len(bad):
        raise ModelFolderError(f"{folder}: encoder weight {named[int(bad[0])][0]!r} holds NaN or infinite values, "
                               f"so the model refuses to load")


@contextmanager
def quiet_hf():
    """No transformers progress bars or load reports (warnings about our own folders are noise)."""
    bars, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


