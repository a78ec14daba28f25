"""--engine ray on a local Ray instance writes the same bytes as the local engine (JSONL with
bad records, Parquet input, flagged file, errors), and resumes."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from detector.batch.run import score_file
from tests.test_scale import TEXTS, write_posts

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def run_both(src, model, tmp_path, name, **kw) -> tuple[dict, dict]:
    got = {}
    for engine in ("local", "ray"):
        out, fl = tmp_path / f"{name}-{engine}.jsonl", tmp_path / f"{name}-{engine}-flagged.jsonl"
        s = score_file(str(src), str(model), str(out), flagged=str(fl), batch_size=16, progress=False,
                       engine=engine, workers=2 if engine == "ray" else 1, **kw)
        errors = tmp_path / f"{name}-{engine}.errors.jsonl"
        got[engine] = {"summary": (s.read, s.scored, s.bad, s.flagged), "out": out.read_bytes(), "flagged": fl.read_bytes(),
                       "errors": errors.read_bytes() if errors.exists() else b""}
    return got["local"], got["ray"]


def test_ray_engine_writes_what_the_local_engine_writes(tiny_model, tmp_path, local_ray):
    src = tmp_path / "in.jsonl"
    write_posts(src, 700, bad_every=60)
    local, on_ray = run_both(src, tiny_model, tmp_path, "jsonl")
    assert local == on_ray and local["errors"] and local["summary"][0] == 700

    rows = [{"id": f"q{i}", "text": TEXTS[i % len(TEXTS)] if i % 50 else " "} for i in range(300)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=64)
    local, on_ray = run_both(tmp_path / "in.parquet", tiny_model, tmp_path, "parquet")
    assert local == on_ray and local["summary"][2] == 6


def test_ray_engine_resumes_where_a_run_stopped(tiny_model, tmp_path, local_ray):
    from tests.test_resume import Boom, interrupted
    from detector.model.core import Detector

    src = tmp_path / "in.jsonl"
    write_posts(src, 400, bad_every=90)
    whole = tmp_path / "whole.jsonl"
    score_file(str(src), str(tiny_model), str(whole), batch_size=16, progress=False)
    det = Detector.from_pretrained(tiny_model)
    det.score = interrupted(det, 7)
    out = tmp_path / "out.jsonl"
    with pytest.raises(Boom):
        score_file(str(src), det, str(out), batch_size=16, progress=False, checkpoint_s=0)
    s = score_file(str(src), str(tiny_model), str(out), batch_size=16, progress=False, engine="ray", workers=2,
                   resume=True)
    assert s.resumed_from == 7 * 16 and out.read_bytes() == whole.read_bytes()
