"""Checkpoints of `jingwang model adapt`: OUT/checkpoints/step-NNNNNNN/ holds the masked-LM
model (model.safetensors), the AdamW state (optimizer.safetensors) and the run's state
(state.json: step, settings, data hashes, losses so far). Each is written to a hidden folder
first and renamed into place (a checkpoint is there whole or not at all); the last `keep` stay."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

STATE = "state.json"
PREFIX = "step-"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _optimizer_tensors(opt) -> tuple[dict, dict]:
    """AdamW's state_dict as safetensors tensors plus the JSON rest."""
    import torch

    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"{idx}.{k}"] = v.detach().contiguous()
            else:
                scalars[f"{idx}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _optimizer_state(tensors: dict, rest: dict) -> dict:
    state: dict[int, dict] = {}
    for key, v in [*tensors.items(), *rest["scalars"].items()]:
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = v
    return {"state": state, "param_groups": rest["param_groups"]}


def save_checkpoint(root: Path, step: int, model, opt, state: dict, keep: int = 2) -> Path:
    """Write checkpoint `step` under `root` atomically; remove all but the last `keep`."""
    from safetensors.torch import save_file, save_model

    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{step:07d}"
    tmp = root / f".{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_model(model, str(tmp / "model.safetensors"))
    tensors, rest = _optimizer_tensors(opt)
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    (tmp / STATE).write_text(json.dumps({**state, "step": step, "optimizer": rest}, indent=1, ensure_ascii=False),
                             encoding="utf-8")
    for f in tmp.iterdir():
        _fsync(f)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync(root)
    for old in checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old)
    return final


def checkpoints(root: Path) -> list[Path]:
    """The complete checkpoints under `root`, oldest first."""
    return sorted(p for p in Path(root).glob(f"{PREFIX}*") if (p / STATE).is_file())


def resolve_checkpoint(path: Path) -> Path:
    """`path` itself when it is a checkpoint, else the latest checkpoint in it or in its
    `checkpoints/` folder."""
    path = Path(path)
    if (path / STATE).is_file():
        return path
    found = checkpoints(path) or checkpoints(path / "checkpoints")
    if not found:
        raise FileNotFoundError(f"no adapt checkpoint at {path} (a step-NNNNNNN folder with {STATE}, or a folder "
                                f"holding them)")
    return found[-1]


def load_checkpoint(folder: Path, model, opt) -> dict:
    """Restore `model` and `opt` from a checkpoint folder; returns its state (state.json)."""
    from safetensors.torch import load_file, load_model

    state = json.loads((folder / STATE).read_text(encoding="utf-8"))
    missing, unexpected = load_model(model, str(folder / "model.safetensors"), strict=False)
    if missing or unexpected:
        raise ValueError(f"{folder}: the checkpoint does not fit the model (missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]})")
    opt.load_state_dict(_optimizer_state(load_file(str(folder / "optimizer.safetensors")), state.pop("optimizer")))
    return state
