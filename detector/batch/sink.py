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

The progress file also records the model id and a fingerprint of the input (size, mtime, and a
hash of what was read: the bytes before the recorded offset for JSONL, the whole file for CSV
and Parquet); `--resume` refuses, with the reason, another model or an input whose size or
hashed bytes changed (a `touch` alone is accepted: what was scored is byte-for-byte the same).
A progress file that is torn, not an object, or has unknown, missing or mistyped keys is one
sentence naming it.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from detector.batch.guards import OutputError, check_input, writing
from detector.batch.io import RecordWriter, format_of, jsonl_to, keyed_line, sort_spool

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
    model: str = ""         # model id of the run (a resume must use the same)
    input_mtime_ns: int = 0
    input_hash: str = ""    # blake2b of the input read so far (JSONL: bytes before in_offset; else whole)
    moved: dict = field(default_factory=dict)  # input fields moved under "input": records, line, fields


TYPES = {"str": str, "int": int, "bool": bool, "dict": dict, "str | None": (str, type(None))}


def progress_path(out: str) -> str:
    return out + PROGRESS_SUFFIX


def load_progress(path: str) -> Progress | None:
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        bad_progress(path, f"cannot be read: {e.strerror or e}")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        bad_progress(path, f"not valid JSON: {e}")
    return progress_from(data, path)


def progress_from(data, path: str) -> Progress:
    """A Progress from the JSON of a progress file: every key known, present and of its type."""
    if not isinstance(data, dict):
        bad_progress(path, f"not a JSON object but {type(data).__name__}")
    known = {f.name: f for f in fields(Progress)}
    unknown = [k for k in data if k not in known]
    if unknown:
        bad_progress(path, f"unknown key {unknown[0]!r}")
    missing = [k for k, f in known.items()
               if k not in data and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        bad_progress(path, f"missing key {missing[0]!r}")
    for k, v in data.items():
        t = TYPES[known[k].type]
        if not isinstance(v, t) or (t is int and (isinstance(v, bool) or v < 0)):
            bad_progress(path, f"{k!r} is {type(v).__name__}, expected {known[k].type}")
    if not all(isinstance(n, int) for n in data.get("flagged", {}).values()):
        bad_progress(path, "'flagged' holds something other than counts")
    if data.get("moved") and set(data["moved"]) != {"records", "line", "fields"}:
        bad_progress(path, "'moved' is not {records, line, fields}")
    return Progress(**data)


def bad_progress(path: str, reason: str):
    raise ValueError(f"cannot resume: {path} is not a valid progress file ({reason}); "
                     f"score again without --resume (the run starts over and replaces it)")


def save_progress(p: Progress, path: str) -> None:
    """Atomically replace the progress file (write, fsync, rename)."""
    tmp = path + ".tmp"
    with writing(path):
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
    check_input(input)
    return 0 if input == "-" else os.path.getsize(input)


class InputHash:
    """blake2b of the input's bytes before `pos`, extended as the run reads on (JSONL), or of the
    whole file at once (CSV, Parquet: no byte offset of a record to stop at)."""

    def __init__(self, path: str):
        self.path, self.pos = path, 0
        self.whole = format_of(path) != "jsonl"
        self.h = hashlib.blake2b(digest_size=16)
        if self.whole:
            self.update_to(os.path.getsize(path))

    def update_to(self, end: int) -> str:
        """The hash of the bytes before `end` (or of the whole file)."""
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            while self.pos < end:
                chunk = f.read(min(1 << 20, end - self.pos))
                if not chunk:
                    break
                self.h.update(chunk)
                self.pos += len(chunk)
        return self.h.hexdigest()


def start_progress(input: str, out: str, batch_size: int, resume: bool, labels: list[str],
                   flagged: str | None = None, model: str = "") -> tuple[Progress, InputHash | None]:
    """Where this run starts: the recorded progress with --resume (checked against the model, the
    input and the options), else a fresh one; and the hash of the input read so far (None when
    there is no progress file: stdin or stdout)."""
    fresh = Progress(input=os.path.abspath(input) if input != "-" else "-", input_size=input_size(input),
                     batch_size=batch_size, flagged={r: 0 for r in labels}, flagged_out=flagged, model=model)
    hasher = InputHash(input) if input != "-" and out != "-" else None
    if hasher is not None:
        fresh.input_mtime_ns, fresh.input_hash = os.stat(input).st_mtime_ns, hasher.update_to(0)
    if not resume:
        return fresh, hasher
    if input == "-" or out == "-":
        raise ValueError("--resume needs an input file and an output file, not - (stdin/stdout)")
    old = load_progress(progress_path(out))
    if old is None or (old.done and not os.path.exists(out)):
        return fresh, hasher
    check_resume(old, fresh, input, flagged)
    if hasher.update_to(old.in_offset) != old.input_hash:
        what = "its content differs" if hasher.whole else f"the {old.in_offset:,} bytes it had read differ now"
        raise ValueError(f"cannot resume: {input} changed since the interrupted run ({what}); "
                         f"score again without --resume")
    old.input_mtime_ns = fresh.input_mtime_ns  # touched only: what was scored is byte-for-byte the same
    return old, hasher


def check_resume(old: Progress, fresh: Progress, input: str, flagged: str | None) -> None:
    """The interrupted run's model, input size and options are this run's."""
    if old.model != fresh.model:
        raise ValueError(f"cannot resume with model {fresh.model}: the interrupted run used "
                         f"{old.model or 'a model it did not record'}; give its --model again, or score "
                         f"again without --resume")
    if old.input_size != fresh.input_size:
        raise ValueError(f"cannot resume: {input} has {fresh.input_size} bytes, the interrupted run read "
                         f"{old.input_size}; score again without --resume")
    if old.batch_size != fresh.batch_size:
        raise ValueError(f"cannot resume with --batch-size {fresh.batch_size}: the interrupted run used "
                         f"{old.batch_size}, use it again")
    if old.flagged_out != flagged:
        raise ValueError(f"cannot resume with --flagged {flagged}: the interrupted run used "
                         f"{old.flagged_out or 'none'}, use it again")


class Sink:
    """The output side of a scoring run: output, errors and flagged spool, with progress. Every
    failed write is an `OutputError` naming the file."""

    def __init__(self, out: str, flagged: str | None, errors: str, progress: Progress,
                 checkpoint_s: float = 1.0, hasher: InputHash | None = None):
        self.out, self.flagged, self.errors = out, flagged, errors
        self.p, self.checkpoint_s, self.hasher = progress, checkpoint_s, hasher
        self.durable = out != "-"
        self.data_path = out + SPOOL_SUFFIX if out != "-" and format_of(out) == "parquet" else out
        self.flagged_spool = flagged + FLAGGED_SUFFIX if flagged else None
        resuming = progress.batches > 0
        self.writer = self.flag_writer = self.err_writer = None
        if resuming:
            self._cut_back()
        else:
            self._clear()
        with writing(self.data_path):
            self.writer = RecordWriter(self.data_path, fmt="jsonl" if self.data_path != out else None,
                                       append=resuming)
        if flagged:
            with writing(self.flagged_spool):
                self.flag_writer = RecordWriter(self.flagged_spool, fmt="jsonl", append=resuming)
        if resuming and progress.errors_offset:
            with writing(errors):
                self.err_writer = RecordWriter(errors, fmt="jsonl", append=True)
        self._last = time.monotonic()

    def _cut_back(self) -> None:
        """--resume: every file back to the size the progress file recorded."""
        for path, size in ((self.data_path, self.p.out_offset), (self.flagged_spool, self.p.flagged_offset)):
            if path:
                with writing(path):
                    truncate(path, size)
        if os.path.exists(self.errors):
            with writing(self.errors):
                truncate(self.errors, self.p.errors_offset)

    def _clear(self) -> None:
        """A fresh run: the previous run's progress and errors files go (a clean rerun leaves none)."""
        for path in (progress_path(self.out) if self.durable else None, self.errors):
            if path and os.path.lexists(path):
                with writing(path):
                    os.remove(path)

    def write(self, result, error_lines: list[str]) -> None:
        """One batch: its output lines, error lines and flagged lines, then (maybe) a checkpoint."""
        if error_lines:
            with writing(self.errors):
                self.err_writer = self.err_writer or RecordWriter(self.errors, fmt="jsonl")
                self.err_writer.write_lines(error_lines)
        with writing(self.data_path):
            self.writer.write_lines(result.lines)
        if self.flag_writer:
            with writing(self.flagged_spool):
                self.flag_writer.write_lines([keyed_line(pr, ln) for ln, f, pr
                                              in zip(result.lines, result.flags, result.priorities) if f])
        self._count(result)
        if self.durable and time.monotonic() - self._last >= self.checkpoint_s:
            self.checkpoint()

    def _count(self, result) -> None:
        p = self.p
        p.items += result.n
        p.line, p.in_offset = (result.line, result.end) if result.n else (p.line, p.in_offset)
        p.read += result.n
        p.scored += len(result.lines)
        p.bad += len(result.bad)
        for flags in result.flags:
            for r in flags:
                p.flagged[r] = p.flagged.get(r, 0) + 1
        for line, names in result.moved:
            m = p.moved = p.moved or {"records": 0, "line": line, "fields": {}}
            m["records"] += 1
            for k in names:
                m["fields"][k] = m["fields"].get(k, 0) + 1
        p.batches += 1

    def checkpoint(self) -> None:
        """fsync the data files, then record their sizes in the progress file."""
        for w in self._writers():
            with writing(w.path):
                w.fsync()
        self.p.out_offset = self.writer.offset
        self.p.flagged_offset = self.flag_writer.offset if self.flag_writer else 0
        self.p.errors_offset = self.err_writer.offset if self.err_writer else 0
        if self.hasher is not None:
            self.p.input_hash = self.hasher.update_to(self.p.in_offset)
        save_progress(self.p, progress_path(self.out))
        self._last = time.monotonic()

    def _writers(self) -> list[RecordWriter]:
        return [w for w in (self.writer, self.flag_writer, self.err_writer) if w is not None]

    @property
    def errors_out(self) -> str | None:
        return self.errors if self.err_writer is not None else None

    def close(self, quiet: bool = False) -> None:
        """Close every file; `quiet`: after another error, ignore failures to close."""
        for w in self._writers():
            try:
                with writing(w.path):
                    w.close()
            except OutputError:
                if not quiet:
                    raise

    def finish(self, sort_chunk: int = 2_000) -> None:
        """After the last batch: Parquet output from its spool, the flagged file sorted by
        priority (from its spool, records not held in memory), and the progress file marked done."""
        if self.durable:
            self.checkpoint()
        self.close()
        if self.data_path != self.out:
            with writing(self.out):
                jsonl_to(self.data_path, self.out)
        if self.flagged_spool:
            with writing(self.flagged):
                sort_spool(self.flagged_spool, self.flagged, chunk=sort_chunk)
        if self.durable:
            self.p.done = True
            save_progress(self.p, progress_path(self.out))
        for spool in (self.data_path if self.data_path != self.out else None, self.flagged_spool):
            if spool and Path(spool).exists():
                with writing(spool):
                    os.remove(spool)
