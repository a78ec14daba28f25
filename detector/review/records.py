"""Scored records as the review queue accepts them: the fields the pipeline writes (`scores`,
`flags`, `priority`, `evidence`, `subtypes`, `contacts`, `campaign`, `model`) are checked for the types
`jingwang score` gives them, because a scored file is crawled text plus our own fields and a
crawled post may carry look-alikes (`"campaign": {"size": {"toString": 1}}`).

- `scores` (probabilities in [0, 1]), `priority` (a finite number) and the post id: without them a
  record cannot be queued, so a wrong one rejects the record (its line number and the reason).
- everything else: a wrong value is dropped (a whole field, or one evidence entry) with a warning.

`clean_result` is the same check without warnings; the queue applies it again to what it reads
back, so an item stored before these checks still reaches the page in the shape it expects."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Callable

RESULT_KEYS = ("scores", "flags", "priority", "evidence", "subtypes", "contacts", "model", "campaign")
MAX_NAME = 200  # characters in a risk name, model id, cluster id or evidence term
Warn = Callable[[str], None]


@dataclass
class ImportSummary:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_reviewed: int = 0  # newer scores for an already reviewed item: not applied
    bad: int = 0
    warned: int = 0  # records queued with a field dropped, or an id seen before in the same import
    sampled_from: int = 0  # with --sample: how many good records the sample was drawn from
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def reject(self, problem: str) -> None:
        """Count a bad record; the first 20 problems (and warnings) are kept for the report."""
        self.bad += 1
        self._keep(problem)

    def warn(self, where: str, messages: list[str]) -> None:
        """Count a queued record that needed a warning (a dropped field, a repeated id)."""
        self.warned += 1
        for m in messages:
            self._keep(f"{where}: {m}")

    def _keep(self, problem: str) -> None:
        if len(self.problems) < 20:
            self.problems.append(problem)


def _as_json(value, default):
    if isinstance(value, str):
        if not value.strip():
            return default
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return default
    return default if value is None else value


def _number(v) -> float | None:
    """A finite float from an int or float (never a bool, string or object), else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:  # a 5,000-digit integer
        return None
    return f if math.isfinite(f) else None


def _short(v) -> str:
    try:
        text = json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        text = type(v).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _name(v) -> str | None:
    return v if isinstance(v, str) and v.strip() and len(v) <= MAX_NAME else None


def check_scores(rec: dict) -> dict[str, float]:
    """{risk: probability} from JSONL (an object), CSV (JSON text) or flat `score_RISK` columns."""
    scores = rec.get("scores")
    if isinstance(scores, str):
        scores = _as_json(scores, None)
    if scores is None:
        flat = {k[len("score_"):]: _as_json(rec.pop(k), None) for k in list(rec)  # CSV cells are text
                if isinstance(k, str) and k.startswith("score_")}
        scores = flat or None
    if not scores:
        raise ValueError("not scored output (no scores): score it first with `jingwang score`")
    if not isinstance(scores, dict):
        raise ValueError(f"scores must be an object {{risk: probability}}, not {_short(scores)}")
    out = {}
    for risk, p in scores.items():
        f = _number(p)
        if _name(risk) is None or "," in risk:
            raise ValueError(f"scores: {_short(risk)} is not a risk name")
        if f is None or not 0.0 <= f <= 1.0:
            raise ValueError(f"scores.{risk} must be a number from 0 to 1, not {_short(p)}")
        out[risk] = f
    return out


def check_priority(value) -> float:
    if value in (None, ""):
        return 0.0
    f = _number(_as_json(value, value) if isinstance(value, str) else value)
    if f is None:
        raise ValueError(f"priority must be a finite number, not {_short(value)}")
    return f


def clean_flags(value, scores: dict, warn: Warn) -> list[str]:
    if isinstance(value, str):
        parsed = _as_json(value, None) if value.startswith("[") else None
        value = parsed if isinstance(parsed, list) else [f for f in value.split(",") if f]
    if value is None:
        return []
    if not isinstance(value, list):
        warn(f"flags {_short(value)} dropped: not a list of risks")
        return []
    good = [f for f in value if isinstance(f, str) and f in scores]
    if len(good) != len(value):
        warn(f"flags {_short([f for f in value if f not in good])} dropped: not risks of this record's scores")
    return list(dict.fromkeys(good))


def _span(sp) -> list[int] | None:
    if not isinstance(sp, list) or len(sp) != 2 or any(type(x) is not int for x in sp):
        return None
    return sp if 0 <= sp[0] <= sp[1] else None


def _entry(e) -> dict | None:
    """One evidence entry: a term (text) with its weight, share, views and spans, or a campaign cluster."""
    if not isinstance(e, dict):
        return None
    if "term" in e:
        term, spans = e.get("term"), e.get("spans", [])
        if not isinstance(term, str) or not isinstance(spans, list) or len(term) > 10 * MAX_NAME:
            return None
        out = {"term": term, "spans": [s for s in map(_span, spans) if s is not None]}
        if _number(e.get("weight")) is not None:
            out["weight"] = _number(e["weight"])
        if _number(e.get("share")) is not None:
            out["share"] = _number(e["share"])
        views = e.get("views")
        if isinstance(views, list) and all(_name(v) for v in views) and len(views) <= 20:
            out["views"] = views
        if _name(e.get("kind")):
            out["kind"] = e["kind"]
        return out
    return clean_campaign(e)


def _terms(entries: list) -> list[dict]:
    """The well-formed term entries of a list (campaign clusters and malformed entries left out)."""
    return [x for x in map(_entry, entries) if x is not None and "term" in x]


def _per_risk(value, warn: Warn, what: str, shape: str, kind: type) -> tuple[dict, int] | None:
    """A {risk: kind} object as JSON text or a dict: its well-named entries of the right type, and
    how many others it held; None (after a warning) when it is not an object at all."""
    value = _as_json(value, value) if value not in ("", None) else {}
    if not isinstance(value, dict):
        warn(f"{what} {_short(value)} dropped: not an object {shape}")
        return None
    good = {risk: x for risk, x in value.items() if _name(risk) is not None and isinstance(x, kind)}
    return good, len(value) - len(good)


def _dropped(warn: Warn, what: str, bad: int) -> None:
    if bad:
        warn(f"{what}: {bad} malformed entr{'y' if bad == 1 else 'ies'} dropped")


def clean_evidence(value, warn: Warn, what: str = "evidence") -> dict[str, list[dict]]:
    parsed = _per_risk(value, warn, what, "{risk: [entries]}", list)
    if parsed is None:
        return {}
    out, bad = {}, parsed[1]
    for risk, entries in parsed[0].items():
        out[risk] = [x for x in map(_entry, entries) if x is not None]
        bad += len(entries) - len(out[risk])
    _dropped(warn, what, bad)
    return out


def clean_subtypes(value, warn: Warn) -> dict[str, dict[str, dict]]:
    """{risk: {subtype: {"score": 0..1, "evidence": [entries]}}} as `jingwang score` writes each
    flagged risk's subtypes (detector/model/subtypes.py); a malformed subtype is dropped."""
    parsed = _per_risk(value, warn, "subtypes", "{risk: {subtype: {score, evidence}}}", dict)
    if parsed is None:
        return {}
    out, bad = {}, parsed[1]
    for risk, subs in parsed[0].items():
        kept = {}
        for name, sub in subs.items():
            score = _number(sub.get("score")) if isinstance(sub, dict) else None
            ev = sub.get("evidence", []) if isinstance(sub, dict) else None
            if _name(name) is None or score is None or not 0 <= score <= 1 or not isinstance(ev, list):
                bad += 1
                continue
            kept[name] = {"score": score, "evidence": _terms(ev)}
        out[risk] = kept
    _dropped(warn, "subtypes", bad)
    return out


def clean_contacts(value, warn: Warn) -> list[dict]:
    value = _as_json(value, value) if value not in ("", None) else []
    if not isinstance(value, list):
        warn(f"contacts {_short(value)} dropped: not a list")
        return []
    kept = _terms(value)
    if len(kept) != len(value):
        warn(f"contacts: {len(value) - len(kept)} malformed entries dropped")
    return kept


def clean_campaign(value) -> dict | None:
    """{"cluster_id": text, "size": int >= 1, "score": 0..1} as `jingwang score --campaigns` writes it."""
    if not isinstance(value, dict):
        return None
    cid, size, score = value.get("cluster_id"), value.get("size"), _number(value.get("score"))
    if isinstance(cid, int) and not isinstance(cid, bool):
        cid = str(cid)
    if _name(cid) is None or type(size) is not int or size < 1 or score is None or not 0 <= score <= 1:
        return None
    return {"cluster_id": cid, "size": size, "score": score}


def normalize_scored(rec: dict, warn: Warn | None = None) -> dict:
    """A scored record as `jingwang score` wrote it, from JSONL (nested) or CSV / Parquet (flat:
    score_RISK columns, comma-joined flags, JSON text for evidence and campaign). Raises
    ValueError for a record that cannot be queued; `warn` hears of every field dropped."""
    warn = warn or (lambda message: None)
    rec = dict(rec)
    rec["scores"] = check_scores(rec)
    rec["priority"] = check_priority(rec.get("priority"))
    rec["flags"] = clean_flags(rec.get("flags"), rec["scores"], warn)
    rec["evidence"] = clean_evidence(rec.get("evidence"), warn)
    if "subtypes" in rec:
        rec["subtypes"] = clean_subtypes(rec["subtypes"], warn)
    if "contacts" in rec:
        rec["contacts"] = clean_contacts(rec["contacts"], warn)
    camp = rec.pop("campaign", None)
    if camp not in (None, ""):
        cleaned = clean_campaign(_as_json(camp, None))
        if cleaned is None:
            warn(f"campaign {_short(camp)} dropped: not a campaign of `jingwang score --campaigns` "
                 "({cluster_id, size, score})")
        else:
            rec["campaign"] = cleaned
    if rec.get("model") is not None and _name(rec["model"]) is None:
        warn(f"model {_short(rec['model'])} dropped: not a model id")
        rec.pop("model")
    return rec


def clean_result(rec: dict) -> dict:
    """The result fields of a stored record in the shape the page expects (no warnings)."""
    quiet = (lambda message: None)
    scores = rec.get("scores") if isinstance(rec.get("scores"), dict) else {}
    scores = {k: _number(v) for k, v in scores.items() if _name(k) and _number(v) is not None}
    return {"evidence": clean_evidence(rec.get("evidence"), quiet),
            "subtypes": clean_subtypes(rec.get("subtypes"), quiet),
            "campaign": clean_campaign(rec.get("campaign")),
            "model": rec.get("model") if _name(rec.get("model")) else None,
            "flags": clean_flags(rec.get("flags"), scores, quiet), "scores": scores}


def json_safe(value, depth: int = 0):
    """`value` as strict JSON can hold it: NaN and infinities become null, nesting deeper than 64
    levels is cut off (null), keys become text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= 64 and isinstance(value, (dict, list)):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v, depth + 1) for v in value]
    return value


def check_id(value, id_field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise ValueError(f"no post id in field {id_field!r}" if value in (None, "") else
                         f"post id in field {id_field!r} must be text or an integer, not {_short(value)}")
    rid = str(value)
    if len(rid) > 1000:
        raise ValueError(f"post id in field {id_field!r} is longer than 1000 characters")
    return rid


def check_labels(labels: dict, allowed: list[str]) -> dict[str, int]:
    """{risk: 0|1} for exactly the queue's risks, in their order; a ValueError says what is wrong.
    A label is the integer 0 or 1: not true/false, 1.0, "1" or "yes"."""
    if not isinstance(labels, dict):
        raise ValueError("labels must be an object {risk: 0 or 1}")
    missing = [r for r in allowed if r not in labels]
    extra = [r for r in labels if r not in allowed]
    if missing or extra:
        raise ValueError(f"labels must give exactly {', '.join(allowed)} "
                         f"({'missing ' + ', '.join(missing) if missing else ''}"
                         f"{'; ' if missing and extra else ''}{'unknown ' + ', '.join(map(str, extra)) if extra else ''})")
    for r in allowed:
        v = labels[r]
        if type(v) is not int or v not in (0, 1):
            raise ValueError(f"labels.{r} must be the integer 0 or 1, not {_short(v)}")
    return {r: labels[r] for r in allowed}


def accept(rec, where: str, text_field: str, id_field: str, s: ImportSummary) -> tuple[dict, str, str] | None:
    """(the record normalized, its post id, `where`), or None for a record that cannot be queued
    (counted in `s` with `where` and the reason); dropped fields are warned of in `s`."""
    warnings: list[str] = []
    try:
        if not isinstance(rec, dict):
            raise ValueError("not a JSON object")
        out = normalize_scored(rec, warnings.append)
        if not isinstance(out.get(text_field), str) or not out[text_field].strip():
            raise ValueError(f"no text in field {text_field!r}")
        rid = check_id(out.get(id_field), id_field)
        safe = json_safe(out)
        if safe != out:
            warnings.append("non-finite numbers (NaN, Infinity) or nesting deeper than 64 levels replaced by null")
            out = safe
    except ValueError as e:
        s.reject(f"{where}: {e}")
        return None
    if warnings:
        s.warn(where, warnings)
    return out, rid, where
