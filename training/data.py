"""Datasets named in configs/datasets.toml: load them as `datasets.Dataset` with one label
column per risk (None = not annotated by this source), and pull copies with sha256 checks."""
from __future__ import annotations

import hashlib
import json
import os
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset

from detector.risks import RISKS

PROJECT = Path(__file__).resolve().parent.parent
DATASETS_TOML = PROJECT / "configs" / "datasets.toml"


def default_root() -> Path:
    """The shared data folder: $JINGWANG_DATA, else ../shared/datasets beside the checkout."""
    env = os.environ.get("JINGWANG_DATA")
    return Path(env) if env else PROJECT.parent / "shared" / "datasets"


@dataclass
class SourceSpec:
    name: str
    risk: str
    local: str
    splits: dict[str, str]
    sha256: dict[str, str] = field(default_factory=dict)
    split_by_hash: dict[str, float] = field(default_factory=dict)
    upstream: str = ""
    upstream_files: list[str] = field(default_factory=list)
    upstream_limit: int = 0
    license: str = ""
    path: str = ""  # a folder given directly (team data under data/), instead of root/local

    def folder(self, root: Path | None) -> Path:
        if self.path:
            p = Path(self.path)
            return p if p.is_absolute() else PROJECT / p
        return (root or default_root()) / self.local

    def split_names(self) -> list[str]:
        return list(self.split_by_hash) if self.split_by_hash else list(self.splits)


def load_specs(path: Path = DATASETS_TOML) -> dict[str, SourceSpec]:
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    return {name: SourceSpec(name=name, **body) for name, body in raw.items()}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
    return rows


def hash_unit(key: str) -> float:
    """A fixed number in [0, 1) per key (crc32 bucket of 10,000): stable splits by id."""
    return (zlib.crc32(str(key).encode("utf-8")) % 10000) / 10000


def _hash_split(row_id: str, fractions: dict[str, float]) -> str:
    u = hash_unit(row_id)
    acc = 0.0
    for name, frac in fractions.items():
        acc += frac
        if u < acc:
            return name
    return name


def _rows(spec: SourceSpec, split: str, root: Path | None) -> tuple[list[dict], Path]:
    folder = spec.folder(root)
    if spec.split_by_hash:
        if split not in spec.split_by_hash:
            raise ValueError(f"dataset {spec.name!r} has no split {split!r}; splits: {spec.split_names()}")
        file = folder / next(iter(spec.splits.values()))
        rows = [r for r in read_jsonl_checked(file) if _hash_split(r["id"], spec.split_by_hash) == split]
        return rows, file
    if split not in spec.splits:
        raise ValueError(f"dataset {spec.name!r} has no split {split!r}; splits: {spec.split_names()}")
    file = folder / spec.splits[split]
    return read_jsonl_checked(file), file


def read_jsonl_checked(file: Path) -> list[dict]:
    if not file.is_file():
        raise FileNotFoundError(f"dataset file {file} is missing: run `jingwang data pull` "
                                f"or set JINGWANG_DATA to the folder holding the datasets")
    return read_jsonl(file)


def load_source(name: str, split: str, root: Path | None = None,
                specs: dict[str, SourceSpec] | None = None,
                labels: tuple[str, ...] = RISKS) -> Dataset:
    """One split of one source: columns id, text, source, and one per risk (None = not annotated)."""
    specs = specs or load_specs()
    if name not in specs:
        raise ValueError(f"unknown dataset {name!r}; configured: {', '.join(specs)}")
    spec = specs[name]
    rows, _ = _rows(spec, split, root)
    cols: dict[str, list] = {"id": [], "text": [], "source": []}
    cols.update({r: [] for r in labels})
    for r in rows:
        cols["id"].append(str(r["id"]))
        cols["text"].append(str(r["text"]))
        cols["source"].append(name)
        for risk in labels:
            cols[risk].append(int(r["label"]) if risk == spec.risk and "label" in r else None)
    return Dataset.from_dict(cols)


def source_sha256(name: str, root: Path | None = None, specs: dict[str, SourceSpec] | None = None) -> dict:
    """sha256 of each local file of a source (recorded beside every model)."""
    specs = specs or load_specs()
    spec = specs[name]
    folder = spec.folder(root)
    return {split: sha256_file(folder / f) for split, f in spec.splits.items() if (folder / f).is_file()}
