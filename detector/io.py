"""Read posts from JSONL / CSV / Parquet (or JSONL on stdin) one record at a time, turning
every bad record into a `BadRecord` with its line number and reason instead of an exception;
write results as JSONL / CSV / Parquet by extension."""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class Post:
    line: int
    record: dict
    text: str


@dataclass
class BadRecord:
    line: int
    reason: str
    id: str | None = None


def format_of(path: str) -> str:
    if path == "-":
        return "jsonl"
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise ValueError(f"{path}: unknown format {ext or '(no extension)'}; use .jsonl, .csv or .parquet")
    return FORMATS[ext]


def check_record(rec, line: int, text_field: str, id_field: str) -> Post | BadRecord:
    if not isinstance(rec, dict):
        return BadRecord(line, f"not a JSON object but {type(rec).__name__}")
    rid = rec.get(id_field)
    rid = None if rid is None else str(rid)
    if text_field not in rec:
        return BadRecord(line, f"missing text field {text_field!r}", rid)
    text = rec[text_field]
    if not isinstance(text, str):
        return BadRecord(line, f"field {text_field!r} is {type(text).__name__}, not text", rid)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return BadRecord(line, "invalid UTF-8 in text", rid)
    if not text.strip():
        return BadRecord(line, "empty text", rid)
    if rid is None:
        rec = {**rec, id_field: f"line-{line}"}
    return Post(line, rec, text)


def _jsonl_lines(stream) -> Iterator[tuple[int, bytes]]:
    for lineno, raw in enumerate(stream, 1):
        yield lineno, raw


def iter_jsonl(stream, text_field: str, id_field: str) -> Iterator[Post | BadRecord]:
    for lineno, raw in _jsonl_lines(stream):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            yield BadRecord(lineno, f"invalid UTF-8 at byte {e.start}")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            yield BadRecord(lineno, f"malformed JSON: {e.msg} at column {e.colno}")
            continue
        yield check_record(rec, lineno, text_field, id_field)


def iter_csv(path: str, text_field: str, id_field: str) -> Iterator[Post | BadRecord]:
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            return
        for rec in reader:
            line = reader.line_num
            if None in rec:
                yield BadRecord(line, f"{len(rec[None])} more fields than the header has")
                continue
            yield check_record(rec, line, text_field, id_field)


def iter_parquet(path: str, text_field: str, id_field: str, batch_size: int = 4096) -> Iterator[Post | BadRecord]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    if text_field not in pf.schema_arrow.names:
        raise ValueError(f"{path}: no column {text_field!r}; columns: {', '.join(pf.schema_arrow.names)}")
    row = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for rec in batch.to_pylist():
            row += 1
            yield check_record(rec, row, text_field, id_field)


def iter_posts(path: str, text_field: str = "text", id_field: str = "id") -> Iterator[Post | BadRecord]:
    """Every record of the input, in order: a `Post`, or a `BadRecord` saying why not."""
    fmt = format_of(path)
    if path == "-":
        yield from iter_jsonl(sys.stdin.buffer, text_field, id_field)
        return
    if not Path(path).is_file():
        raise FileNotFoundError(f"cannot read {path}: no such file")
    if fmt == "jsonl":
        with open(path, "rb") as f:
            yield from iter_jsonl(f, text_field, id_field)
    elif fmt == "csv":
        yield from iter_csv(path, text_field, id_field)
    else:
        yield from iter_parquet(path, text_field, id_field)


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


class RecordWriter:
    """Append result records to JSONL / CSV / Parquet. Each `write` call writes whole records
    and flushes, so a crash leaves only complete lines behind (JSONL, CSV)."""

    def __init__(self, path: str, fmt: str | None = None, append: bool = False):
        self.path, self.fmt = path, fmt or format_of(path)
        self._csv_fields: list[str] | None = None
        self._pq = None
        if path != "-":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "jsonl":
            self._f = sys.stdout if path == "-" else open(path, "a" if append else "w", encoding="utf-8")
        elif self.fmt == "csv":
            self._f = open(path, "a" if append else "w", encoding="utf-8", newline="")
        else:
            self._f = None

    def write(self, records: list[dict]) -> None:
        if not records:
            return
        if self.fmt == "jsonl":
            self._f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
            self._f.flush()
        elif self.fmt == "csv":
            self._write_csv([flat_row(r) for r in records])
        else:
            self._write_parquet([flat_row(r) for r in records])

    def _write_csv(self, rows: list[dict]) -> None:
        if self._csv_fields is None:
            self._csv_fields = list(dict.fromkeys(k for r in rows for k in r))
            if self._f.tell() == 0:
                csv.DictWriter(self._f, self._csv_fields).writeheader()
        buf = io.StringIO()
        csv.DictWriter(buf, self._csv_fields, extrasaction="ignore").writerows(rows)
        self._f.write(buf.getvalue())
        self._f.flush()

    def _write_parquet(self, rows: list[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq is None:
            self._schema = pa.Table.from_pylist(rows).schema
            self._pq = pq.ParquetWriter(self.path, self._schema)
        self._pq.write_table(pa.Table.from_pylist(rows, schema=self._schema))

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._f is not None and self._f is not sys.stdout:
            self._f.close()
