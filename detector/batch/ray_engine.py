"""`jingwang score --engine ray [--ray-address ADDR] [--workers N]`: score on a Ray cluster.

Ray Data pipeline: the driver cuts the input into shards of whole batches (JSONL: byte
offsets found by one pass over the lines; Parquet: row ranges; CSV: one shard), `flat_map`
tasks read the shards with the same reader as the local engine and yield one row per batch,
and `map_batches` runs `detector.batch.process.process_batch` in an actor pool of N actors,
each holding the scorer. Execution keeps the input order, and the driver writes the results
with the same `Sink` (progress file, `--resume`, flagged file), so the output is byte-for-byte
the output of the local engine with the same `--batch-size`.

On a cluster, every node needs the project installed (the same image / virtual environment)
and the input and model folders at the same path (a shared filesystem); the output is written
by the driver. Without `--ray-address` a local Ray instance is started.
"""
from __future__ import annotations

import logging
import os
import pickle
from typing import Iterator

import numpy as np

from detector.batch.io import format_of, iter_posts, jsonl_lines
from detector.batch.process import batched, process_batch
from detector.scorers.compute import limit_threads

BATCHES_PER_SHARD = 8


def jsonl_shards(path: str, offset: int, line: int, size: int) -> list[dict]:
    """Shards of `size` records of a JSONL file from byte `offset` (after line `line`):
    [{"offset", "line", "limit"}], boundaries where the local reader's batches would cut."""
    shards, count = [{"offset": offset, "line": line, "limit": size}], 0
    with open(path, "rb") as f:
        f.seek(offset)
        for lineno, _, end in jsonl_lines(f, offset, line):
            count += 1
            if count % size == 0:
                shards.append({"offset": end, "line": lineno, "limit": size})
    return shards if count % size else shards[:-1] or shards


def plan_shards(input: str, start: dict, batch_size: int, per_shard: int = BATCHES_PER_SHARD) -> list[dict]:
    """Read instructions for the shards of the input (kwargs of `iter_posts`), in order."""
    size = batch_size * per_shard
    fmt = format_of(input)
    if fmt == "jsonl":
        return jsonl_shards(input, start.get("offset", 0), start.get("line", 0), size)
    skip = start.get("skip", 0)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(input).metadata.num_rows
        return [{"skip": s, "limit": size} for s in range(skip, max(rows, skip + 1), size)]
    return [{"skip": skip, "limit": None}]


def read_shard(row: dict) -> Iterator[dict]:
    """flat_map: one output row per batch of the shard: {"seq": (shard, k), "items": pickled batch}."""
    items = iter_posts(row["input"], row["text_field"], row["id_field"], **pickle.loads(row["read"]))
    for k, batch in enumerate(batched(items, row["batch_size"])):
        yield {"shard": row["shard"], "k": k, "items": pickle.dumps(batch)}


class ScoreActor:
    """Holds the scorer (computing on `threads` threads unless the user chose a count); scores
    whole batches with `process_batch`."""

    def __init__(self, spec, ctx, threads: int = 1):
        limit_threads(threads)
        self.det, self.ctx = spec.load(), ctx

    def __call__(self, batch: dict) -> dict:
        results = [pickle.dumps(process_batch(self.det, pickle.loads(b), self.ctx)) for b in batch["items"]]
        return {"shard": batch["shard"], "k": batch["k"], "result": np.array(results, dtype=object)}


def connect(address: str | None, workers: int) -> None:
    import ray

    if ray.is_initialized():
        return
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address:
        ray.init(address=address, **quiet)
    else:  # local instance: one CPU per actor, plus room for the reading tasks
        ray.init(num_cpus=workers + 1, **quiet)


def ray_results(spec, ctx, input: str, text_field: str, id_field: str, start: dict, batch_size: int,
                workers: int, address: str | None = None) -> Iterator:
    """BatchResults of the whole input from a Ray Data actor pool, in input order."""
    try:
        import ray
    except ImportError:
        raise ValueError("--engine ray needs Ray: pip install 'jingwang[ray]'") from None
    connect(address, workers)
    data_ctx = ray.data.DataContext.get_current()
    data_ctx.execution_options.preserve_order = True
    data_ctx.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-dataset INFO lines on stderr
    shards = [{"shard": i, "input": os.path.abspath(input), "text_field": text_field, "id_field": id_field,
               "batch_size": batch_size, "read": pickle.dumps(s)} for i, s in enumerate(plan_shards(input, start, batch_size))]
    gpu = 1 if (spec.device or "").startswith("cuda") else 0
    ds = (ray.data.from_items(shards, override_num_blocks=len(shards))
          .flat_map(read_shard, num_cpus=0.5)
          .map_batches(ScoreActor, batch_size=1, batch_format="numpy", fn_constructor_args=(spec, ctx),
                       compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1, num_gpus=gpu))
    yield from in_order(ds.iter_rows(), None if format_of(input) == "csv" else BATCHES_PER_SHARD)


def in_order(rows, per_shard: int | None) -> Iterator:
    """Unpickled results in (shard, k) order whatever order rows arrive in (they should arrive in
    order; a small buffer makes sure). Every shard but the last has `per_shard` batches (None:
    a single shard)."""
    pending, expect = {}, (0, 0)
    for row in rows:
        pending[(int(row["shard"]), int(row["k"]))] = row["result"]
        while expect in pending:
            yield pickle.loads(pending.pop(expect))
            expect = (expect[0] + 1, 0) if per_shard and expect[1] + 1 == per_shard else (expect[0], expect[1] + 1)
    for key in sorted(pending):
        yield pickle.loads(pending[key])
