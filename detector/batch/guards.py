"""Guards around `jingwang score`'s files: checked before anything is written.

- The input must be a file (or - for stdin), and every file the run writes (`--out`,
  `--flagged`, the errors file, the progress file and the spools beside them) must be a
  different file from the input and from each other: compared by resolved path and, for files
  that exist, by device and inode (hard links, symlinks, `a/../x`), so no option can overwrite
  the input or two outputs interleave in one file.
- Every output must be writable where it is: not a folder, not under a regular file.
- A write that fails later (full disk, I/O error) becomes an `OutputError`: one sentence
  naming the file, no traceback.
- `DuplicateIds` counts records that reuse an earlier record's id (16 bytes a post).
- A scored record that cannot be written as JSON is a bad record, not a dead run
  (`encode_records`); stderr tells the first MAX_TOLD problems of a run, the errors file all.
"""
from __future__ import annotations

import hashlib
import os
import sys
from array import array
from contextlib import contextmanager
from pathlib import Path

from detector.batch.records import BadRecord
from detector.batch.writers import json_line


class OutputError(ValueError):
    """A file of the run cannot be written (one sentence naming it)."""


def check_input(input: str) -> None:
    if input == "-":
        return
    if os.path.isdir(input):
        raise IsADirectoryError(f"cannot read {input}: it is a folder; give a .jsonl, .csv or .parquet file")
    if not os.path.isfile(input):
        raise FileNotFoundError(f"cannot read {input}: no such file")


def same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_outputs(input: str, outputs: dict[str, str]) -> None:
    """`outputs`: {what (e.g. "--flagged"): path}. Refuse any that is the input, the same file as
    another one, or not writable; nothing has been written yet."""
    named = [(what, path) for what, path in outputs.items() if path and path != "-"]
    for i, (what, path) in enumerate(named):
        if input != "-" and same_file(path, input):
            option = "--flagged" if "flagged" in what else "--out"
            raise ValueError(f"{what} {path} is the input file {input}: it would be overwritten; "
                             f"choose another {option}")
        for other, opath in named[:i]:
            if same_file(path, opath):
                raise ValueError(f"{what} {path} is the same file as {other} {opath}: "
                                 f"give each output its own file")
        check_writable(what, path)


def check_writable(what: str, path: str) -> None:
    """`path` can be created or replaced: not a folder, its nearest existing parent a writable folder."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"cannot write {what} {path}: it is a folder")
    parent = p.absolute().parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {what} {path}: {parent} is not a folder")
    target = p if p.exists() else parent
    if not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {what} {path}: permission denied on {target}")


@contextmanager
def writing(path: str):
    """Turn an OSError while writing `path` into one sentence naming it."""
    try:
        yield
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None


def id_key(rid) -> int:
    """A stable 64-bit key of an id (the same in every worker process)."""
    digest = hashlib.blake2b(str(rid).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


class DuplicateIds:
    """Ids seen in this run, as 64-bit keys with their line; duplicates are found at the end."""

    def __init__(self):
        self.keys, self.lines = array("q"), array("q")

    def add(self, ids: list[tuple[int, int]]) -> None:
        for key, line in ids:
            self.keys.append(key)
            self.lines.append(line)

    def report(self) -> str | None:
        """None, or one sentence: how many records reuse an earlier id, and the first example."""
        import numpy as np

        keys = np.frombuffer(self.keys, np.int64) if len(self.keys) else np.zeros(0, np.int64)
        lines = np.frombuffer(self.lines, np.int64) if len(self.lines) else np.zeros(0, np.int64)
        order = np.argsort(keys, kind="stable")  # equal keys stay in input order
        k, ln = keys[order], lines[order]
        repeat = np.flatnonzero(k[1:] == k[:-1]) + 1
        if not len(repeat):
            return None
        i = repeat[np.argmin(ln[repeat])]
        first = ln[np.searchsorted(k, k[i])]
        n = len(repeat)
        return (f"{n} record{' reuses' if n == 1 else 's reuse'} the id of an earlier record (e.g. line {ln[i]} "
                f"repeats the id of line {first}); each is scored, but ids no longer name one post")


def encode_records(posts: list, records: list[dict], id_field: str) -> tuple[list, list[BadRecord]]:
    """Each record as a JSON line, or None and a bad record when it cannot be written (the input
    checks make this rare; one odd value must not end the run)."""
    lines, bad = [], []
    for p, r in zip(posts, records):
        try:
            line = json_line(r)
            line.encode("utf-8")
        except (TypeError, ValueError, RecursionError) as e:  # UnicodeEncodeError is a ValueError
            line = None
            bad.append(BadRecord(p.line, f"the scored record cannot be written as JSON ({type(e).__name__})",
                                 None if p.record.get(id_field) is None else str(p.record.get(id_field))))
        lines.append(line)
    return lines, bad


MAX_TOLD = 20  # bad records and warnings told on stderr per run (a file of a million bad lines floods no terminal)


def error_lines(res, source: str, told: list[int] | None = None) -> list[str]:
    """JSON lines for `<out>.errors.jsonl` of one batch's result (`detector.batch.process.BatchResult`:
    its bad records and warnings, by line); the run's first MAX_TOLD are also told on stderr
    (`told` counts them across batches)."""
    told = [0] if told is None else told
    rows = sorted([(b.line, b.id, b.reason) for b in res.bad] + res.warnings, key=lambda t: t[0])
    for line, _, reason in rows:
        if told[0] < MAX_TOLD:
            print(f"{source}, line {line}: {reason}", file=sys.stderr)
        told[0] += 1
    return [json_line({"line": ln, "id": rid, "reason": reason}) for ln, rid, reason in rows]
