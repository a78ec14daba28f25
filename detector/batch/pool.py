"""`jingwang score --workers N`: score batches in N processes (jieba, the vectoriser and the
transformer are CPU-bound; one process per core).

Every worker runs `detector.batch.process.process_batch`, the same function the single-process
engine runs, on whole batches, so the output is the same bytes whatever N is. Results come back
in input order. At most `2 * N` batches are in flight (`Pool.imap` would read the whole input
ahead into its task queue), so memory stays bounded.

How workers get the scorer:
- fast models (no thread pools of torch or ONNX Runtime to copy): the parent loads the model
  once, scores one text (so the segmenter's dictionary and the lookup tables are built), and
  forks the workers, which start with all of it (no second import, load or dictionary build);
- other models: "spawn"ed workers load the scorer once each (pool initializer), with
  `cores // N` compute threads each (torch, ONNX Runtime) unless the user set
  JINGWANG_THREADS / OMP_NUM_THREADS (`detector.scorers.compute.limit_threads`)."""
from __future__ import annotations

import multiprocessing as mp
from collections import deque
from typing import Iterable, Iterator

from detector.batch.process import process_batch
from detector.model.core import Detector
from detector.scorers.compute import cores, limit_threads

_STATE: dict = {}


def _init(spec, ctx, threads: int) -> None:
    limit_threads(threads)
    try:
        _STATE["det"], _STATE["ctx"] = spec.load(), ctx
    except Exception as e:  # an initializer that raises makes Pool respawn workers forever
        _STATE["error"] = e


def _work(batch: list):
    if "error" in _STATE:
        raise _STATE["error"]
    return process_batch(_STATE["det"], batch, _STATE["ctx"])


def ordered_map(pool, fn, items: Iterable, window: int) -> Iterator:
    """`fn(item)` for every item, in order, with at most `window` items submitted ahead."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.apply_async(fn, (item,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def forkable(spec) -> bool:
    """True when workers can be forked from a parent holding the loaded scorer: a fast model
    (no cascade) on a system with fork."""
    if spec.cascade or "fork" not in mp.get_all_start_methods():
        return False
    return Detector.read_config(spec.model)[1].get("model_type") == "fast"


def start_pool(spec, ctx, workers: int):
    """A pool of `workers` processes, each holding the scorer (see the module docstring)."""
    if forkable(spec):
        det = spec.load()
        det.score(["预热"], evidence=True)  # builds what scoring builds on first use, before the fork
        _STATE.update(det=det, ctx=ctx)
        return mp.get_context("fork").Pool(workers)
    threads = max(1, cores() // workers)
    return mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(spec, ctx, threads))


def pool_results(spec, ctx, batches: Iterable[list], workers: int) -> Iterator:
    """BatchResults of every batch, in input order, from `workers` processes. The pool starts
    now (before the caller starts threads such as a progress bar's), and ends with the results
    or when they are abandoned."""
    return _results(start_pool(spec, ctx, workers), batches, workers)


def _results(pool, batches: Iterable[list], workers: int) -> Iterator:
    try:
        yield from ordered_map(pool, _work, batches, 2 * workers)
    finally:
        pool.terminate()
        _STATE.clear()
