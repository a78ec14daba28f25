"""One input record checked and made safe to score and to write as strict JSON (RFC 8259).

A record comes out of `check_record` either as a `Post` whose record JSON can hold exactly
(non-finite numbers become null, dates ISO 8601, bytes base64, decimals strings), or as a
`BadRecord` naming its line and why: no text, text with nothing visible in it, a value that
cannot be written as UTF-8 JSON (a lone surrogate, invalid UTF-8 in a CSV field), nesting too
deep. So no value of a crawled record can stop a run after it has been read.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from detector.text.charmaps import DELETE_CHARS

# deepest nesting of a record's values: far below Python's recursion limit (1,000 frames), which
# json.dumps meets sooner the deeper in the stack it is called
MAX_DEPTH = 200


@dataclass
class Post:
    line: int
    record: dict
    text: str
    end: int = 0


@dataclass
class BadRecord:
    line: int
    reason: str
    id: str | None = None
    end: int = 0


def _duration(v: dt.timedelta) -> str:
    """ISO 8601 duration in seconds: `PT90.5S`, `-PT3S`."""
    s = v.total_seconds()
    return f"{'-' if s < 0 else ''}PT{abs(s)!r}S"


def _bytes(v) -> str:
    return base64.b64encode(bytes(v)).decode("ascii")


# JSON-safe form of each value type JSON has no place for (checked in this order: a datetime is a date)
CONVERTERS: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (dt.datetime, lambda v: v.isoformat()),
    (dt.date, lambda v: v.isoformat()),
    (dt.time, lambda v: v.isoformat()),
    (dt.timedelta, _duration),
    (decimal.Decimal, str),
    ((bytes, bytearray, memoryview), _bytes),
)


def json_safe(v: Any) -> Any:
    """`v` with every value JSON holds exactly: non-finite floats -> None, the types of
    CONVERTERS converted, tuples -> lists, dict keys -> text. TypeError for any other type."""
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k if isinstance(k, str) else str(json_safe(k)): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    for types, convert in CONVERTERS:
        if isinstance(v, types):
            return convert(v)
    raise TypeError(f"a value of type {type(v).__name__}")


def nesting(v) -> int:
    """Levels of lists and dicts in `v` (0 for a scalar), counted without recursion."""
    deepest, stack = 0, [(v, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list, tuple)):
            deepest = max(deepest, d + 1)
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def finite_float(s: str) -> float | None:
    """`parse_float` for json.loads: `1e999` is null, not Infinity."""
    f = float(s)
    return f if math.isfinite(f) else None


def encode_problem(rec: dict) -> str | None:
    """Why `rec` cannot be written as UTF-8 strict JSON, naming the field; None when it can."""
    try:
        json.dumps(rec, ensure_ascii=False, allow_nan=False).encode("utf-8")
        return None
    except (ValueError, TypeError, RecursionError):
        pass
    for k, v in rec.items():
        what = _value_problem(k, v)
        if what:
            return f"field {safe_text(str(k))!r} {what}"
    return "a value that cannot be written as JSON"


def _value_problem(k, v) -> str | None:
    try:
        json.dumps({k: v}, ensure_ascii=False, allow_nan=False).encode("utf-8")
        return None
    except UnicodeEncodeError:
        return "holds invalid UTF-8 (a lone surrogate or undecodable bytes)"
    except RecursionError:
        return "is nested too deeply"
    except (ValueError, TypeError) as e:
        return f"cannot be written as JSON: {safe_text(str(e))[:120]}"


def safe_text(s: str) -> str:
    """`s` with lone surrogates written as `\\udcff` escapes, so it encodes as UTF-8."""
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def utf8(s: str) -> bool:
    """False when `s` holds a lone surrogate (from a `\\ud800` escape or undecodable bytes)."""
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def is_blank(text: str) -> bool:
    """True when `text` has nothing visible: only whitespace, NUL and other control characters,
    zero-width and format characters (those cleaning deletes)."""
    return all(c.isspace() or c in DELETE_CHARS for c in text)


def record_id(rec: dict, id_field: str) -> str | None:
    rid = rec.get(id_field)
    return None if rid is None else safe_text(str(rid))


def field_hint(rec: dict, id_field: str) -> str:
    """The record's text-like fields, for a record without the text field: a CSV or JSONL whose
    text sits under another name (`content`, `comment`) shows it, and `score --text-field` takes it."""
    names = [str(k) for k, v in rec.items() if k != id_field and isinstance(v, str)][:6]
    return f"; fields holding text: {', '.join(names)}" if names else ""


def check_record(rec, line: int, text_field: str, id_field: str, encodable: bool = False) -> Post | BadRecord:
    """A Post, or a BadRecord saying why not. `encodable`: the caller knows `rec` is plain
    JSON (from json.loads, non-finite numbers already null) and writes as UTF-8."""
    if not isinstance(rec, dict):
        return BadRecord(line, f"not a JSON object but {type(rec).__name__}")
    if isinstance(rec.get(text_field), (bytes, bytearray)):  # a Parquet string column stored as binary
        try:
            rec = {**rec, text_field: rec[text_field].decode("utf-8")}
        except UnicodeDecodeError:
            return BadRecord(line, "invalid UTF-8 in text", record_id(rec, id_field))
    if not encodable:
        try:
            rec = json_safe(rec)
        except TypeError as e:
            return BadRecord(line, f"{e} cannot be written as JSON", record_id(rec, id_field))
        except RecursionError:
            return BadRecord(line, f"nested too deeply (over {MAX_DEPTH} levels)", record_id(rec, id_field))
    rid = record_id(rec, id_field)
    if text_field not in rec:
        return BadRecord(line, f"missing text field {text_field!r}{field_hint(rec, id_field)}", rid)
    text = rec[text_field]
    if not isinstance(text, str):
        return BadRecord(line, f"field {text_field!r} is {type(text).__name__}, not text", rid)
    if not encodable and not utf8(text):
        return BadRecord(line, "invalid UTF-8 in text", rid)
    if not text.strip():
        return BadRecord(line, "empty text", rid)
    if is_blank(text):
        return BadRecord(line, "empty text: only zero-width, control or format characters", rid)
    problem = None if encodable else encode_problem(rec)
    if problem:
        return BadRecord(line, problem, rid)
    if rid is None:
        rec = {**rec, id_field: f"line-{line}"}
    return Post(line, rec, text)
