"""`jingwang review import`: queue every record of a scored file (or the sample a strategy picks),
each checked on the way in (detector/review/records.py), bad ones reported with their line."""
from __future__ import annotations

import time
from pathlib import Path

from detector.batch.io import BadRecord, iter_posts
from detector.review.db import ReviewDB
from detector.review.records import ImportSummary, accept


def import_file(db: str | Path | ReviewDB, path: str, text_field: str = "text", id_field: str = "id",
                sample: str | None = None, n: int = 0, seed: int = 0) -> ImportSummary:
    """Queue every record of a scored (or flagged) file: .jsonl, .csv or .parquet as `jingwang score`
    writes them; with `sample`, only the `n` records that strategy picks (detector/review/sampling.py)."""
    t0 = time.time()
    if path != "-" and not Path(path).is_file():
        raise FileNotFoundError(f"cannot read {path}: no such file")
    rdb = db if isinstance(db, ReviewDB) else ReviewDB(db)
    s = ImportSummary()

    def checked():
        for p in iter_posts(path, text_field, id_field):
            s.read += 1
            if isinstance(p, BadRecord):
                s.reject(f"line {p.line}: {p.reason}")
                continue
            ok = accept(p.record, f"line {p.line}", text_field, id_field, s)
            if ok is not None:
                yield ok

    items = checked()
    if sample is not None:
        from detector.review.sampling import select

        pool = list(items)
        items = [pool[i] for i in select([rec for rec, _, _ in pool], sample, n, text_field, seed)]
        s.sampled_from = len(pool)
    rdb.queue_accepted(items, text_field, s)
    s.seconds = time.time() - t0
    return s
