"""Write result records as JSONL / CSV / Parquet by extension: strict JSON lines (RFC 8259),
one write() per batch (crash-safe), Parquet from a spool at the end with one schema for every
record, however their fields vary."""
from __future__ import annotations

import csv
import io
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator

from detector.batch.records import json_safe

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def format_of(path: str) -> str:
    if path == "-":
        return "jsonl"
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise ValueError(f"{path}: unknown format {ext or '(no extension)'}; use .jsonl, .csv or .parquet")
    return FORMATS[ext]


def flat_row(rec: dict) -> dict:
    """A result record as flat columns (CSV / Parquet): nested values become JSON text."""
    out = {}
    for k, v in rec.items():
        if k == "scores" and isinstance(v, dict):
            out.update({f"score_{r}": p for r, p in v.items()})
        elif k == "flags" and isinstance(v, list):
            out["flags"] = ",".join(v)
        elif isinstance(v, (dict, list)):
            out[k] = json.dumps(v, ensure_ascii=False)
        else:
            out[k] = v
    return out


def json_line(rec: dict) -> str:
    """`rec` as one line of strict JSON (RFC 8259): a non-finite number is written as null."""
    try:
        return json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        return json.dumps(json_safe(rec), ensure_ascii=False, allow_nan=False) + "\n"


def write_all(fd: int, data: bytes) -> None:
    """One write() of `data` (looping only if the kernel takes less, e.g. a full pipe)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class RecordWriter:
    """Append result records to JSONL / CSV / Parquet. For JSONL and CSV each `write` is ONE
    write() of complete lines, unbuffered, so a crash leaves only complete lines behind (except
    possibly a last partial line, which `--resume` cuts off); `offset` is the byte size written.
    With `append`, a CSV file keeps its header. Parquet is written at `close` (footer)."""

    def __init__(self, path: str, fmt: str | None = None, append: bool = False, schema=None):
        self.path, self.fmt = path, fmt or format_of(path)
        self._schema = schema  # Parquet: the Arrow schema (default: `parquet_schema` of the first batch)
        self._csv_fields: list[str] | None = None
        self._left_out: set[str] = set()
        self._pq = None
        self._f = None
        if path != "-":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if self.fmt in ("jsonl", "csv"):
            if path == "-":
                self._f = sys.stdout.buffer
            else:
                self._f = open(path, "ab" if append else "wb", buffering=0)
                self._f.seek(0, os.SEEK_END)
            if self.fmt == "csv" and append and self.offset > 0:
                with open(path, encoding="utf-8", newline="") as f:
                    self._csv_fields = next(csv.reader(f))

    @property
    def offset(self) -> int:
        return self._f.tell() if self._f is not None and self._f is not sys.stdout.buffer else 0

    def write(self, records: list[dict]) -> None:
        if not records:
            return
        if self.fmt == "jsonl":
            self.write_lines([json_line(r) for r in records])
        elif self.fmt == "csv":
            self._write_csv([flat_row(r) for r in records])
        else:
            self._write_parquet([flat_row(r) for r in records])

    def write_lines(self, lines: list[str]) -> None:
        """Write already-encoded JSON lines (JSONL), or the records they hold (CSV, Parquet)."""
        if not lines:
            return
        if self.fmt != "jsonl":
            self.write([json.loads(x) for x in lines])
        else:
            self._emit("".join(lines).encode("utf-8"))

    def _emit(self, data: bytes) -> None:
        """One write of complete lines: to stdout (flushed) or unbuffered to the file."""
        if self._f is sys.stdout.buffer:
            self._f.write(data)
            self._f.flush()
        else:
            write_all(self._f.fileno(), data)

    def _write_csv(self, rows: list[dict]) -> None:
        buf = io.StringIO()
        if self._csv_fields is None:
            self._csv_fields = list(dict.fromkeys(k for r in rows for k in r))
            csv.DictWriter(buf, self._csv_fields).writeheader()
        self._warn_left_out(rows)
        csv.DictWriter(buf, self._csv_fields, extrasaction="ignore").writerows(rows)
        self._emit(buf.getvalue().encode("utf-8", errors="surrogateescape"))

    def _warn_left_out(self, rows: list[dict]) -> None:
        """CSV: say once (stderr) which fields come after the header was written; they are left out."""
        known = set(self._csv_fields) | self._left_out
        new = list(dict.fromkeys(k for r in rows for k in r if k not in known))
        if new:
            self._left_out.update(new)
            print(f"{self.path}: field{'s' if len(new) > 1 else ''} {', '.join(map(repr, new))} first seen after "
                  "the CSV header was written: left out; write .jsonl or .parquet to keep every field",
                  file=sys.stderr)

    def _write_parquet(self, rows: list[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq is None:
            self._schema = self._schema or parquet_schema(rows)
            self._pq = pq.ParquetWriter(self.path, self._schema)
        text = {f.name for f in self._schema if pa.types.is_string(f.type)}
        rows = [{k: json.dumps(v) if k in text and v is not None and not isinstance(v, str) else v
                 for k, v in r.items()} for r in rows]
        self._pq.write_table(pa.Table.from_pylist(rows, schema=self._schema))

    def fsync(self) -> None:
        if self._f is not None and self._f is not sys.stdout.buffer:
            os.fsync(self._f.fileno())

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._f is not None and self._f is not sys.stdout.buffer:
            self._f.close()


def read_jsonl_chunks(path: str, n: int) -> Iterator[list[dict]]:
    """A JSONL file as lists of at most `n` records."""
    with open(path, encoding="utf-8") as f:
        while True:
            chunk = [json.loads(x) for x in itertools.islice(f, n)]
            if not chunk:
                return
            yield chunk


def column_kind(v) -> str:
    if v is None or isinstance(v, (bool, float, str)):
        return type(v).__name__
    if isinstance(v, int):
        return "int" if -2**63 <= v < 2**63 else "str"
    return "str"


# a column's Arrow type by the kinds of its values (nulls aside); any other mix is text
_ARROW_TYPES = {frozenset({"bool"}): "bool_", frozenset({"int"}): "int64", frozenset({"float"}): "float64",
                frozenset({"int", "float"}): "float64"}


def parquet_schema(rows: Iterable[dict]):
    """One Arrow schema for flat rows whose fields vary: every column of any row, in order of
    first appearance, typed bool, int64 or float64 when all its values are, else string (the
    writer turns other values of a string column into JSON text)."""
    import pyarrow as pa

    kinds: dict[str, set[str]] = {}
    for r in rows:
        for k, v in r.items():
            kinds.setdefault(k, set()).add(column_kind(v))
    return pa.schema([(k, getattr(pa, _ARROW_TYPES.get(frozenset(s - {"NoneType"}), "string"))())
                      for k, s in kinds.items()])


def writer_for(dest: str, records: Iterable[dict]) -> RecordWriter:
    """A RecordWriter for `dest`; Parquet gets a schema holding every field of `records`."""
    if format_of(dest) != "parquet":
        return RecordWriter(dest)
    return RecordWriter(dest, schema=parquet_schema(flat_row(r) for r in records))


def jsonl_to(src: str, dest: str, chunk: int = 20_000) -> None:
    """Copy a JSONL file of records to `dest` (format by extension), `chunk` records at a time."""
    writer = writer_for(dest, (r for recs in read_jsonl_chunks(src, chunk) for r in recs))
    try:
        for recs in read_jsonl_chunks(src, chunk):
            writer.write(recs)
    finally:
        writer.close()


def keyed_line(key: float, line: str) -> str:
    """A line of a sort spool: the sort key, a tab, the JSON line."""
    return f"{key!r}\t{line}"


def sort_spool(src: str, dest: str, descending: bool = True, chunk: int = 2_000) -> None:
    """Write the JSON lines of a spool of `keyed_line`s to `dest` (format by extension), sorted
    by key (stable). Memory: 24 bytes per line (key, offset, length), not the records: the lines
    are read back from the spool in sorted order."""
    from array import array

    import numpy as np

    keys, offs, lens = array("d"), array("q"), array("q")
    pos = 0
    with open(src, "rb") as f:
        for raw in f:
            tab = raw.index(b"\t")
            keys.append(float(raw[:tab]))
            offs.append(pos + tab + 1)
            lens.append(len(raw) - tab - 1)
            pos += len(raw)
    k = np.frombuffer(keys, np.float64) if len(keys) else np.zeros(0)
    order = np.argsort(-k if descending else k, kind="stable")
    writer = writer_for(dest, spool_records(src))
    try:
        with open(src, "rb") as f:
            for start in range(0, len(order), chunk):
                lines = []
                for i in order[start:start + chunk]:
                    f.seek(offs[i])
                    lines.append(f.read(lens[i]).decode("utf-8"))
                writer.write_lines(lines)
    finally:
        writer.close()


def spool_records(src: str) -> Iterator[dict]:
    """The records of a spool of `keyed_line`s, in spool order."""
    with open(src, "rb") as f:
        for raw in f:
            yield json.loads(raw[raw.index(b"\t") + 1:])
