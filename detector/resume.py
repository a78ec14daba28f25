"""Crash-safe output of `jingwang score` and `--resume`.

Every batch goes to the output as ONE write() of complete lines (JSONL, CSV; Parquet output is
spooled as JSONL beside it and converted at the end). A sidecar `<out>.progress.json` records
how far the job got: input records consumed, the last input line/row (and, for JSONL, its byte
offset), and the byte size of the output, errors and flagged spool at that point. It is written
to a temporary file, fsync'd and renamed over the old one after the data files were fsync'd,
at most every `checkpoint_s` seconds (0 = after every batch) and at the end. After a kill -9
(or a power cut) the output may hold more than the progress file says, possibly ending in a
torn line: `--resume` truncates every file to the recorded size and reads the input from the
recorded position, so every input record is scored exactly once.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from detector.io import RecordWriter, format_of, jsonl_to, keyed_line, sort_spool

PROGRESS_SUFFIX = ".progress.json"
SPOOL_SUFFIX = ".partial.jsonl"   # Parquet output, as JSONL until the end
FLAGGED_SUFFIX = ".spool"         # flagged lines keyed by priority, sorted at the end


@dataclass
class Progress:
    input: str
    input_size: int
    batch_size: int
    items: int = 0          # input records consumed (posts and bad records)
    line: int = 0           # line (JSONL, CSV) or row (Parquet) of the last one
    in_offset: int = 0      # JSONL: input byte offset just after it
    out_offset: int = 0     # bytes of output (or of the Parquet spool) holding those records
    errors_offset: int = 0
    flagged_offset: int = 0
    read: int = 0
    scored: int = 0
    bad: int = 0
    flagged: dict = field(default_factory=dict)
    batches: int = 0
    done: bool = False
    flagged_out: str | None = None  # the --flagged file of the run (a resume must name the same)


def progress_path(out: str) -> str:
    return out + PROGRESS_SUFFIX


def load_progress(path: str) -> Progress | None:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return Progress(**json.load(f))


def save_progress(p: Progress, path: str) -> None:
    """Atomically replace the progress file (write, fsync, rename)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(asdict(p), f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def truncate(path: str, size: int) -> None:
    """Cut `path` back to `size` bytes (a file shorter than that was not fully written: error)."""
    have = os.path.getsize(path) if os.path.exists(path) else 0
    if have < size:
        raise ValueError(f"cannot resume: {path} has {have} bytes, but the progress file says {size} "
                         f"were written; score again without --resume")
    if os.path.exists(path):
        os.truncate(path, size)


def input_size(input: str) -> int:
    if input == "-":
        return 0
    if not os.path.isfile(input):
        raise FileNotFoundError(f"cannot read {input}: no such file")
    return os.path.getsize(input)


def start_progress(input: str, out: str, batch_size: int, resume: bool, labels: list[str],
                   flagged: str | None = None) -> Progress:
    """Where this run starts: the recorded progress with --resume (checked against the input and
    options), else a fresh one."""
    fresh = Progress(input=os.path.abspath(input) if input != "-" else "-", input_size=input_size(input),
                     batch_size=batch_size, flagged={r: 0 for r in labels}, flagged_out=flagged)
    if not resume:
        return fresh
    if input == "-" or out == "-":
        raise ValueError("--resume needs an input file and an output file, not - (stdin/stdout)")
    old = load_progress(progress_path(out))
    if old is None or (old.done and not os.path.exists(out)):
        return fresh
    if old.input_size != fresh.input_size:
        raise ValueError(f"cannot resume: {input} has {fresh.input_size} bytes, the interrupted run read "
                         f"{old.input_size}; score again without --resume")
    if old.batch_size != batch_size:
        raise ValueError(f"cannot resume with --batch-size {batch_size}: the interrupted run used "
                         f"{old.batch_size}, use it again")
    if old.flagged_out != flagged:
        raise ValueError(f"cannot resume with --flagged {flagged}: the interrupted run used "
                         f"{old.flagged_out or 'none'}, use it again")
    return old


class Sink:
    """The output side of a scoring run: output, errors and flagged spool, with progress."""

    def __init__(self, out: str, flagged: str | None, errors: str, progress: Progress,
                 checkpoint_s: float = 1.0):
        self.out, self.flagged, self.errors = out, flagged, errors
        self.p, self.checkpoint_s = progress, checkpoint_s
        self.durable = out != "-"
        self.data_path = out + SPOOL_SUFFIX if out != "-" and format_of(out) == "parquet" else out
        self.flagged_spool = flagged + FLAGGED_SUFFIX if flagged else None
        resuming = progress.batches > 0
        if resuming:
            truncate(self.data_path, progress.out_offset)
            if self.flagged_spool:
                truncate(self.flagged_spool, progress.flagged_offset)
            if os.path.exists(errors):
                truncate(errors, progress.errors_offset)
        elif self.durable and os.path.exists(progress_path(out)):
            os.remove(progress_path(out))
        self.writer = RecordWriter(self.data_path, fmt="jsonl" if self.data_path != out else None,
                                   append=resuming)
        self.flag_writer = RecordWriter(self.flagged_spool, fmt="jsonl", append=resuming) if flagged else None
        self.err_writer = RecordWriter(errors, fmt="jsonl", append=True) if resuming and progress.errors_offset else None
        self._last = time.monotonic()

    def write(self, result, error_lines: list[str]) -> None:
        """One batch: its output lines, error lines and flagged lines, then (maybe) a checkpoint."""
        if error_lines:
            self.err_writer = self.err_writer or RecordWriter(self.errors, fmt="jsonl")
            self.err_writer.write_lines(error_lines)
        self.writer.write_lines(result.lines)
        if self.flag_writer:
            self.flag_writer.write_lines([keyed_line(pr, ln) for ln, f, pr
                                          in zip(result.lines, result.flags, result.priorities) if f])
        p = self.p
        p.items += result.n
        p.line, p.in_offset = (result.line, result.end) if result.n else (p.line, p.in_offset)
        p.read += result.n
        p.scored += len(result.lines)
        p.bad += len(result.bad)
        for flags in result.flags:
            for r in flags:
                p.flagged[r] = p.flagged.get(r, 0) + 1
        p.batches += 1
        if self.durable and time.monotonic() - self._last >= self.checkpoint_s:
            self.checkpoint()

    def checkpoint(self) -> None:
        """fsync the data files, then record their sizes in the progress file."""
        for w in (self.writer, self.flag_writer, self.err_writer):
            if w is not None:
                w.fsync()
        self.p.out_offset = self.writer.offset
        self.p.flagged_offset = self.flag_writer.offset if self.flag_writer else 0
        self.p.errors_offset = self.err_writer.offset if self.err_writer else 0
        save_progress(self.p, progress_path(self.out))
        self._last = time.monotonic()

    @property
    def errors_out(self) -> str | None:
        return self.errors if self.err_writer is not None else None

    def close(self) -> None:
        for w in (self.writer, self.flag_writer, self.err_writer):
            if w is not None:
                w.close()

    def finish(self, sort_chunk: int = 2_000) -> None:
        """After the last batch: Parquet output from its spool, the flagged file sorted by
        priority (from its spool, records not held in memory), and the progress file marked done."""
        if self.durable:
            self.checkpoint()
        self.close()
        if self.data_path != self.out:
            jsonl_to(self.data_path, self.out)
        if self.flagged_spool:
            sort_spool(self.flagged_spool, self.flagged, chunk=sort_chunk)
        if self.durable:
            self.p.done = True
            save_progress(self.p, progress_path(self.out))
        for spool in (self.data_path if self.data_path != self.out else None, self.flagged_spool):
            if spool and Path(spool).exists():
                os.remove(spool)
