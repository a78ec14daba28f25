"""--resume: kill -9 the CLI mid-run, resume, every input scored exactly once; torn and
unrecorded lines are cut off; a changed input is refused; Parquet output resumes too."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from detector.model.core import Detector
from detector.batch.process import ModelSpec
from detector.batch.run import score_file
from tests.test_scale import read_jsonl, write_posts
from training.cli import app as _full_app

app = _full_app()

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "detector.cli", "score", *map(str, args)]


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


def _interrupt(tiny_model, src, out, **kw):
    det = Detector.from_pretrained(tiny_model)
    det.score = interrupted(det, 2)
    with pytest.raises(Boom):
        score_file(str(src), det, str(out), batch_size=10, progress=False, checkpoint_s=0, **kw)
    return out.read_bytes()


def test_resume_refuses_another_model(tiny_model, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_posts(src, 100)
    before = _interrupt(tiny_model, src, out)
    other = tmp_path / "v99"
    shutil.copytree(tiny_model, other)
    cfg = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**cfg, "version": "99"}))
    with pytest.raises(ValueError, match="cannot resume with model tiny@99: the interrupted run used tiny@1"):
        score_file(str(src), str(other), str(out), batch_size=10, progress=False, resume=True)
    assert out.read_bytes() == before  # nothing truncated or appended
    s = score_file(str(src), str(tiny_model), str(out), batch_size=10, progress=False, resume=True)
    assert s.resumed_from == 20 and {x["model"] for x in read_jsonl(out)} == {"tiny@1"}


def test_the_model_id_recorded_without_loading_is_the_one_records_carry(tiny_model, tmp_path):
    casc = tmp_path / "casc"  # --workers / --engine ray record the id from config.json, the driver loads nothing
    casc.mkdir()
    (casc / "cascade.json").write_text(json.dumps({"first": "tiny@1", "second": str(tiny_model), "band": {}}))
    for cascade in (None, str(casc)):
        spec = ModelSpec(str(tiny_model), cascade)
        assert spec.model_id() == spec.load().model_id == ("tiny@1" if cascade is None else "cascade(tiny@1->tiny@1)")


@pytest.mark.parametrize("ext", ["jsonl", "csv"])
def test_resume_refuses_an_input_edited_to_the_same_size(tiny_model, tmp_path, ext):
    src, out = tmp_path / f"in.{ext}", tmp_path / "out.jsonl"
    rows = [{"id": f"p{i}", "text": f"今天天气不错 {i}"} for i in range(100)]
    write = (lambda rs: _jsonl_rows(src, rs)) if ext == "jsonl" else (lambda rs: _csv_rows(src, rs))
    write(rows)
    before = _interrupt(tiny_model, src, out)
    size = src.stat().st_size
    write([{**rows[0], "id": "q0"}, *rows[1:]])  # an id in the part already scored, same size
    assert src.stat().st_size == size
    with pytest.raises(ValueError, match=rf"cannot resume: {src} changed since the interrupted run"):
        score_file(str(src), str(tiny_model), str(out), batch_size=10, progress=False, resume=True)
    assert out.read_bytes() == before


def test_resume_accepts_an_input_touched_but_unchanged(tiny_model, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_posts(src, 100)
    _interrupt(tiny_model, src, out)
    os.utime(src, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns + 10**9))
    s = score_file(str(src), str(tiny_model), str(out), batch_size=10, progress=False, resume=True)
    assert s.resumed_from == 20 and [x["id"] for x in read_jsonl(out)] == [f"p{i}" for i in range(100)]


@pytest.mark.parametrize("content, reason", [('{"input": "x", "inp', "not valid JSON"),
                                             (None, "unknown key 'colour'"), ('[1, 2]', "not a JSON object"),
                                             (None, "'items' is str")])
def test_a_bad_progress_file_is_one_sentence_naming_it(tiny_model, tmp_path, content, reason):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_posts(src, 100)
    _interrupt(tiny_model, src, out)
    progress = tmp_path / "out.jsonl.progress.json"
    if content is None:
        p = json.loads(progress.read_text())
        content = json.dumps({**p, "colour": "red"} if "unknown" in reason else {**p, "items": "20"})
    progress.write_text(content)
    r = CliRunner().invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out), "--batch-size", "10",
                                 "--resume"])
    msg = " ".join(r.output.split())
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit) and "Traceback" not in msg, (msg, r.exception)
    assert f"cannot resume: {progress} is not a valid progress file" in msg and reason in msg
    r = CliRunner().invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out), "--batch-size", "10"])
    assert r.exit_code == 0 and len(read_jsonl(out)) == 100  # without --resume: a fresh run replaces it


def _jsonl_rows(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _csv_rows(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["id", "text"])
        w.writeheader()
        w.writerows(rows)
