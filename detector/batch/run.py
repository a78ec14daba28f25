"""Batch scoring of a file of posts: the plain function behind `jingwang score`.

The input is read, scored and written in batches (memory does not grow with the input).
Each batch goes through `detector.batch.process.process_batch`, whichever engine runs it: in
this process, in `--workers N` processes (`detector.batch.pool`) or in a Ray actor pool
(`detector.batch.ray_engine`), so every engine writes the same bytes. The output side
(crash-safe writes, progress file, `--resume`, flagged file) is `detector.batch.sink.Sink`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from detector.batch.guards import DuplicateIds, MAX_TOLD, check_input, check_outputs, error_lines
from detector.batch.io import Post, format_of, iter_posts
from detector.batch.process import BatchContext, BatchResult, ModelSpec, batched, local_results
from detector.batch.progress import progress_bar
from detector.batch.sink import FLAGGED_SUFFIX, SPOOL_SUFFIX, Sink, progress_path, start_progress
from detector.model.core import Detector

ENGINES = ("local", "ray")


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
    resumed_from: int = 0      # input records already done by an interrupted run (--resume)
    scored_now: int = 0        # scored by this run
    any_flag_now: int = 0      # posts of this run with at least one flag
    campaign_clusters: int | None = None  # --campaigns: near-duplicate clusters, and the posts in them
    campaign_posts: int = 0
    warnings: list[str] = field(default_factory=list)  # about the whole input (also told on stderr)

    @property
    def posts_per_s(self) -> float:
        return self.scored_now / self.seconds if self.seconds > 0 else 0.0


def output_files(out: str, flagged: str | None) -> dict[str, str]:
    """Every file a run writes, by what it is (they must differ from the input and each other)."""
    files = {"--out": out, "the errors file": errors_path(out)}
    if out != "-":
        files["the progress file"] = progress_path(out)
        if format_of(out) == "parquet":
            files["the Parquet spool"] = out + SPOOL_SUFFIX
    if flagged:
        files.update({"--flagged": flagged, "the flagged spool": flagged + FLAGGED_SUFFIX})
    return files


def errors_path(out: str) -> str:
    return "jingwang-errors.jsonl" if out == "-" else str(Path(out).with_suffix("")) + ".errors.jsonl"


def campaign_lookup(input: str, text_field: str, id_field: str) -> dict:
    """First pass for --campaigns: near-duplicate clusters of the whole input, by post id."""
    from detector.cases.campaigns import campaign_index

    posts = ((str(p.record.get(id_field)), p.text, p.record.get("author"), p.record.get("created_at"))
             for p in iter_posts(input, text_field, id_field) if isinstance(p, Post))
    return campaign_index(posts)


def score_file(input: str, model: str | Path | Detector, out: str, flagged: str | None = None,
               text_field: str = "text", id_field: str = "id", strict: bool = False,
               batch_size: int = 256, progress: bool = True, campaigns: bool = False, *,
               evidence: bool = True, workers: int = 1, engine: str = "local", ray_address: str | None = None,
               cascade: str | None = None, device: str | None = None, resume: bool = False,
               checkpoint_s: float = 1.0) -> ScoreSummary:
    """Score every post of `input` into `out`; flagged ones (by priority) into `flagged`.
    Bad records go to `<out>.errors.jsonl` and stderr; with `strict` the first one stops the run.
    With `campaigns`, a first pass clusters near-duplicate posts: each clustered post gets a
    `campaign` field and a review-priority boost (the input must be a file, not stdin).
    `workers` > 1 scores in that many processes, `engine="ray"` in a Ray actor pool; `resume`
    continues an interrupted run from `<out>.progress.json`; `cascade` is a folder written by
    `training.trainers.cascade` (fast model first, a second model on the uncertain band)."""
    t0 = time.time()
    check_args(input, model, out, flagged, campaigns, workers, engine, batch_size)
    spec = ModelSpec(model, cascade, device)
    det = spec.load() if engine == "local" and workers <= 1 else None
    labels = list(det.labels) if det is not None else spec.labels()
    model_id = det.model_id if det is not None else spec.model_id()
    state, hasher = start_progress(input, out, batch_size, resume, labels, flagged, model_id)
    summary = ScoreSummary(out=out, flagged_out=flagged, resumed_from=state.items)
    if state.done:
        return _fill(summary, state, None, t0)
    start = start_of(state, input)
    items = iter_posts(input, text_field, id_field, **start)
    first = next(items, None)  # opens the input (clear error) before any output is touched
    camp = campaign_lookup(input, text_field, id_field) if campaigns else None
    if camp is not None:
        summary.campaign_clusters, summary.campaign_posts = len({c["cluster_id"] for c in camp.values()}), len(camp)
    ctx = BatchContext(input, id_field, evidence, camp)
    sink = Sink(out, flagged, errors_path(out), state, checkpoint_s, hasher)
    results = run_engine(det, spec, ctx, _chain(first, items), (input, text_field, id_field, start),
                         batch_size, workers, engine, ray_address)
    dups = consume(results, sink, summary, input, strict, progress_bar(input, state, progress))
    summary.warnings = run_warnings(state, dups)
    for w in summary.warnings:
        print(f"{input}: warning: {w}", file=sys.stderr)
    return _fill(summary, state, sink.errors_out, t0)


def consume(results: Iterable[BatchResult], sink: Sink, summary: ScoreSummary, input: str, strict: bool,
            bar) -> DuplicateIds:
    """Write every BatchResult through the sink (finished at the end, closed in any case), moving
    the progress bar (detector.batch.progress); the ids seen, for the duplicate warning."""
    dups = DuplicateIds()
    told = [0]  # problems seen so far: stderr shows the first MAX_TOLD, the errors file holds all
    try:
        for res in results:
            if strict and res.bad:
                raise StrictModeError(f"{input}, line {res.bad[0].line}: {res.bad[0].reason}")
            sink.write(res, error_lines(res, input, told))
            dups.add(res.ids)
            summary.scored_now += len(res.lines)
            summary.any_flag_now += sum(1 for f in res.flags if f)
            bar.update(res, len(res.lines))
        sink.finish()
    finally:
        sink.close(quiet=True)
        bar.close()
        if told[0] > MAX_TOLD:
            print(f"{input}: ... and {told[0] - MAX_TOLD} more problems, every one in {sink.errors_out}",
                  file=sys.stderr)
    return dups


def run_warnings(state, dups: DuplicateIds) -> list[str]:
    """Warnings about the whole input: fields moved under "input", ids used twice (this run)."""
    out = []
    moved = state.moved
    if moved:
        names = ", ".join(f"{k} ({n})" for k, n in sorted(moved["fields"].items()))
        n = moved["records"]
        out.append(f"{n} input record{' has' if n == 1 else 's have'} fields that jingwang writes itself "
                   f"({names}; first on line {moved['line']}): their values are kept under \"input\", never "
                   f"taken as jingwang's")
    dup = dups.report()
    if dup:
        out.append(dup)
    return out


def check_args(input, model, out, flagged, campaigns, workers, engine, batch_size) -> None:
    format_of(out)
    if flagged:
        format_of(flagged)
    check_input(input)
    check_outputs(input, output_files(out, flagged))
    if campaigns and input == "-":
        raise ValueError("--campaigns reads the input twice: give a file, not - (stdin)")
    if engine not in ENGINES:
        raise ValueError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if (workers > 1 or engine == "ray") and (input == "-" or isinstance(model, Detector)):
        raise ValueError("--workers and --engine ray need an input file and a model folder")
    if batch_size < 1 or workers < 1:
        raise ValueError("--batch-size and --workers must be at least 1")


def start_of(state, input: str) -> dict:
    """Where to start reading: a byte offset for JSONL files, else a record count."""
    if state.items == 0:
        return {}
    if format_of(input) == "jsonl":
        return {"offset": state.in_offset, "line": state.line}
    return {"skip": state.items}


def run_engine(det, spec: ModelSpec, ctx: BatchContext, items: Iterator, source: tuple, batch_size: int,
               workers: int, engine: str, ray_address: str | None) -> Iterator[BatchResult]:
    """BatchResults in input order, from the chosen engine. `items` is the open input (local
    engine and workers); Ray reads `source` = (input, text_field, id_field, start) in its tasks."""
    if engine == "ray":
        first = next(items, None)
        items.close()
        if first is None:
            return iter(())
        from detector.batch.ray_engine import ray_results
        return ray_results(spec, ctx, *source, batch_size, workers, ray_address)
    batches = batched(items, batch_size)
    if workers > 1:
        from detector.batch.pool import pool_results
        return pool_results(spec, ctx, batches, workers)
    return local_results(det, batches, ctx)


def _chain(first, rest):
    if first is not None:
        yield first
        yield from rest


def _fill(summary: ScoreSummary, state, errors_out: str | None, t0: float) -> ScoreSummary:
    summary.read, summary.scored, summary.bad = state.read, state.scored, state.bad
    summary.flagged = dict(state.flagged)
    summary.errors_out = errors_out
    if errors_out is None and state.errors_offset and summary.out != "-":
        summary.errors_out = errors_path(summary.out)
    summary.seconds = time.time() - t0
    return summary


__all__ = ["ScoreSummary", "StrictModeError", "score_file", "errors_path", "campaign_lookup"]
