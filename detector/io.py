"""Read posts from JSONL / CSV / Parquet (or JSONL on stdin) one record at a time, turning
every bad record into a `BadRecord` with its line number and reason instead of an exception;
write results as JSONL / CSV / Parquet by extension.

Readers stream (memory does not grow with the input) and can start part-way, for `--resume`
and for shards: JSONL at a byte offset (`offset`, numbering lines after `line`), CSV and Parquet
after `skip` records; `limit` stops after that many records. Every item carries `end`, the input
byte offset just after it (JSONL; 0 otherwise)."""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
import re
import sys
from pathlib import Path
from typing import Iterator

from detector.records import BadRecord, Post, check_record, finite_float, json_safe, safe_text

__all__ = ["Post", "BadRecord", "check_record", "format_of", "iter_posts", "json_line", "RecordWriter",
           "jsonl_lines", "jsonl_to", "sort_spool", "keyed_line"]

BOM = codecs.BOM_UTF8
MAX_CSV_FIELD = 2**26  # characters; Python's csv stops at 131,072 by default
# a \uD800-\uDFFF escape: json.loads may make a lone surrogate of it, which UTF-8 cannot hold
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def format_of(path: str) -> str:
    if path == "-":
        return "jsonl"
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise ValueError(f"{path}: unknown format {ext or '(no extension)'}; use .jsonl, .csv or .parquet")
    return FORMATS[ext]


def parse_jsonl_line(raw: bytes, lineno: int, text_field: str, id_field: str) -> Post | BadRecord:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return BadRecord(lineno, f"invalid UTF-8 at byte {e.start}")
    try:
        rec = json.loads(line, parse_constant=lambda _: None, parse_float=finite_float)
    except json.JSONDecodeError as e:
        return BadRecord(lineno, f"malformed JSON: {e.msg} at column {e.colno}")
    except RecursionError:
        return BadRecord(lineno, "malformed JSON: nested too deeply")
    except ValueError as e:  # an integer over 4,300 digits (sys.get_int_max_str_digits)
        return BadRecord(lineno, f"unreadable number: {e}".split(";")[0])
    return check_record(rec, lineno, text_field, id_field, encodable=not _SURROGATE_ESCAPE.search(raw))


def jsonl_lines(stream, offset: int = 0, line: int = 0) -> Iterator[tuple[int, bytes, int]]:
    """(line number, raw bytes, byte offset after the line) of each non-blank line of a binary
    stream positioned at byte `offset`, whose previous line is number `line`. A UTF-8 byte order
    mark at the start of the stream is not part of the first line."""
    pos = offset
    for lineno, raw in enumerate(stream, line + 1):
        start, pos = pos, pos + len(raw)
        if start == 0 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if raw.strip():
            yield lineno, raw, pos


def iter_jsonl(stream, text_field: str, id_field: str, offset: int = 0, line: int = 0) -> Iterator[Post | BadRecord]:
    """Records of a binary stream positioned at byte `offset`, whose previous line is number `line`."""
    for lineno, raw, end in jsonl_lines(stream, offset, line):
        item = parse_jsonl_line(raw, lineno, text_field, id_field)
        item.end = end
        yield item


def iter_csv(path: str, text_field: str, id_field: str) -> Iterator[Post | BadRecord]:
    """Rows of a CSV file (line = the line the row ends on); a byte order mark is skipped,
    fields may hold up to MAX_CSV_FIELD characters, a row the csv module refuses is a BadRecord."""
    csv.field_size_limit(MAX_CSV_FIELD)
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        reader = csv.DictReader(f)
        try:
            if reader.fieldnames is None:
                return
        except csv.Error as e:
            raise ValueError(f"{path}: cannot read the CSV header: {e}") from None
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                yield BadRecord(reader.reader.line_num, f"unreadable CSV row: {e}")
                continue
            yield csv_record(rec, reader.line_num, text_field, id_field)


def csv_record(rec: dict, line: int, text_field: str, id_field: str) -> Post | BadRecord:
    if None in rec:
        return BadRecord(line, f"{len(rec[None])} more fields than the header has")
    return check_record(rec, line, text_field, id_field)


def iter_parquet(path: str, text_field: str, id_field: str, batch_size: int = 4096,
                 skip: int = 0) -> Iterator[Post | BadRecord]:
    """Rows of a Parquet file (row number = line), starting after `skip` rows: whole row groups
    before it are not read."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    if text_field not in pf.schema_arrow.names:
        raise ValueError(f"{path}: no column {text_field!r}; columns: {', '.join(pf.schema_arrow.names)}")
    plain = all(plain_arrow(t) for t in pf.schema_arrow.types)
    row, groups = 0, []
    for g in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        if not groups and row + n <= skip:
            row += n
        else:
            groups.append(g)
    if not groups:
        return
    for batch in pf.iter_batches(batch_size=batch_size, row_groups=groups):
        if row + batch.num_rows <= skip:
            row += batch.num_rows
            continue
        if row < skip:
            batch, row = batch.slice(skip - row), skip
        for rec in batch_records(batch, row):
            row += 1
            yield rec if isinstance(rec, BadRecord) else check_record(rec, row, text_field, id_field, plain)


def plain_arrow(t) -> bool:
    """True for Arrow types whose Python values JSON holds exactly (no conversion needed)."""
    import pyarrow.types as pt

    return pt.is_string(t) or pt.is_large_string(t) or pt.is_integer(t) or pt.is_boolean(t) or pt.is_null(t)


def batch_records(batch, row: int) -> list[dict | BadRecord]:
    """The rows of a record batch as dicts; a row Arrow cannot turn into Python values (e.g.
    invalid UTF-8 in a string column) is a BadRecord, the others are kept."""
    try:
        return batch.to_pylist()
    except (ValueError, TypeError, OverflowError):
        pass
    out = []
    for i in range(batch.num_rows):
        try:
            out.append(batch.slice(i, 1).to_pylist()[0])
        except (ValueError, TypeError, OverflowError) as e:
            out.append(BadRecord(row + i + 1, f"unreadable row: {type(e).__name__}: {safe_text(str(e))[:120]}"))
    return out


def iter_posts(path: str, text_field: str = "text", id_field: str = "id", skip: int = 0, offset: int = 0,
               line: int = 0, limit: int | None = None) -> Iterator[Post | BadRecord]:
    """Every record of the input, in order: a `Post`, or a `BadRecord` saying why not.
    JSONL starts at byte `offset` (after line `line`); CSV / Parquet after `skip` records;
    at most `limit` records."""
    items = _iter_posts(path, text_field, id_field, skip, offset, line)
    return items if limit is None else itertools.islice(items, limit)


def _iter_posts(path, text_field, id_field, skip, offset, line) -> Iterator[Post | BadRecord]:
    fmt = format_of(path)
    if path == "-":
        if offset or skip:
            raise ValueError("cannot start part-way into stdin")
        yield from iter_jsonl(sys.stdin.buffer, text_field, id_field)
        return
    if not Path(path).is_file():
        raise FileNotFoundError(f"cannot read {path}: no such file")
    if fmt == "jsonl":
        with open(path, "rb") as f:
            f.seek(offset)
            yield from itertools.islice(iter_jsonl(f, text_field, id_field, offset, line), skip, None)
    elif fmt == "csv":
        yield from itertools.islice(iter_csv(path, text_field, id_field), skip, None)
    else:
        yield from iter_parquet(path, text_field, id_field, skip=skip)


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

    def __init__(self, path: str, fmt: str | None = None, append: bool = False):
        self.path, self.fmt = path, fmt or format_of(path)
        self._csv_fields: list[str] | None = None
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
        csv.DictWriter(buf, self._csv_fields, extrasaction="ignore").writerows(rows)
        self._emit(buf.getvalue().encode("utf-8", errors="surrogateescape"))

    def _write_parquet(self, rows: list[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq is None:
            self._schema = pa.Table.from_pylist(rows).schema
            self._pq = pq.ParquetWriter(self.path, self._schema)
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


def jsonl_to(src: str, dest: str, chunk: int = 20_000) -> None:
    """Copy a JSONL file of records to `dest` (format by extension), `chunk` records at a time."""
    writer = RecordWriter(dest)
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
    writer = RecordWriter(dest)
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
