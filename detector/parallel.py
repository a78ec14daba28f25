"""`jingwang score --workers N`: score batches in N processes (jieba, the vectoriser and the
transformer are CPU-bound; one process per core).

Each worker loads the scorer once (pool initializer) and runs `scoring.process_batch`, the
same function the single-process engine runs, on whole batches, so the output is the same
bytes whatever N is. Results come back in input order. At most `2 * N` batches are in flight
(`Pool.imap` would read the whole input ahead into its task queue), so memory stays bounded.
Each worker gets `cores // N` compute threads (torch, ONNX Runtime) unless the user set
JINGWANG_THREADS / OMP_NUM_THREADS."""
from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from typing import Iterable, Iterator

_STATE: dict = {}


def _init(spec, ctx, threads: int) -> None:
    if threads and not any(os.environ.get(v) for v in ("JINGWANG_THREADS", "OMP_NUM_THREADS")):
        os.environ["JINGWANG_THREADS"] = str(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        _STATE["det"], _STATE["ctx"] = spec.load(), ctx
    except Exception as e:  # an initializer that raises makes Pool respawn workers forever
        _STATE["error"] = e


def _work(batch: list):
    from detector.scoring import process_batch

    if "error" in _STATE:
        raise _STATE["error"]
    return process_batch(_STATE["det"], batch, _STATE["ctx"])


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def ordered_map(pool, fn, items: Iterable, window: int) -> Iterator:
    """`fn(item)` for every item, in order, with at most `window` items submitted ahead."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.apply_async(fn, (item,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def pool_results(spec, ctx, batches: Iterable[list], workers: int) -> Iterator:
    """BatchResults of every batch, in input order, from `workers` processes ("spawn": no
    forked copies of torch / ONNX Runtime thread pools)."""
    threads = max(1, cores() // workers)
    with mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(spec, ctx, threads)) as pool:
        yield from ordered_map(pool, _work, batches, 2 * workers)
