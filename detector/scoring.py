"""Batch scoring of a file of posts: the plain function behind `jingwang score`."""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from tqdm import tqdm

from detector.detector import Detector
from detector.io import BadRecord, Post, RecordWriter, iter_posts

MAX_CHARS_WARN = 20000


class StrictModeError(ValueError):
    pass


@dataclass
class ScoreSummary:
    read: int = 0
    scored: int = 0
    bad: int = 0
    flagged: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    out: str = ""
    flagged_out: str | None = None
    errors_out: str | None = None

    @property
    def posts_per_s(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0


def errors_path(out: str) -> str:
    return "jingwang-errors.jsonl" if out == "-" else str(Path(out).with_suffix("")) + ".errors.jsonl"


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
                  thresholds: dict | None = None) -> dict:
    rec = {**post.record, **result}
    camp = campaigns.get(str(post.record.get(id_field))) if campaigns else None
    if camp is not None:
        from detector.campaigns import campaign_boost
        from detector.flagging import priority

        rec["campaign"] = camp
        rec["priority"] = priority(result["scores"], thresholds, boost=campaign_boost(camp["size"], camp["score"]))
        if result["flags"]:
            rec["evidence"] = {**result["evidence"], "campaign": [{"cluster_id": camp["cluster_id"],
                                                                   "size": camp["size"], "score": camp["score"]}]}
    return rec


def campaign_lookup(input: str, text_field: str, id_field: str) -> dict:
    """First pass for --campaigns: near-duplicate clusters of the whole input, by post id."""
    from detector.campaigns import campaign_index

    posts = ((str(p.record.get(id_field)), p.text, p.record.get("author"), p.record.get("created_at"))
             for p in iter_posts(input, text_field, id_field) if isinstance(p, Post))
    return campaign_index(posts)


def score_file(input: str, model: str | Path | Detector, out: str, flagged: str | None = None,
               text_field: str = "text", id_field: str = "id", strict: bool = False,
               batch_size: int = 256, progress: bool = True, campaigns: bool = False) -> ScoreSummary:
    """Score every post of `input` into `out`; flagged ones (by priority) into `flagged`.
    Bad records go to `<out>.errors.jsonl` and stderr; with `strict` the first one stops the run.
    With `campaigns`, a first pass clusters near-duplicate posts: each clustered post gets a
    `campaign` field and a review-priority boost (the input must be a file, not stdin)."""
    det = model if isinstance(model, Detector) else Detector.from_pretrained(model)
    summary = ScoreSummary(out=out, flagged_out=flagged, flagged={r: 0 for r in det.labels})
    t0 = time.time()
    if campaigns and input == "-":
        raise ValueError("--campaigns reads the input twice: give a file, not - (stdin)")
    camp = campaign_lookup(input, text_field, id_field) if campaigns else None
    posts_iter = iter_posts(input, text_field, id_field)
    first = next(posts_iter, None)  # opens the input (clear error) before any output is touched
    writer = RecordWriter(out)
    err_file, kept = None, []
    bar = tqdm(total=None, unit=" posts", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    try:
        for batch in batched(_chain(first, posts_iter), batch_size):
            posts = [p for p in batch if isinstance(p, Post)]
            for bad in (b for b in batch if isinstance(b, BadRecord)):
                if strict:
                    raise StrictModeError(f"{input}, line {bad.line}: {bad.reason}")
                err_file = err_file or open(errors_path(out), "w", encoding="utf-8")
                _report(err_file, bad.line, bad.id, bad.reason, input)
                summary.bad += 1
            for p in posts:
                if len(p.text) > MAX_CHARS_WARN:
                    err_file = err_file or open(errors_path(out), "w", encoding="utf-8")
                    _report(err_file, p.line, p.record.get(id_field), f"long text ({len(p.text)} characters): "
                            f"scored on its first {MAX_CHARS_WARN}, warning only", input)
            results = det.score([p.text[:MAX_CHARS_WARN] for p in posts])
            records = [result_record(p, r, camp, id_field, det.thresholds) for p, r in zip(posts, results)]
            writer.write(records)
            summary.read += len(batch)
            summary.scored += len(records)
            for rec in records:
                for r in rec["flags"]:
                    summary.flagged[r] += 1
            if flagged:
                kept.extend(r for r in records if r["flags"])
            bar.update(len(batch))
    finally:
        writer.close()
        bar.close()
        if err_file:
            err_file.close()
            summary.errors_out = err_file.name
    if flagged:
        kept.sort(key=lambda r: -r["priority"])
        fw = RecordWriter(flagged)
        fw.write(kept)
        fw.close()
    summary.seconds = time.time() - t0
    return summary


def _chain(first, rest):
    if first is not None:
        yield first
        yield from rest


def _report(f, line: int, rid, reason: str, source: str) -> None:
    f.write(json.dumps({"line": line, "id": rid, "reason": reason}, ensure_ascii=False) + "\n")
    f.flush()
    print(f"{source}, line {line}: {reason}", file=sys.stderr)
