"""One batch of input records in, output lines out: what every engine of `jingwang score` runs.

`process_batch` is the only place scoring happens, whichever engine runs it: in this process
(`detector.batch.run`), in `--workers N` processes (`detector.batch.pool`) or in a Ray actor
pool (`detector.batch.ray_engine`), so every engine writes the same bytes. `ModelSpec` tells
each process how to build the scorer (model folder, cascade, device).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from detector.batch.guards import encode_records, id_key
from detector.batch.io import BadRecord, Post
from detector.cases.campaigns import campaign_boost
from detector.model.cascade import Cascade, cascade_config
from detector.model.core import Detector
from detector.model.flagging import priority
from detector.scorers.compute import resolve_device

MAX_CHARS_WARN = 20000
GPU_BATCH = 256
# fields of an output record that scoring writes: never taken from the input (moved under "input")
PIPELINE_FIELDS = ("scores", "flags", "priority", "evidence", "contacts", "subtypes", "model", "campaign", "input")


@dataclass
class BatchContext:
    """What scoring a batch needs besides the model (sent once to every worker)."""
    source: str
    id_field: str = "id"
    evidence: bool = True
    campaigns: dict | None = None


@dataclass
class BatchResult:
    n: int                     # input records in the batch (posts and bad records)
    line: int                  # line/row of its last record
    end: int                   # JSONL: input byte offset after it
    bad: list[BadRecord]
    warnings: list[tuple[int, str | None, str]]
    lines: list[str]           # one JSON line per scored post, in input order
    flags: list[list[str]]
    priorities: list[float]
    ids: list[tuple[int, int]] = field(default_factory=list)     # (id_key, line) of each post
    moved: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, input fields moved under "input")


@dataclass
class ModelSpec:
    """How to build the scorer in any process: model folder (or a loaded Detector), an
    optional cascade folder, device."""
    model: str | Path | Detector
    cascade: str | None = None
    device: str | None = None

    def load(self):
        device = resolve_device(self.device)
        det = self.model if isinstance(self.model, Detector) else Detector.from_pretrained(self.model, device)
        if self.cascade:
            det = Cascade.load(self.cascade, det, device)
        if device and device.startswith("cuda"):
            for scorer in scorers_of(det):
                if hasattr(scorer, "batch_size"):
                    scorer.batch_size = max(scorer.batch_size, GPU_BATCH)
        return det

    def model_id(self) -> str:
        """The id the output records will carry (`Detector.model_id`), without loading weights."""
        if isinstance(self.model, Detector) and not self.cascade:
            return self.model.model_id
        first = self.model.model_id if isinstance(self.model, Detector) else config_id(model_config(self.model))
        if not self.cascade:
            return first
        return f"cascade({first}->{config_id(model_config(cascade_config(self.cascade)['second_path']))})"

    def labels(self) -> list[str]:
        if self.cascade:
            cascade_config(self.cascade)
        if isinstance(self.model, Detector):
            return list(self.model.labels)
        return list(model_config(self.model)["labels"])


def scorers_of(det) -> list:
    """Every scorer inside a Detector, ensemble or cascade (to tune batch sizes)."""
    if hasattr(det, "detectors"):  # a cascade
        return [s for d in det.detectors for s in scorers_of(d)]
    scorer = getattr(det, "scorer", None)
    if scorer is None:
        return []
    subs = [s for m in getattr(scorer, "members", []) for s in scorers_of(m)]
    return [scorer, *subs]


def model_config(path: str | Path) -> dict:
    """config.json of a model folder (the same checks as `Detector.from_pretrained`, no loading)."""
    return Detector.read_config(path)[1]


def config_id(cfg: dict) -> str:
    return f"{cfg.get('name', 'unnamed')}@{cfg.get('version', '0')}"


def batched(items: Iterable, n: int) -> Iterator[list]:
    buf = []
    for it in items:
        buf.append(it)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


def result_record(post: Post, result: dict, campaigns: dict | None = None, id_field: str = "id",
                  thresholds: dict | None = None, reserved: Iterable[str] = PIPELINE_FIELDS) -> dict:
    rec = {**post.record, **result}
    moved = {k: v for k, v in post.record.items() if k in reserved}
    if moved:  # the input's own scores, campaign, ...: kept apart, never taken for the pipeline's
        for k in moved:
            if k not in result:
                del rec[k]
        rec["input"] = moved
    camp = campaigns.get(str(post.record.get(id_field))) if campaigns else None
    if camp is not None:
        rec["campaign"] = camp
        rec["priority"] = priority(result["scores"], thresholds, boost=campaign_boost(camp["size"], camp["score"]))
        if result["flags"]:
            rec["evidence"] = {**result["evidence"], "campaign": [{"cluster_id": camp["cluster_id"],
                                                                   "size": camp["size"], "score": camp["score"]}]}
    return rec


def process_batch(det, items: list, ctx: BatchContext) -> BatchResult:
    """Score one batch of input records (posts and bad records) into output lines."""
    posts = [p for p in items if isinstance(p, Post)]
    warnings = [(p.line, p.record.get(ctx.id_field), f"long text ({len(p.text)} characters): scored on its "
                 f"first {MAX_CHARS_WARN}, warning only") for p in posts if len(p.text) > MAX_CHARS_WARN]
    results = det.score([p.text[:MAX_CHARS_WARN] for p in posts], evidence=ctx.evidence) if posts else []
    by_model = getattr(det, "thresholds_by_model", {})
    reserved = {*PIPELINE_FIELDS, *(f"score_{r}" for r in det.labels)}  # CSV / Parquet score columns
    records = [result_record(p, r, ctx.campaigns, ctx.id_field, by_model.get(r["model"], det.thresholds), reserved)
               for p, r in zip(posts, results)]
    lines, unwritable = encode_records(posts, records, ctx.id_field)
    if unwritable:
        keep = [i for i, ln in enumerate(lines) if ln is not None]
        posts, records, lines = [posts[i] for i in keep], [records[i] for i in keep], [lines[i] for i in keep]
    last = items[-1]
    return BatchResult(n=len(items), line=last.line, end=last.end,
                       bad=[b for b in items if isinstance(b, BadRecord)] + unwritable, warnings=warnings,
                       lines=lines, flags=[r["flags"] for r in records],
                       priorities=[r["priority"] for r in records],
                       ids=[(id_key(p.record.get(ctx.id_field)), p.line) for p in posts],
                       moved=[(p.line, list(r["input"])) for p, r in zip(posts, records) if "input" in r])


def local_results(det, batches: Iterable[list], ctx: BatchContext) -> Iterator[BatchResult]:
    for batch in batches:
        yield process_batch(det, batch, ctx)
