"""Datasets named in configs/datasets.toml: load them as `datasets.Dataset` with one label
column per risk (None = not annotated by this source), and pull copies with sha256 checks."""
from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import random
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset

from detector.risks import RISKS

PROJECT = Path(__file__).resolve().parent.parent.parent
DATASETS_TOML = PROJECT / "configs" / "datasets.toml"


def default_root() -> Path:
    """The shared data folder: $JINGWANG_DATA, else ../shared/datasets beside the checkout."""
    env = os.environ.get("JINGWANG_DATA")
    return Path(env) if env else PROJECT.parent / "shared" / "datasets"


ALL_RISKS = "*"  # a source whose rows carry a label for every risk (the team's annotated sample)


@dataclass
class SourceSpec:
    name: str
    risk: str  # the risk its `label` means, "*" (a column per risk) or "" (unlabeled)
    local: str
    splits: dict[str, str]
    sha256: dict[str, str] = field(default_factory=dict)
    split_by_hash: dict[str, float] = field(default_factory=dict)
    upstream: str = ""
    upstream_files: list[str] = field(default_factory=list)
    upstream_limit: int = 0
    license: str = ""
    path: str = ""  # a folder given directly (team data under data/), instead of root/local
    # Team labels kept apart from third-party text: a JSONL under the project with `id`, `split`
    # and a 0/1 column per risk; texts are joined by id from the source file. `label_splits`
    # maps each split name to [labels-file split, lo, hi] (or a list of them): the rows of that
    # labels split whose hash_unit(id) lies in [lo, hi).
    labels_path: str = ""
    label_splits: dict[str, list] = field(default_factory=dict)
    # Unlabeled rows taken as negatives for these risks (real comments are overwhelmingly not
    # rumor or paid posting); the other risks stay unannotated. Rows whose id the source named in
    # `exclude_labeled` annotates are left out.
    presumed_negative: list[str] = field(default_factory=list)
    exclude_labeled: str = ""
    # columns kept beside the text (slices for `jingwang evaluate --by`)
    keep_columns: list[str] = field(default_factory=list)

    def folder(self, root: Path | None) -> Path:
        if self.path:
            p = Path(self.path)
            return p if p.is_absolute() else PROJECT / p
        return (root or default_root()) / self.local

    def split_names(self) -> list[str]:
        if self.label_splits:
            return list(self.label_splits)
        return list(self.split_by_hash) if self.split_by_hash else list(self.splits)

    def risks(self, labels: tuple[str, ...]) -> list[str]:
        """The risks this source's rows are labeled for."""
        if self.risk == ALL_RISKS:
            return list(labels)
        return [r for r in labels if r == self.risk or r in self.presumed_negative]


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


LABEL_INTS = ("rumor", "paid_posting", "harassment", "annotators")


def read_text(file: Path) -> str:
    """A UTF-8 text file, gzip-compressed when its name ends in .gz."""
    if file.name.endswith(".gz"):
        with gzip.open(file, "rt", encoding="utf-8") as f:
            return f.read()
    return file.read_text(encoding="utf-8")


def write_text(file: Path, text: str) -> None:
    """`read_text`'s inverse; a .gz file is written without a timestamp, so equal text gives equal bytes."""
    if file.name.endswith(".gz"):
        with open(file, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
            f.write(text.encode("utf-8"))
    else:
        file.write_text(text, encoding="utf-8")


def read_labels_tsv(file: Path) -> list[dict]:
    """A team labels table (.tsv, or .tsv.gz): a header line, then one tab-separated row per post;
    the risks and `annotators` are integers, `subtypes` a comma-separated list."""
    if not file.is_file():
        raise FileNotFoundError(f"no team labels file at {file}")
    lines = read_text(file).splitlines()
    head = lines[0].split("\t") if lines else []
    rows = []
    for i, line in enumerate(lines[1:], 2):
        cells = line.split("\t")
        if len(cells) != len(head):
            raise ValueError(f"{file}:{i}: {len(cells)} fields, the header names {len(head)}")
        r = dict(zip(head, cells))
        try:
            r.update({k: int(r[k]) for k in LABEL_INTS if k in r})
        except ValueError as e:
            raise ValueError(f"{file}:{i}: {e}") from None
        if "subtypes" in r:
            r["subtypes"] = [t for t in r["subtypes"].split(",") if t]
        rows.append(r)
    return rows


def read_labels(file: Path) -> list[dict]:
    """A team labels file: a table (.tsv or .tsv.gz, read_labels_tsv) or JSONL."""
    return read_labels_tsv(file) if file.name.endswith((".tsv", ".tsv.gz")) else read_jsonl_checked(file)


def team_labels(spec: SourceSpec) -> list[dict]:
    """The rows of a source's team labels file (`labels_path`: .tsv or .jsonl), checked: id,
    split, 0/1 labels."""
    file = PROJECT / spec.labels_path
    rows = read_labels(file)
    for i, r in enumerate(rows, 1):
        if "id" not in r or "split" not in r:
            raise ValueError(f"{file}:{i}: a team label needs `id` and `split`")
    return rows


def _labeled_rows(spec: SourceSpec, split: str, root: Path | None) -> tuple[list[dict], Path]:
    """Team-labeled rows of one split joined with their texts (by id) from the source file."""
    if split not in spec.label_splits:
        raise ValueError(f"dataset {spec.name!r} has no split {split!r}; splits: {spec.split_names()}")
    ranges = spec.label_splits[split]
    ranges = ranges if isinstance(ranges[0], list) else [ranges]
    labels = {r["id"]: r for r in team_labels(spec)
              if any(r["split"] == want and lo <= hash_unit(r["id"]) < hi for want, lo, hi in ranges)}
    file = spec.folder(root) / next(iter(spec.splits.values()))
    texts = {}
    for r in read_jsonl_checked(file):
        if r.get("id") in labels:
            texts[r["id"]] = r
    missing = [i for i in labels if i not in texts]
    if missing:
        raise ValueError(f"{PROJECT / spec.labels_path}: {len(missing)} labeled ids are not in {file} "
                         f"(first: {missing[0]}); is the shared data the version the labels were made on?")
    return [texts[i] | labels[i] for i in labels], file


def _rows(spec: SourceSpec, split: str, root: Path | None) -> tuple[list[dict], Path]:
    folder = spec.folder(root)
    if spec.label_splits:
        return _labeled_rows(spec, split, root)
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
    """The rows of a dataset file (read once per process while the file is unchanged; callers
    must not modify them)."""
    if not file.is_file():
        raise FileNotFoundError(f"dataset file {file} is missing: run `jingwang data pull` "
                                f"or set JINGWANG_DATA to the folder holding the datasets")
    st = file.stat()
    return _read_cached(str(file.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_cached(file: str, size: int, mtime_ns: int) -> list[dict]:
    return read_jsonl(Path(file))


def load_source(name: str, split: str, root: Path | None = None,
                specs: dict[str, SourceSpec] | None = None,
                labels: tuple[str, ...] = RISKS, limit: int = 0, seed: int = 0) -> Dataset:
    """One split of one source: columns id, text, source, one per risk (None = not annotated) and
    the source's `keep_columns`. `limit` > 0 keeps a random sample of that many rows (fixed
    `seed`, drawn over the whole split, never its head)."""
    specs = specs or load_specs()
    if name not in specs:
        raise ValueError(f"unknown dataset {name!r}; configured: {', '.join(specs)}")
    spec = specs[name]
    rows, _ = _rows(spec, split, root)
    if spec.exclude_labeled:
        labeled = {r["id"] for r in team_labels(specs[spec.exclude_labeled])}
        rows = [r for r in rows if r.get("id") not in labeled]
    if 0 < limit < len(rows):
        keep = sorted(random.Random(f"{seed}:{name}:{split}").sample(range(len(rows)), limit))
        rows = [rows[i] for i in keep]
    cols: dict[str, list] = {"id": [], "text": [], "source": []}
    cols.update({r: [] for r in labels})
    cols.update({c: [] for c in spec.keep_columns})
    for r in rows:
        cols["id"].append(str(r["id"]))
        cols["text"].append(str(r["text"]))
        cols["source"].append(name)
        for risk in labels:
            cols[risk].append(_label(spec, r, risk))
        for c in spec.keep_columns:
            cols[c].append(None if r.get(c) is None else str(r[c]))
    return Dataset.from_dict(cols)


def _label(spec: SourceSpec, row: dict, risk: str) -> int | None:
    if spec.risk == ALL_RISKS:
        return int(row[risk]) if row.get(risk) in (0, 1) else None
    if risk == spec.risk and "label" in row:
        return int(row["label"])
    return 0 if risk in spec.presumed_negative else None


def source_sha256(name: str, root: Path | None = None, specs: dict[str, SourceSpec] | None = None) -> dict:
    """sha256 of each local file of a source (recorded beside every model)."""
    specs = specs or load_specs()
    spec = specs[name]
    folder = spec.folder(root)
    out = {split: sha256_file(folder / f) for split, f in spec.splits.items() if (folder / f).is_file()}
    if spec.labels_path:
        out["labels"] = sha256_file(PROJECT / spec.labels_path)
    return out
