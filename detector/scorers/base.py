"""What loading every scorer shares: checks on a model folder, each problem one sentence naming
the file and key, and the calibrators of config.json.

A scorer (fast, transformer, onnx, ensemble) has `model_type` and `labels`; `predict_proba`
(cleaned texts -> calibrated probabilities, one column per label); `explain(text, label, k)`
(evidence with spans in the ORIGINAL text); `save(path)` (weights under `path`, returns its part
of config.json) and the classmethod `load(path, config, ...)`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detector.scorers.calibration import Calibrator

CALIBRATION_KINDS = ("identity", "sigmoid", "temperature", "isotonic")


class ModelFolderError(ValueError):
    """A model folder that cannot be loaded as it is (missing key, unknown label, non-finite or
    truncated weights, a path leaving the folder): one sentence naming the file and the key."""


def need(cfg: dict, key: str, file: Path, where: str = ""):
    """`cfg[key]`, or a ModelFolderError naming `file` and the key (`where` prefixes it, e.g. "scorer.")."""
    if not isinstance(cfg, dict) or key not in cfg or cfg[key] is None:
        raise ModelFolderError(f"{file}: missing key {where + key!r}")
    return cfg[key]


def inside(folder: Path, name: str, file: Path, key: str, kind: str = "") -> Path:
    """`folder / name`, refused unless it stays inside `folder` (links followed) and, with `kind`
    ("file" or "folder"), is one."""
    if not isinstance(name, str) or not name:
        raise ModelFolderError(f"{file}: {key} must be a file name inside the model folder, not {name!r}")
    root = Path(folder).resolve()
    target = (root / name).resolve()
    if root not in target.parents:
        raise ModelFolderError(f"{file}: {key} {name!r} points outside the model folder {folder}; "
                               f"a model's files must stay inside its folder")
    if kind and not (target.is_file() if kind == "file" else target.is_dir()):
        raise ModelFolderError(f"{file}: {key} {name!r} is not a {kind} in the model folder {folder}")
    return Path(folder) / name


def load_arrays(file: Path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file, each checked finite; a missing, truncated or corrupt file,
    a missing array or a NaN/inf value is a ModelFolderError naming the file and the array."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not Path(file).is_file():
        raise ModelFolderError(f"{file}: no such file (the model folder is incomplete)")
    try:
        arrays = load_file(str(file))
    except (SafetensorError, OSError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelFolderError(f"{file}: cannot read the weights, the file is truncated or corrupt ({first})") from None
    for key in required:
        if key not in arrays:
            raise ModelFolderError(f"{file}: missing array {key!r}")
    check_finite(arrays, file)
    return arrays


def check_finite(arrays: dict, file: Path) -> None:
    """Refuse NaN or infinite values (they would make scores NaN and silently never flag)."""
    for key, a in arrays.items():
        if np.issubdtype(np.asarray(a).dtype, np.floating) and not np.isfinite(a).all():
            raise ModelFolderError(f"{file}: array {key!r} holds NaN or infinite values, so the model refuses to load")


def calibrators(config: dict, arrays: dict, labels: list[str], file: Path) -> list[Calibrator]:
    """One calibrator per label from config.json's scorer.calibration and the weight arrays."""
    cal = need(config, "calibration", file, "scorer.")
    unknown = sorted(set(cal) - set(labels)) if isinstance(cal, dict) else []
    if unknown:
        raise ModelFolderError(f"{file}: scorer.calibration has unknown labels {unknown} (labels: {labels})")
    out = []
    for lab in labels:
        meta = need(cal, lab, file, "scorer.calibration.")
        kind = meta.get("kind") if isinstance(meta, dict) else None
        if kind not in CALIBRATION_KINDS:
            raise ModelFolderError(f"{file}: scorer.calibration.{lab}.kind must be one of "
                                   f"{', '.join(CALIBRATION_KINDS)}, not {kind!r}")
        for k in ("a", "b"):
            v = meta.get(k, 0.0)
            if not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ModelFolderError(f"{file}: scorer.calibration.{lab}.{k} must be a finite number, not {v!r}")
        out.append(Calibrator.from_parts(meta, arrays, f"cal.{lab}"))
    return out
