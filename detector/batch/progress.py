"""The progress bar of `jingwang score`, as a person reads it: for a file, how much of the input
is done (percent), of how much, the time so far and the time left, and the posts scored with
their rate. The input position is what the readers give without a second pass over the data:
JSONL by bytes read (`end` of each record), CSV by lines (a fast newline count sets the total),
Parquet by rows (from its footer). JSONL on stdin has no known size: the bar counts records.

    43%|██████▍        | 17.2MB/40.0MB [00:05<00:06] 8,512 posts, 1,702 posts/s
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from detector.batch.io import format_of

CHUNK = 1 << 20


@dataclass
class Meter:
    """How a run's position in its input is counted."""
    total: int | None              # bytes, lines or rows of the input; None when unknown (stdin)
    done: int                      # already done when the run starts (--resume)
    position: Callable             # BatchResult -> position after it (None: count records)
    unit: str                      # shown after the counts


def newline_count(path: str) -> int:
    """Lines of a file (a last line without a newline counts too), read in 1 MB chunks."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def parquet_rows(path: str) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def meter_for(input: str, state) -> Meter:
    """The meter of `input`; `state` (resume.Progress) says where an interrupted run stopped."""
    if input == "-":
        return Meter(None, state.items, None, "records")
    fmt = format_of(input)
    if fmt == "jsonl":
        return Meter(Path(input).stat().st_size, state.in_offset, lambda r: r.end, "B")
    if fmt == "csv":
        return Meter(newline_count(input), state.line, lambda r: r.line, "lines")
    return Meter(parquet_rows(input), state.line, lambda r: r.line, "rows")


def bar_format(meter: Meter) -> str:
    if meter.total is None:
        return "{n_fmt} " + meter.unit + " [{elapsed}]{postfix}"
    counts = "{n_fmt}B/{total_fmt}B" if meter.unit == "B" else "{n_fmt}/{total_fmt} " + meter.unit
    return "{percentage:3.0f}%|{bar}| " + counts + " [{elapsed}<{remaining}]{postfix}"


def scaled(meter: Meter) -> bool:
    """Counts shown as 17.2M (bytes; lines or rows from 100,000) rather than exactly."""
    return meter.unit == "B" or (meter.total or 0) >= 100_000


class ProgressBar:
    """tqdm over the input position, with the posts scored and their rate after it."""

    def __init__(self, meter: Meter, enabled: bool, file=None):
        self.meter, self.posts, self.t0, self.pos = meter, 0, time.monotonic(), meter.done
        self.bar = tqdm(total=meter.total, initial=meter.done, disable=not enabled, file=file or sys.stderr,
                        dynamic_ncols=True, bar_format=bar_format(meter), unit_scale=scaled(meter))

    def update(self, result, posts: int) -> None:
        """After one batch: `result` (a BatchResult) and the posts it scored."""
        self.posts += posts
        pos = self.pos + result.n if self.meter.position is None else self.meter.position(result)
        if self.bar.disable:
            return
        rate = self.posts / max(time.monotonic() - self.t0, 1e-9)
        self.bar.set_postfix_str(f"{self.posts:,} posts, {rate:,.0f} posts/s", refresh=False)
        self.bar.update(pos - self.pos)
        self.pos = pos

    def close(self) -> None:
        self.bar.close()


def progress_bar(input: str, state, enabled: bool) -> ProgressBar:
    """The bar of a run (disabled: no meter is computed, nothing is shown)."""
    meter = meter_for(input, state) if enabled else Meter(None, 0, None, "records")
    return ProgressBar(meter, enabled)
