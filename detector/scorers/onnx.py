"""The transformer scorer on ONNX Runtime: the same encoder + pooling + linear head, exported
by `jingwang model export-onnx` (training/export/onnx.py), usually with int8 weights (dynamic
quantisation). No torch at inference: the tokenizer is the `tokenizers` library reading the
exported tokenizer.json, so it loads fast and stays small in every worker process.

Model folder: `model.int8.onnx` (or `model.onnx`), `tokenizer/tokenizer.json`,
`calibration.safetensors`, `userdict.txt`, and config.json with model_type "onnx" and
scorer {"onnx", "tokenizer", "pad_id", "max_length", "batch_size", "max_tokens", "calibration",
"userdict", "exported_from", "quantization", "quantization_settings", "reference",
"reference_tolerance"}.

Load-time check: `reference.json` holds cleaned reference texts and the probabilities of the
model the folder was exported from. A folder whose int8 arithmetic does not reproduce them on
this CPU (beyond `reference_tolerance`) refuses to load: `ModelCheckError`, one sentence.

Length bucketing: a call's texts are sorted by token count and cut into sub-batches of at most
`batch_size` texts and `max_tokens` padded tokens, so short posts are not padded to long ones.
Dynamic int8 quantisation scales activations per batch, so a text's scores depend (slightly)
on its batch-mates; `jingwang score` batches the same way whatever the engine or worker count.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from detector.scorers.base import ModelFolderError, calibrators, inside, load_arrays, need
from detector.scorers.calibration import Calibrator
from detector.scorers.compute import set_onnx_threads
from detector.scorers.occlusion import OcclusionScorer
from detector.scorers.padding import length_buckets, pad_batch
from detector.text.cleaning import CleanText
from detector.text.segment import Segmenter


class ModelCheckError(ValueError):
    """A model folder that loads but does not reproduce its reference outputs on this machine."""


def _tokenizer(file: Path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(file))


def _open(file: Path, load, what: str):
    """`load()`, with any failure of ONNX Runtime or tokenizers (their own exception types) as one
    sentence naming `file`."""
    if not Path(file).is_file():
        raise ModelFolderError(f"{file}: no such file (the model folder is incomplete)")
    try:
        return load()
    except ModuleNotFoundError:  # the onnx extra is not installed: the CLI names it
        raise
    except Exception as e:  # onnxruntime and tokenizers raise their own types, not OSError/ValueError
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelFolderError(f"{file}: cannot load {what}, the file is truncated or corrupt ({first})") from None


def int8_cpu_features() -> str:
    """The x86 features that decide ONNX Runtime's int8 kernels (VNNI avoids 16-bit saturation),
    as numpy's CPU dispatcher detected them."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as f
    except ImportError:  # numpy's private table moved: the check still runs, only the words are lost
        return "CPU features unknown"
    names = [n for n in ("AVX2", "AVX512F", "AVX512VNNI", "AVXVNNI") if f.get(n)]
    return (", ".join(names) or "no AVX2") + ("" if f.get("AVX512VNNI") or f.get("AVXVNNI") else ", no VNNI")


def make_session(path: Path, device: str = "cpu"):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    set_onnx_threads(opts)
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), opts, providers=providers)


class OnnxScorer(OcclusionScorer):
    model_type = "onnx"

    def __init__(self, labels: list[str], session, tokenizer, calibrators: list[Calibrator], pad_id: int,
                 max_length: int = 64, batch_size: int = 64, max_tokens: int = 4096,
                 segmenter: Segmenter | None = None, config: dict | None = None):
        self.labels = list(labels)
        self.session = session
        self.tokenizer = tokenizer
        self.calibrators_ = list(calibrators)
        self.pad_id = int(pad_id)
        self.max_length, self.batch_size, self.max_tokens = int(max_length), int(batch_size), int(max_tokens)
        self.segmenter = segmenter or Segmenter(None)
        self.config = dict(config or {})
        self._occluded: tuple | None = None
        tokenizer.enable_truncation(self.max_length)
        tokenizer.no_padding()

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def logits(self, texts: list[str]) -> np.ndarray:
        """Raw logits (n, n_labels) of cleaned texts, length-bucketed."""
        out = np.zeros((len(texts), len(self.labels)), np.float32)
        if not texts:
            return out
        ids = self.tokenize(texts)
        for idx in length_buckets([len(x) for x in ids], self.batch_size, self.max_tokens):
            input_ids, mask = pad_batch([ids[i] for i in idx], self.pad_id)
            out[idx] = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return out

    def decision_function(self, texts: list[CleanText]) -> np.ndarray:
        return self.logits([t.text for t in texts])

    def save(self, path: Path) -> dict:
        """An ONNX model folder is written by the exporter; saving copies it."""
        import shutil

        src = Path(self.config["folder"])
        path = Path(path)
        if src.resolve() != path.resolve():
            for name in (self.config["onnx"], self.config["tokenizer"], "calibration.safetensors",
                         self.config.get("userdict"), self.config.get("reference")):
                if name and (src / name).exists():
                    dest = path / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    (shutil.copytree if (src / name).is_dir() else shutil.copyfile)(src / name, dest)
        return {k: v for k, v in self.config.items() if k not in ("folder", "labels")}

    @classmethod
    def load(cls, path: Path, config: dict, device: str | None = None) -> "OnnxScorer":
        """Load and check an ONNX model folder for `device` (None: cpu; "cuda" uses ONNX Runtime's
        CUDA provider where it has one): every problem is a ModelFolderError naming the file and
        key; then the reference check (ModelCheckError)."""
        path, file = Path(path), Path(path) / "config.json"
        labels = config["labels"]
        device = device or "cpu"
        onnx_file = inside(path, need(config, "onnx", file, "scorer."), file, "scorer.onnx")
        tok_dir = inside(path, need(config, "tokenizer", file, "scorer."), file, "scorer.tokenizer", "folder")
        session = _open(onnx_file, lambda: make_session(onnx_file, device), "the ONNX model")
        tokenizer = _open(tok_dir / "tokenizer.json", lambda: _tokenizer(tok_dir / "tokenizer.json"), "the tokenizer")
        arrays = load_arrays(path / "calibration.safetensors")
        cals = calibrators(config, arrays, labels, file)
        userdict = inside(path, config["userdict"], file, "scorer.userdict", "file") if config.get("userdict") else None
        scorer = cls(labels, session, tokenizer, cals, need(config, "pad_id", file, "scorer."),
                     config.get("max_length", 64), config.get("batch_size", 64), config.get("max_tokens", 4096),
                     Segmenter(userdict), {**config, "folder": str(path)})
        if config.get("reference"):
            ref = inside(path, config["reference"], file, "scorer.reference")
            scorer.check_reference(ref, float(config.get("reference_tolerance", 0.05)))
        return scorer

    def reference_gap(self, file: Path) -> float:
        """Largest |p - p_reference| over the stored reference texts."""
        try:
            ref = json.loads(Path(file).read_text(encoding="utf-8"))
            texts, want = ref["texts"], np.asarray(ref["probabilities"], np.float64)
        except (OSError, ValueError, KeyError) as e:
            raise ModelCheckError(f"{file}: cannot read the reference outputs ({e})") from None
        if ref.get("labels", self.labels) != self.labels or want.shape != (len(texts), len(self.labels)):
            raise ModelCheckError(f"{file}: the reference outputs do not match the model's labels {self.labels}")
        z = self.logits(list(texts))
        got = np.stack([cal(z[:, j]) for j, cal in enumerate(self.calibrators_)], axis=1)
        return float(np.abs(got - want).max()) if len(texts) else 0.0

    def check_reference(self, file: Path, tolerance: float) -> None:
        gap = self.reference_gap(file)
        if not gap <= tolerance:
            raise ModelCheckError(
                f"{Path(file).parent}: on this CPU ({int8_cpu_features()}) the {self.config.get('quantization', 'ONNX')} "
                f"model moves probabilities on its reference texts by up to {gap:.3f} from the model it was exported "
                f"from (tolerance {tolerance}), so it refuses to load; export it again with `jingwang model "
                f"export-onnx` (u8 weights, the default), with a larger `--tolerance` or `--fp32`")
