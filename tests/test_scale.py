"""Batch scoring at scale: workers give the same bytes, every batch is one write of whole lines,
readers start part-way, the flagged file is sorted without holding records, memory does not
grow with the input, Parquet / CSV output, --no-evidence."""
from __future__ import annotations

import csv
import json
import random
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import detector.batch.writers as dio
from detector.model.core import Detector
from detector.batch.io import BadRecord, Post, iter_posts, keyed_line, sort_spool
from detector.batch.ray_engine import jsonl_shards, plan_shards
from detector.batch.process import batched
from detector.batch.run import score_file
from training.cli import app as _full_app

app = _full_app()

TEXTS = ["兼职刷单日结，加微信", "今天天气不错，出去走走", "你就是个脑残，滚出去", "震惊！喝醋可以治愈新冠，转发保平安",
         "这本书写得很好", "有偿删帖，负面处理，加QQ", "女司机就是马路杀手，蠢货", "明天记得带伞"]


def write_posts(path, n: int, bad_every: int = 0) -> None:
    lines = []
    for i in range(n):
        if bad_every and i % bad_every == bad_every - 1:
            lines.append('{"id": "broken%d", "text": ' % i if i % 2 else json.dumps({"id": f"e{i}", "text": " "}))
        else:
            lines.append(json.dumps({"id": f"p{i}", "text": f"{TEXTS[i % len(TEXTS)]} {i}", "n": i}, ensure_ascii=False))
        if i % 97 == 5:
            lines.append("")  # blank lines are skipped but numbered
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_jsonl(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_workers_give_the_same_bytes_as_one_process(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    write_posts(src, 700, bad_every=50)
    files = {}
    for w in (1, 2):
        out, fl = tmp_path / f"o{w}.jsonl", tmp_path / f"f{w}.jsonl"
        s = score_file(str(src), str(tiny_model), str(out), flagged=str(fl), batch_size=40, progress=False, workers=w)
        assert s.read == 700 and s.bad == 14 and s.scored == 686
        files[w] = (out.read_bytes(), fl.read_bytes(), (tmp_path / f"o{w}.errors.jsonl").read_bytes())
    assert files[1] == files[2]
    ids = [r["id"] for r in read_jsonl(tmp_path / "o1.jsonl")]
    assert ids == [f"p{i}" for i in range(700) if i % 50 != 49]


def test_every_batch_is_one_write_of_complete_lines(tiny_model, tmp_path, monkeypatch):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_posts(src, 230)
    writes = []
    real = dio.os.write

    def spy(fd, data):
        writes.append(bytes(data))
        return real(fd, data)

    monkeypatch.setattr(dio.os, "write", spy)
    score_file(str(src), str(tiny_model), str(out), batch_size=50, progress=False, checkpoint_s=0)
    outs = [w for w in writes if b'"scores"' in w]
    assert [w.count(b"\n") for w in outs] == [50, 50, 50, 50, 30]
    assert all(w.endswith(b"\n") for w in outs) and b"".join(outs) == out.read_bytes()
    progress = json.loads((tmp_path / "out.jsonl.progress.json").read_text())
    assert progress["done"] and progress["out_offset"] == out.stat().st_size and progress["items"] == 230


def test_jsonl_reader_starts_at_a_byte_offset_with_its_line_numbers(tmp_path):
    src = tmp_path / "in.jsonl"
    write_posts(src, 120, bad_every=30)
    everything = list(iter_posts(str(src)))
    cut = everything[57]
    rest = list(iter_posts(str(src), offset=cut.end, line=cut.line))
    assert rest == everything[58:]
    assert list(iter_posts(str(src), offset=cut.end, line=cut.line, limit=5)) == everything[58:63]


def test_csv_and_parquet_readers_skip_records(tmp_path):
    rows = [{"id": f"p{i}", "text": TEXTS[i % len(TEXTS)] if i % 9 else ""} for i in range(100)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=16)
    with open(tmp_path / "in.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, ["id", "text"])
        w.writeheader()
        w.writerows(rows)
    for name in ("in.parquet", "in.csv"):
        everything = list(iter_posts(str(tmp_path / name)))
        assert len(everything) == 100 and isinstance(everything[9], BadRecord)
        for skip in (0, 16, 37, 99, 100):
            assert list(iter_posts(str(tmp_path / name), skip=skip)) == everything[skip:]


def test_ray_shards_cut_where_local_batches_cut(tmp_path):
    src = tmp_path / "in.jsonl"
    write_posts(src, 333, bad_every=40)
    local = list(batched(iter_posts(str(src)), 10))
    shards = jsonl_shards(str(src), 0, 0, 30)
    assert len(shards) == 12
    from_shards = [b for s in shards for b in batched(iter_posts(str(src), **s), 10)]
    assert from_shards == local
    exact = tmp_path / "exact.jsonl"
    write_posts(exact, 60)
    assert len(plan_shards(str(exact), {}, 10, per_shard=3)) == 2


def test_flagged_spool_sorts_by_priority_stably_in_small_chunks(tmp_path):
    rng = random.Random(0)
    recs = [{"id": i, "priority": rng.choice([0.5, 0.61, 0.7, 0.93, 1.0])} for i in range(1000)]
    spool = tmp_path / "f.spool"
    spool.write_text("".join(keyed_line(r["priority"], json.dumps(r) + "\n") for r in recs), encoding="utf-8")
    for dest in ("f.jsonl", "f.csv", "f.parquet"):
        sort_spool(str(spool), str(tmp_path / dest), chunk=64)
    want = sorted(recs, key=lambda r: -r["priority"])
    assert read_jsonl(tmp_path / "f.jsonl") == want
    assert pq.read_table(tmp_path / "f.parquet").to_pylist() == want
    with open(tmp_path / "f.csv", encoding="utf-8") as f:
        assert [int(r["id"]) for r in csv.DictReader(f)] == [r["id"] for r in want]


def _cheap_scores(det: Detector):
    def score(texts, evidence=True, k=5):
        return [{"scores": {r: 0.9 for r in det.labels}, "flags": list(det.labels), "priority": 0.9,
                 "evidence": {}, "contacts": [], "model": det.model_id} for _ in texts]
    return score


def test_memory_does_not_grow_with_the_input(tiny_model, tmp_path):
    det = Detector.from_pretrained(tiny_model)
    det.score = _cheap_scores(det)  # every post flagged: the flagged file is the worst case
    peaks = {}
    for n in (2_000, 20_000):
        src = tmp_path / f"in{n}.jsonl"
        write_posts(src, n)
        tracemalloc.start()
        score_file(str(src), det, str(tmp_path / f"o{n}.jsonl"), flagged=str(tmp_path / f"f{n}.jsonl"),
                   batch_size=100, progress=False)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert len(read_jsonl(tmp_path / f"f{n}.jsonl")) == n
    # 10x the posts: only the flagged sort keys (24 bytes a post) may grow
    assert peaks[20_000] < peaks[2_000] + 18_000 * 64 + 2_000_000, peaks


def test_parquet_and_csv_output_hold_the_same_records(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    write_posts(src, 150, bad_every=40)
    for ext in ("jsonl", "csv", "parquet"):
        score_file(str(src), str(tiny_model), str(tmp_path / f"o.{ext}"), flagged=str(tmp_path / f"f.{ext}"),
                   batch_size=32, progress=False, checkpoint_s=0)
    want = read_jsonl(tmp_path / "o.jsonl")
    got_pq = pq.read_table(tmp_path / "o.parquet").to_pylist()
    with open(tmp_path / "o.csv", encoding="utf-8") as f:
        got_csv = list(csv.DictReader(f))
    assert [r["id"] for r in got_pq] == [r["id"] for r in got_csv] == [r["id"] for r in want]
    assert [r["score_rumor"] for r in got_pq] == [r["scores"]["rumor"] for r in want]
    assert pq.read_table(tmp_path / "f.parquet").num_rows == len(read_jsonl(tmp_path / "f.jsonl"))
    assert not list(tmp_path.glob("*.partial.jsonl")) and not list(tmp_path.glob("*.spool"))


def test_no_evidence_scores_the_same_without_evidence(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    write_posts(src, 40)
    runner = CliRunner()
    for name, extra in (("with", []), ("without", ["--no-evidence"])):
        r = runner.invoke(app, ["score", str(src), "-m", str(tiny_model), "-o", str(tmp_path / f"{name}.jsonl"), *extra])
        assert r.exit_code == 0, r.output
    a, b = read_jsonl(tmp_path / "with.jsonl"), read_jsonl(tmp_path / "without.jsonl")
    assert [x["scores"] for x in a] == [x["scores"] for x in b] and [x["flags"] for x in a] == [x["flags"] for x in b]
    assert any(x["evidence"] for x in a) and not any(x["evidence"] for x in b)


def test_bad_engine_and_stdin_with_workers_are_one_sentence(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    write_posts(src, 3)
    runner = CliRunner()
    r = runner.invoke(app, ["score", str(src), "-m", str(tiny_model), "-o", str(tmp_path / "o.jsonl"), "--engine", "spark"])
    assert r.exit_code == 2 and "--engine" in r.output and not (tmp_path / "o.jsonl").exists()
    r = runner.invoke(app, ["score", "-", "-m", str(tiny_model), "-o", str(tmp_path / "o.jsonl"), "--workers", "2"], input="")
    assert r.exit_code == 2 and "input file" in r.output


@pytest.mark.parametrize("post", [Post(3, {"id": "a"}, "好", end=10), BadRecord(4, "empty text", "b", end=20)])
def test_items_carry_their_input_position(post):
    assert post.end in (10, 20)
