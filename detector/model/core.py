"""`Detector`: the one runtime object. Load a model folder, score texts, save it back."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from detector.text.cleaning import CleanText, clean
from detector.text.content import content_mask
from detector.text.pii import exposes
from detector.scorers.evidence import with_contacts
from detector.scorers.features import contacts_in
from detector.model.flagging import flags_for, priority, shown
from detector.registry import CURRENT, Registry
from detector.risks import RISKS
from detector.scorers.base import ModelFolderError, need
from detector.scorers.compute import resolve_device
from detector.model.subtypes import SubtypeHead, subtypes_for

CONFIG = "config.json"
METRICS = "metrics.json"
# doxxing rule: a post that puts personal data (ID number, phone, address, plate, bank card) next
# to a person it points at, with an exposure word (人肉, 开盒, 曝光, 扩散 …), scores harassment at
# least this (detector/text/pii.py doxxing_evidence). The models see too few such posts to learn
# them; the rule fired on none of 40,000 random real comments (docs/operations.md)
DOXXING_FLOOR = 0.9
EVIDENCE_K = 5  # evidence items per flagged risk, unless Detector.evidence_k or score(k=) says otherwise
CHUNK = 4096  # posts featurized together in score(): bounded memory for long lists


class ModelNotFoundError(FileNotFoundError):
    pass


# each loader: (model folder, its config.json, device or None) -> the scorer

def _load_fast(path: Path, cfg: dict, device: str | None):
    from detector.scorers.fast import FastScorer
    return FastScorer.load(path, cfg["scorer"] | {"labels": cfg["labels"]})  # CPU only


def _load_transformer(path: Path, cfg: dict, device: str | None):
    from detector.scorers.transformer import TransformerScorer
    return TransformerScorer.load(path, cfg["scorer"] | {"labels": cfg["labels"]}, device)


def _load_ensemble(path: Path, cfg: dict, device: str | None):
    from detector.scorers.ensemble import EnsembleScorer
    return EnsembleScorer.load(path, cfg["scorer"] | {"labels": cfg["labels"]},
                               lambda member: Detector.from_pretrained(member, device))


def _load_onnx(path: Path, cfg: dict, device: str | None):
    from detector.scorers.onnx import OnnxScorer
    return OnnxScorer.load(path, cfg["scorer"] | {"labels": cfg["labels"]}, device)


SCORER_LOADERS: dict[str, Callable] = {
    "fast": _load_fast,
    "transformer": _load_transformer,
    "ensemble": _load_ensemble,
    "onnx": _load_onnx,
}


class Detector:
    """Scores posts for each risk with calibrated probabilities, flags, priority and evidence."""

    def __init__(self, scorer, thresholds: dict[str, float], config: dict | None = None):
        self.scorer = scorer
        self.labels: list[str] = list(scorer.labels)
        self.thresholds = {r: float(thresholds[r]) for r in self.labels}
        self.config = dict(config or {})
        self.evasion = bool(self.config.get("cleaning", {}).get("evasion", True))
        # posts without words are never flagged for rumor/harassment (detector/text/content.py)
        self.content_gate = bool(self.config.get("content_gate", True))
        self.doxxing_rule = bool(self.config.get("doxxing_rule", True)) and "harassment" in self.labels
        self.evidence_k = EVIDENCE_K
        self.subtype_head: SubtypeHead | None = None  # each flagged risk's subtypes (detector/model/subtypes.py)

    @property
    def model_id(self) -> str:
        return f"{self.config.get('name', 'unnamed')}@{self.config.get('version', '0')}"

    @staticmethod
    def read_config(path: str | Path) -> tuple[Path, dict]:
        """The model folder (following a registry's `current` link) and its config.json, without
        loading weights."""
        path = Path(path)
        if (path / CURRENT).exists() and not (path / CONFIG).exists():
            path = (path / CURRENT).resolve()
        if not (path / CONFIG).is_file():
            raise ModelNotFoundError(no_model_message(path))
        return path, check_config(path / CONFIG, read_json(path / CONFIG))

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | None = None) -> "Detector":
        """Load a model folder (or a registry's current version). `device`: "cpu", "cuda",
        "cuda:N" or "auto" for the encoder models (detector.scorers.compute.resolve_device);
        None: cpu. The fast model always runs on the CPU."""
        path, cfg = cls.read_config(path)
        device = resolve_device(device)
        det = cls(SCORER_LOADERS[cfg["model_type"]](path, cfg, device), cfg["thresholds"], cfg)
        det.subtype_head = SubtypeHead.load(path)  # None for a folder without one
        return det

    def save_pretrained(self, path: str | Path, metrics: dict | None = None) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        cfg = dict(self.config)
        cfg.update(model_type=self.scorer.model_type, labels=self.labels, thresholds=self.thresholds)
        cfg["scorer"] = self.scorer.save(path)
        if self.subtype_head is not None:
            self.subtype_head.save(path)
        (path / CONFIG).write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")
        if metrics is not None:
            (path / METRICS).write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
        self.config = cfg
        return path

    def clean(self, texts: Iterable[str]) -> list[CleanText]:
        return [clean(t, evasion=self.evasion) for t in texts]

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """Calibrated probabilities, shape (n, len(labels))."""
        cleaned = self.clean(texts)
        if not cleaned:
            return np.zeros((0, len(self.labels)), np.float32)
        return self.proba(cleaned)

    def proba(self, cleaned: list[CleanText]) -> np.ndarray:
        """The scorer's probabilities of cleaned texts, with the content gate applied."""
        return self.gate(self.scorer.predict_proba(cleaned), cleaned)

    def gate(self, p: np.ndarray, cleaned: list[CleanText]) -> np.ndarray:
        """The rules every score passes through after the scorer: the content gate (posts without
        words are never flagged for rumor/harassment) and the doxxing floor. `p`: (n, labels)."""
        if self.content_gate:
            p = p * content_mask([c.text for c in cleaned], self.labels)
        if self.doxxing_rule:
            j = self.labels.index("harassment")
            floor = max(DOXXING_FLOOR, self.thresholds["harassment"])
            hit = [i for i, c in enumerate(cleaned) if exposes(c.original)]
            if hit:
                p = np.array(p, copy=True)
                p[hit, j] = np.maximum(p[hit, j], floor)
        return p

    def score(self, texts: Iterable[str], evidence: bool = True, k: int | None = None) -> list[dict]:
        """One result per text: scores, flags, priority, evidence (at most k items per flagged
        risk, spans in the original text; k defaults to `evidence_k`), model."""
        cleaned = self.clean(texts)
        k = self.evidence_k if k is None else k
        out: list[dict] = []
        for i in range(0, len(cleaned), CHUNK):
            out.extend(self._score_chunk(cleaned[i:i + CHUNK], evidence, k))
        return out

    def _score_chunk(self, cleaned: list[CleanText], evidence: bool, k: int) -> list[dict]:
        """A scorer that can (the fast one) featurizes the chunk once for scores and evidence;
        others explain each flagged risk on its own."""
        if not hasattr(self.scorer, "analyze"):
            results = [self.result(ct, row, evidence, k) for ct, row in zip(cleaned, self.proba(cleaned))]
            return self._with_subtypes(cleaned, results)
        batch = self.scorer.analyze(cleaned)
        proba = self.gate(self.scorer.batch_proba(batch), cleaned)
        explain = self.scorer.batch_evidence
        results = [self.result(ct, row, evidence, k, lambda c, flags, kk, i=i: explain(batch, i, c, flags, kk))
                   for i, (ct, row) in enumerate(zip(cleaned, proba))]
        return self._with_subtypes(cleaned, results, getattr(batch, "X", None))

    def _with_subtypes(self, cleaned: list[CleanText], results: list[dict], X=None) -> list[dict]:
        """`subtypes` {risk: {subtype: {score, evidence}}} of each flagged risk, when the model
        folder has a subtype head (on the fast scorer's features; `X` its rows when at hand)."""
        feat = getattr(self.scorer, "featurizer", None)
        if self.subtype_head is None or feat is None:
            return results
        subs = subtypes_for(self.subtype_head, feat, cleaned, [r["flags"] for r in results], X,
                            [r["evidence"] for r in results])
        for r, s in zip(results, subs):
            r["subtypes"] = s
        return results

    def result(self, ct: CleanText, row: np.ndarray, evidence: bool = True, k: int | None = None,
               explain=None) -> dict:
        """The result `score` gives for one cleaned text whose probabilities (`proba`) are `row`:
        scores, flags, priority, evidence (at most k items per flagged risk; k defaults to
        `evidence_k`), contacts, model. `explain(ct, flags, k)` -> {risk: items}, when the scorer
        has the post's features at hand; else each flagged risk is explained on its own."""
        k = self.evidence_k if k is None else k
        scores = {r: shown(p) for r, p in zip(self.labels, row)}
        flags = flags_for(scores, self.thresholds)
        ev = {}
        if evidence and flags:
            ev = explain(ct, flags, k) if explain else {r: self.scorer.explain(ct, r, k) for r in flags}
        contacts = contact_evidence(ct)
        if "paid_posting" in ev:
            ev["paid_posting"] = with_contacts(ct.original, ev["paid_posting"], contacts, k)
        return {"scores": scores, "flags": flags, "priority": priority(scores, self.thresholds),
                "evidence": ev, "contacts": contacts, "model": self.model_id}


def no_model_message(path: Path) -> str:
    """Why `path` holds no model: a registry without a current version says so and how to fix it."""
    reg = Registry(path)
    versions = reg.versions()
    if not versions and not (path / CURRENT).is_symlink():
        return f"no model at {path}: expected a folder with {CONFIG} (train one with `jingwang train`)"
    last = next((e.get("to") for e in reversed(reg.history()) if e.get("to") in versions), None)
    hint = f" ({last} was the last current one)" if last else ""
    return (f"{path} is a model registry without a current version (versions: {', '.join(versions) or 'none'}); "
            f"make one current with `jingwang models promote {path} {last or (versions or ['VERSION'])[-1]}`{hint}")


def read_json(file: Path) -> dict:
    """A JSON object from `file`; anything else is one sentence naming the file."""
    try:
        cfg = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ModelFolderError(f"{file}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ModelFolderError(f"{file}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise ModelFolderError(f"{file}: not valid JSON (nested too deeply)") from None
    if not isinstance(cfg, dict):
        raise ModelFolderError(f"{file}: expected a JSON object, not {type(cfg).__name__}")
    return cfg


def check_config(file: Path, cfg: dict) -> dict:
    """The checks every model's config.json passes before its weights are read: a known model_type,
    labels that are known risks (each once), a finite threshold in [0, 1] for each label."""
    kind = need(cfg, "model_type", file)
    if kind not in SCORER_LOADERS:
        raise ModelFolderError(f"{file}: unknown model_type {kind!r}; known: {', '.join(SCORER_LOADERS)}")
    labels = need(cfg, "labels", file)
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise ModelFolderError(f"{file}: labels must be a non-empty list of risk names, not {labels!r}")
    unknown = [x for x in labels if x not in RISKS]
    if unknown or len(set(labels)) != len(labels):
        why = f"unknown labels {unknown}" if unknown else "a label listed twice"
        raise ModelFolderError(f"{file}: labels has {why}; known risks: {', '.join(RISKS)}")
    thresholds = need(cfg, "thresholds", file)
    if not isinstance(thresholds, dict):
        raise ModelFolderError(f"{file}: thresholds must be an object {{risk: number}}, not {thresholds!r}")
    extra = sorted(set(thresholds) - set(labels))
    if extra:
        raise ModelFolderError(f"{file}: thresholds has unknown labels {extra} (labels: {labels})")
    for r in labels:
        t = need(thresholds, r, file, "thresholds.")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= t <= 1.0:  # NaN fails too
            raise ModelFolderError(f"{file}: thresholds.{r} must be a number in [0, 1], not {t!r}, "
                                   f"so the model refuses to load")
    if not isinstance(need(cfg, "scorer", file), dict):
        raise ModelFolderError(f"{file}: scorer must be an object, not {cfg['scorer']!r}")
    return cfg


def contact_evidence(ct: CleanText) -> list[dict]:
    """Phones, QQ and WeChat ids, URLs and e-mails found in the cleaned text (so evasive
    spellings count), each with its span in the ORIGINAL text and the original spelling."""
    out = []
    for c in contacts_in(ct.text):
        s, e = ct.to_original(c.start, c.end)
        value = ct.original[s:e] if c.kind == "url" else c.value
        out.append({"term": value, "kind": f"contact:{c.kind}", "weight": 0.0, "spans": [[s, e]]})
    return out
