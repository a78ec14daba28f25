"""--resume: kill -9 the CLI mid-run, resume, every input scored exactly once; torn and
unrecorded lines are cut off; a changed input is refused; Parquet output resumes too."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from detector.detector import Detector
from detector.scoring import score_file
from tests.test_scale import read_jsonl, write_posts

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "training.cli", "score", *map(str, args)]


def wait_for_batches(path, n: int, proc, timeout: float = 60) -> dict:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if os.path.exists(path):
            try:
                p = json.loads(open(path).read())
            except (json.JSONDecodeError, OSError):
                p = None
            if p and p["batches"] >= n:
                return p
        assert proc.poll() is None, "the run finished before it could be killed"
        time.sleep(0.005)
    raise AssertionError("no progress")


def test_resume_after_kill_scores_every_post_exactly_once(tiny_model, tmp_path):
    src, out, flagged = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "flagged.jsonl"
    write_posts(src, 3_000, bad_every=500)
    args = [src, "--model", tiny_model, "--out", out, "--flagged", flagged, "--batch-size", 20,
            "--checkpoint-every", 0, "--quiet"]
    proc = subprocess.Popen(cli(*args), cwd=PROJECT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_batches(str(out) + ".progress.json", 3, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    progress = json.loads(open(str(out) + ".progress.json").read())
    assert not progress["done"] and 0 < progress["items"] < 3_000
    size = out.stat().st_size
    assert size >= progress["out_offset"]
    # what a reader sees after the kill: complete lines, at most one torn last line
    lines = out.read_bytes().split(b"\n")
    for line in lines[:-1]:
        json.loads(line)
    # make the worst case certain: lines written after the last checkpoint, then a torn one
    with open(out, "ab") as f:
        f.write(b'{"id": "p1", "scores": {}}\n{"id": "torn", "sco')
    r = subprocess.run(cli(*args, "--resume"), cwd=PROJECT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(out)
    ids = [x["id"] for x in rows]
    expected = [f"p{i}" for i in range(3_000) if i % 500 != 499]
    assert ids == expected  # every post exactly once, in input order
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert len(errors) == 6 and len({e["line"] for e in errors}) == 6
    fl = read_jsonl(flagged)
    assert len(fl) == len({x["id"] for x in fl}) == sum(bool(x["flags"]) for x in rows)
    assert [x["priority"] for x in fl] == sorted((x["priority"] for x in fl), reverse=True)
    again = score_file(str(src), str(tiny_model), str(out), flagged=str(flagged), batch_size=20, progress=False,
                       resume=True)
    assert again.scored_now == 0 and again.scored == len(rows) and read_jsonl(out) == rows  # finished stays finished


class Boom(RuntimeError):
    pass


def interrupted(det: Detector, after: int):
    real, calls = det.score, []

    def score(texts, evidence=True, k=5):
        calls.append(1)
        if len(calls) > after:
            raise Boom("killed")
        return real(texts, evidence, k)
    return score


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_resume_continues_parquet_and_csv_output(tiny_model, tmp_path, ext):
    src = tmp_path / "in.jsonl"
    write_posts(src, 300, bad_every=70)
    whole = tmp_path / f"whole.{ext}"
    score_file(str(src), str(tiny_model), str(whole), batch_size=25, progress=False)
    det = Detector.from_pretrained(tiny_model)
    det.score = interrupted(det, 5)
    out = tmp_path / f"out.{ext}"
    with pytest.raises(Boom):
        score_file(str(src), det, str(out), batch_size=25, progress=False, checkpoint_s=0)
    s = score_file(str(src), str(tiny_model), str(out), batch_size=25, progress=False, resume=True)
    assert s.resumed_from == 125 and s.read == 300 and s.bad == 4 and s.scored == 296
    if ext == "parquet":
        assert pq.read_table(out).to_pylist() == pq.read_table(whole).to_pylist()
    else:
        assert out.read_bytes() == whole.read_bytes()


def test_resume_refuses_a_changed_input_batch_size_or_flagged_file(tiny_model, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_posts(src, 100)
    det = Detector.from_pretrained(tiny_model)
    det.score = interrupted(det, 2)
    with pytest.raises(Boom):
        score_file(str(src), det, str(out), batch_size=10, progress=False, checkpoint_s=0)
    with pytest.raises(ValueError, match="batch-size"):
        score_file(str(src), str(tiny_model), str(out), batch_size=20, progress=False, resume=True)
    with pytest.raises(ValueError, match="--flagged"):
        score_file(str(src), str(tiny_model), str(out), flagged=str(tmp_path / "f.jsonl"), batch_size=10,
                   progress=False, resume=True)
    write_posts(src, 101)
    with pytest.raises(ValueError, match="cannot resume"):
        score_file(str(src), str(tiny_model), str(out), batch_size=10, progress=False, resume=True)


def test_resume_without_progress_starts_from_scratch(tiny_model, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_posts(src, 30)
    out.write_text("stale\n")
    s = score_file(str(src), str(tiny_model), str(out), batch_size=10, progress=False, resume=True)
    assert s.resumed_from == 0 and [x["id"] for x in read_jsonl(out)] == [f"p{i}" for i in range(30)]
