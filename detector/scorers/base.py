"""What every scorer provides. A scorer turns cleaned texts into calibrated probabilities,
one column per label, and explains a flagged risk with spans in the cleaned text."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from detector.cleaning import CleanText


class Scorer(Protocol):
    model_type: str
    labels: list[str]

    def predict_proba(self, texts: list[CleanText]) -> np.ndarray:
        """Calibrated probabilities, shape (len(texts), len(labels))."""

    def explain(self, text: CleanText, label: str, k: int = 5) -> list[dict]:
        """Top evidence for `label`: [{"term", "weight", "spans": [[s, e], ...]}], spans in the ORIGINAL text."""

    def save(self, path: Path) -> dict:
        """Write weights under `path`; return the scorer's part of config.json."""
