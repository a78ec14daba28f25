"""Read posts from JSONL / CSV / Parquet (or JSONL on stdin) one record at a time, turning
every bad record into a `BadRecord` with its line number and reason instead of an exception
(`detector.batch.records` checks each record).

Readers stream (memory does not grow with the input) and can start part-way, for `--resume`
and for shards: JSONL at a byte offset (`offset`, numbering lines after `line`), CSV and Parquet
after `skip` records; `limit` stops after that many records. Every item carries `end`, the input
byte offset just after it (JSONL; 0 otherwise). Writers are `detector.batch.writers` (importable
from here too)."""
from __future__ import annotations

import codecs
import csv
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Iterator

from detector.batch.records import MAX_DEPTH, BadRecord, Post, check_record, finite_float, nesting, safe_text
from detector.batch.writers import (FORMATS, RecordWriter, flat_row, format_of, json_line, jsonl_to, keyed_line,
                              sort_spool, write_all)

__all__ = ["Post", "BadRecord", "check_record", "format_of", "iter_posts", "jsonl_lines", "FORMATS",
           # writers, kept importable from here
           "RecordWriter", "flat_row", "json_line", "jsonl_to", "keyed_line", "sort_spool", "write_all"]

BOM = codecs.BOM_UTF8
MAX_CSV_FIELD = 2**26  # characters; Python's csv stops at 131,072 by default
# a \uD800-\uDFFF escape: json.loads may make a lone surrogate of it, which UTF-8 cannot hold
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# NaN, Infinity and numbers too large for a float (1e999) are read as null
_DECODER = json.JSONDecoder(parse_constant=lambda _: None, parse_float=finite_float)


def parse_jsonl_line(raw: bytes, lineno: int, text_field: str, id_field: str) -> Post | BadRecord:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return BadRecord(lineno, f"invalid UTF-8 at byte {e.start}")
    try:
        rec = _DECODER.decode(line)
    except json.JSONDecodeError as e:
        return BadRecord(lineno, f"malformed JSON: {e.msg} at column {e.colno}")
    except RecursionError:
        return BadRecord(lineno, f"nested too deeply (over {MAX_DEPTH} levels)")
    except ValueError as e:  # an integer over 4,300 digits (sys.get_int_max_str_digits)
        return BadRecord(lineno, f"unreadable number: {e}".split(";")[0])
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and nesting(rec) > MAX_DEPTH:
        return BadRecord(lineno, f"nested too deeply (over {MAX_DEPTH} levels)")
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
    if path != "-" and Path(path).is_dir():
        raise IsADirectoryError(f"cannot read {path}: it is a folder; give a .jsonl, .csv or .parquet file")
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
