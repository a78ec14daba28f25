"""Labeled data for `jingwang evaluate`: a JSONL file or a configured dataset split.

DATA is either a JSONL file, with `text` and `label` (the risk given by --risk; without `label`,
that risk's own column) or a 0/1 column per risk (`--risk all`), or `SOURCE:SPLIT` naming a split
of configs/datasets.toml (`real:eval`, `cold:test`). Any other column can slice the metrics
(`--by platform`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.data.sources import load_source, load_specs, read_jsonl

ALL = "all"


@dataclass
class LabeledData:
    name: str
    ids: list[str]
    texts: list[str]
    labels: dict[str, np.ndarray]  # risk -> float array, NaN = not annotated
    columns: dict[str, list] = field(default_factory=dict)

    def annotated(self, risk: str) -> np.ndarray:
        return ~np.isnan(self.labels[risk])


def _is_source(data: str) -> bool:
    return ":" in data and not Path(data).exists()


def load_eval_data(data: str | Path, risk: str, model_labels: list[str], root=None) -> LabeledData:
    """Rows of DATA with the labels it has for `risk` (or every model label with `risk` = all)."""
    data = str(data)
    risks = list(model_labels) if risk == ALL else [risk]
    if _is_source(data):
        name, split = data.split(":", 1)
        specs = load_specs()
        if name not in specs:
            raise ValueError(f"{data}: unknown dataset {name!r}; configured: {', '.join(specs)}")
        ds = load_source(name, split, root=root, specs=specs, labels=tuple(model_labels))
        labels = {r: np.array([np.nan if v is None else v for v in ds[r]], float) for r in risks}
        cols = {c: list(ds[c]) for c in ds.column_names if c not in ("id", "text", *model_labels)}
        out = LabeledData(data, list(ds["id"]), list(ds["text"]), labels, cols)
    else:
        out = _from_jsonl(Path(data), risk, risks)
    if risk == ALL:
        out.labels = {r: y for r, y in out.labels.items() if (~np.isnan(y)).any()}
        if not out.labels:
            raise ValueError(f"{data}: no rows are labeled for any of {', '.join(model_labels)}")
    elif not out.annotated(risk).any():
        raise ValueError(f"{data}: no rows are labeled for {risk}")
    return out


def _from_jsonl(path: Path, risk: str, risks: list[str]) -> LabeledData:
    if not path.is_file():
        raise FileNotFoundError(f"cannot read {path}: no such file")
    rows = read_jsonl(path)
    if not rows:
        raise ValueError(f"{path}: no labeled rows")
    ids, texts, labels = [], [], {r: [] for r in risks}
    cols: dict[str, list] = {}
    for i, row in enumerate(rows, 1):
        if not isinstance(row.get("text"), str):
            raise ValueError(f"{path}, record {i}: needs a text")
        ids.append(str(row.get("id", i)))
        texts.append(row["text"])
        for r in risks:
            # one risk: its `label`, else the risk's own column (a file labeled per risk)
            key = r if risk == ALL or "label" not in row else "label"
            v = row.get(key)
            if v not in (0, 1, "0", "1", None):
                raise ValueError(f"{path}, record {i}: {key} must be 0 or 1, not {v!r}")
            if v is None and risk != ALL:
                raise ValueError(f"{path}, record {i}: needs a text and a label (or a {risk} column) of 0 or 1")
            labels[r].append(np.nan if v is None else int(v))
        for k, v in row.items():
            if k not in ("text", "label", "id", *risks) and (v is None or isinstance(v, (str, int, float, bool))):
                cols.setdefault(k, [None] * (i - 1))
        for k in cols:
            cols[k].append(row.get(k))
    return LabeledData(str(path), ids, texts, {r: np.array(v, float) for r, v in labels.items()}, cols)
