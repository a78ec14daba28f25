"""The ensemble scorer: a weighted average of other models' calibrated probabilities.

Members are model folders (paths relative to the ensemble folder, or absolute), loaded with
`Detector.from_pretrained`; the ensemble folder holds only config.json (member paths and
weights), never copies of the members; saving it elsewhere rewrites the relative paths.
Evidence for a label comes from the member with the largest weight x probability for it.
"""
from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Callable

import numpy as np

from detector.text.cleaning import CleanText, clean
from detector.scorers.base import ModelFolderError, need


# ensemble folders being loaded in this thread's call chain: a member that is one of them is a cycle
_LOADING: ContextVar[frozenset] = ContextVar("jingwang_ensembles_loading", default=frozenset())


class EnsembleScorer:
    model_type = "ensemble"

    def __init__(self, labels: list[str], members: list, weights: list[float], folders: list[str | Path],
                 evasion: bool = True, label_weights: dict[str, list[float]] | None = None):
        if not members or len(members) != len(weights) or len(members) != len(folders):
            raise ValueError("an ensemble needs one weight and one folder per member, and at least one member")
        w = np.asarray(weights, np.float64)
        if w.ndim != 1 or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"ensemble weights must be finite numbers >= 0 with a positive sum, not {list(weights)}")
        self.labels = list(labels)
        self.members = list(members)
        self.weights = (w / w.sum()).tolist()
        self.folders = [Path(os.path.abspath(p)) for p in folders]  # links kept (e.g. a `current` link)
        self.evasion = bool(evasion)
        for p, m in zip(self.folders, self.members):
            missing = [lab for lab in self.labels if lab not in m.labels]
            if missing:
                raise ValueError(f"ensemble member {p} has no output for {', '.join(missing)}")
        self._cols = [[m.labels.index(lab) for lab in self.labels] for m in self.members]
        # per-label weights (rows: labels, columns: members), each row summing to 1; labels
        # without their own weights use the global ones
        label_weights = label_weights or {}
        unknown = set(label_weights) - set(self.labels)
        if unknown:
            raise ValueError(f"ensemble label_weights for unknown labels {sorted(unknown)}")
        rows = []
        for lab in self.labels:
            r = np.asarray(label_weights.get(lab, self.weights), np.float64)
            if r.shape != w.shape or not np.isfinite(r).all() or (r < 0).any() or r.sum() <= 0:
                raise ValueError(f"ensemble weights of {lab!r} must be {len(w)} numbers >= 0 with a positive sum")
            rows.append(r / r.sum())
        self.label_weights = np.stack(rows)

    def _member_texts(self, member, texts: list[CleanText]) -> list[CleanText]:
        """The texts as this member cleans them (re-cleaned only if its cleaning differs)."""
        if member.evasion == self.evasion:
            return texts
        return [clean(t.original, evasion=member.evasion) for t in texts]

    def member_proba(self, texts: list[CleanText]) -> list[np.ndarray]:
        """Each member's calibrated probabilities, columns in the ensemble's label order."""
        return [m.scorer.predict_proba(self._member_texts(m, texts))[:, cols]
                for m, cols in zip(self.members, self._cols)]

    def predict_proba(self, texts: list[CleanText]) -> np.ndarray:
        return combine(self.member_proba(texts), self.label_weights)

    def explain(self, text: CleanText, label: str, k: int = 5) -> list[dict]:
        j = self.labels.index(label)
        probs = self.member_proba([text])
        best = int(np.argmax([w * p[0, j] for w, p in zip(self.label_weights[j], probs)]))
        member = self.members[best]
        return member.scorer.explain(self._member_texts(member, [text])[0], label, k)

    def save(self, path: Path) -> dict:
        return {"members": [{"path": relative_member_path(f, path), "weight": round(float(w), 6)}
                            for f, w in zip(self.folders, self.weights)],
                "evasion": self.evasion,
                "label_weights": {lab: [round(float(x), 6) for x in row]
                                  for lab, row in zip(self.labels, self.label_weights)}}

    @classmethod
    def load(cls, path: Path, config: dict, from_pretrained: Callable) -> "EnsembleScorer":
        """Load the members and check the ensemble's part of config.json; a bad member or weight is
        a ModelFolderError naming the ensemble's config.json and the key."""
        path, file = Path(path), Path(path) / "config.json"
        if path.resolve() in _LOADING.get():
            raise ModelFolderError(f"{file}: the ensemble is its own member (members form a cycle)")
        specs = need(config, "members", file, "scorer.")
        if not isinstance(specs, list) or not specs:
            raise ModelFolderError(f"{file}: scorer.members must be a non-empty list of {{path, weight}}")
        token = _LOADING.set(_LOADING.get() | {path.resolve()})
        try:
            return cls._load_members(path, config, specs, from_pretrained)
        finally:
            _LOADING.reset(token)

    @classmethod
    def _load_members(cls, path: Path, config: dict, specs: list, from_pretrained: Callable) -> "EnsembleScorer":
        file = path / "config.json"
        folders, weights, members = [], [], []
        for i, s in enumerate(specs):
            key = f"scorer.members[{i}]"
            folders.append(member_folder(path, need(s, "path", file, f"{key}.")))
            weights.append(need(s, "weight", file, f"{key}."))
            try:
                members.append(from_pretrained(folders[-1]))
            except (ValueError, OSError) as e:
                raise ModelFolderError(f"{file}: {key} ({s['path']}) does not load: {e}") from None
        try:
            return cls(config["labels"], members, weights, folders, config.get("evasion", True),
                       config.get("label_weights"))
        except (ValueError, TypeError) as e:
            raise ModelFolderError(f"{file}: {e}") from None


def combine(probs: list[np.ndarray], weights) -> np.ndarray:
    """Weighted average of same-shaped (n, labels) probability arrays. `weights`: one per member
    (normalised to sum 1), or a (labels, members) matrix with a row of weights per label."""
    w = np.asarray(weights, np.float64)
    if w.ndim == 1:
        w = np.tile(w, (probs[0].shape[1] if probs else 1, 1))
    w = w / w.sum(axis=1, keepdims=True)
    return sum(w[None, :, i] * p.astype(np.float64) for i, p in enumerate(probs)).astype(np.float32)


def member_folder(ensemble_dir: Path, member: str) -> Path:
    p = Path(member)
    return p if p.is_absolute() else Path(ensemble_dir) / p


def relative_member_path(member: str | Path, ensemble_dir: str | Path) -> str:
    """How the ensemble folder names a member: relative to the ensemble folder when they share
    a parent below the root (e.g. both under models/), else absolute."""
    member, ensemble_dir = os.path.abspath(member), os.path.abspath(ensemble_dir)
    try:
        common = os.path.commonpath([member, ensemble_dir])
    except ValueError:  # another drive (Windows)
        return member
    return member if common == os.path.dirname(common) else os.path.relpath(member, ensemble_dir)
