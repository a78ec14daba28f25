"""Offline evaluation of a model on labeled JSONL for one risk."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from detector.detector import Detector
from detector.risks import check_risk
from training.data import read_jsonl
from training.metrics import binary_metrics


def load_labeled(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels from JSONL; a row without text or a 0/1 label is an error naming its line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot read {path}: no such file")
    texts, labels = [], []
    for i, row in enumerate(read_jsonl(path), 1):
        if not isinstance(row.get("text"), str) or row.get("label") not in (0, 1, "0", "1"):
            raise ValueError(f"{path}, record {i}: needs a text and a label of 0 or 1")
        texts.append(row["text"])
        labels.append(int(row["label"]))
    if not texts:
        raise ValueError(f"{path}: no labeled rows")
    return texts, np.array(labels)


def evaluate_detector(det: Detector, texts: list[str], y: np.ndarray, risk: str) -> dict:
    check_risk(risk, det.labels)
    p = det.predict_proba(texts)[:, det.labels.index(risk)]
    return binary_metrics(y, p, det.thresholds[risk])


def evaluate_file(model: str | Path | Detector, data: str | Path, risk: str, out: str | Path) -> dict:
    det = model if isinstance(model, Detector) else Detector.from_pretrained(model)
    texts, y = load_labeled(data)
    metrics = {risk: evaluate_detector(det, texts, y, risk)}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics


def print_metrics(metrics: dict, console: Console | None = None) -> None:
    keys = ["n", "accuracy", "macro_f1", "precision", "recall", "f1", "roc_auc", "pr_auc", "ece", "threshold"]
    t = Table(title="jingwang evaluate")
    t.add_column("risk")
    for k in keys:
        t.add_column(k, justify="right")
    for risk, m in metrics.items():
        t.add_row(risk, *[str(m[k]) if k == "n" else f"{m[k]:.4f}" for k in keys])
    (console or Console(width=max(Console().width, 140))).print(t)
