"""Checkpoints of a transformer training run, in safetensors and JSON only: one folder per
checkpoint (`step-0000200/` with `state.safetensors` and `state.json`) under the run's checkpoint
folder, written to a temporary folder and renamed into place, the newest few kept.

`state.safetensors` holds tensors (trainable weights, the best weights and dev logits, the
optimizer's per-parameter tensors flattened to `optimizer.<param>.<name>`, torch RNG states);
`state.json` the rest (step, epoch position, numpy RNG state, eval history, optimizer groups,
scheduler state, the resolved recipe and its sha256)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

# recipe settings that do not change what a run computes: a resumed run may change them
RESUME_FREE = {("recipe", "path"), ("train", "checkpoint_every"), ("train", "checkpoint_dir"),
               ("train", "keep_checkpoints"), ("train", "log_every")}
STEP_DIR = re.compile(r"^step-(\d+)$")
FORMAT = 1


def flat(d: dict, prefix: tuple = ()) -> dict[tuple, object]:
    """A nested dict as {(key, subkey, ...): value}."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(flat(v, prefix + (k,)))
        else:
            out[prefix + (k,)] = v
    return out


def resume_view(recipe: dict) -> dict:
    """The recipe settings a resumed run must share with the checkpoint, as dotted keys."""
    return {".".join(k): v for k, v in sorted(flat(recipe).items()) if k[:2] not in RESUME_FREE}


def recipe_sha256(recipe: dict) -> str:
    text = json.dumps(resume_view(recipe), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_recipe(meta: dict, recipe: dict, where: Path) -> None:
    """Refuse to resume a checkpoint made with another recipe, in one sentence naming the settings."""
    if meta.get("recipe_sha256") == recipe_sha256(recipe):
        return
    old, new = resume_view(meta.get("recipe", {})), resume_view(recipe)
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    shown = ", ".join(f"{k} ({old.get(k)!r} in the checkpoint, {new.get(k)!r} now)" for k in keys[:4])
    more = f" and {len(keys) - 4} more" if len(keys) > 4 else ""
    raise ValueError(f"cannot resume from {where}: it was made with another recipe "
                     f"({shown or 'the recipe hash differs'}{more})")


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer's state as safetensors tensors plus JSON (its groups and non-tensor values)."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for name, v in state.items():
            if torch.is_tensor(v):
                tensors[f"optimizer.{idx}.{name}"] = v.detach().cpu().clone().contiguous()
            else:
                scalars[f"{idx}.{name}"] = v
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def load_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        if key.startswith("optimizer."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    for key, v in meta["scalars"].items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = v
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    opt.load_state_dict({"state": state, "param_groups": groups})


def rng_tensors() -> dict[str, torch.Tensor]:
    out = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        out.update({f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return out


def load_rng(tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)


def write_checkpoint(folder: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict, keep: int = 2) -> Path:
    """Write `step-NNNNNNN/` under `folder` atomically (a temporary folder renamed into place) and
    delete all but the newest `keep` checkpoints."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final, tmp = folder / f"step-{step:07d}", folder / f".step-{step:07d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(tensors, str(tmp / "state.safetensors"), metadata={"format": "pt"})
    (tmp / "state.json").write_text(json.dumps({"format": FORMAT, **meta}, ensure_ascii=False, indent=1),
                                    encoding="utf-8")
    if final.exists():  # a run resumed from an older checkpoint writes this step again
        old = folder / f".step-{step:07d}.old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(tmp, final)
    for stale in checkpoints(folder)[:-max(keep, 1)]:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def checkpoints(folder: Path) -> list[Path]:
    """The complete checkpoints under `folder`, oldest first."""
    found = [p for p in Path(folder).iterdir() if STEP_DIR.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(STEP_DIR.match(p.name).group(1)))


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, or the newest checkpoint in a run's checkpoint folder."""
    path = Path(path)
    if (path / "state.json").is_file():
        return path
    found = checkpoints(path) if path.is_dir() else []
    if not found:
        raise FileNotFoundError(f"cannot resume from {path}: no checkpoint there (a step-NNNNNNN folder "
                                "with state.json, or a folder of them)")
    return found[-1]


def read_checkpoint(path: str | Path) -> tuple[Path, dict[str, torch.Tensor], dict]:
    """(the checkpoint folder, its tensors, its JSON state)."""
    folder = find_checkpoint(path)
    meta = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"cannot resume from {folder}: checkpoint format {meta.get('format')!r}, "
                         f"this version reads {FORMAT}")
    return folder, load_file(str(folder / "state.safetensors")), meta
