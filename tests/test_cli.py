"""The CLI with good and bad input: score (JSONL, CSV, Parquet, stdin), evaluate, train errors."""
from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from training.cli import app as _full_app

app = _full_app()

runner = CliRunner()


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_score_jsonl_writes_records_and_flagged(tiny_model, tmp_path):
    src = tmp_path / "posts.jsonl"
    _jsonl(src, [{"id": "a", "text": "兼职刷单日结，加微信", "author": "u1"},
                 {"id": "b", "text": "今天天气不错，出去走走", "author": "u2"},
                 {"id": "c", "text": "你就是个脑残，滚出去", "author": "u3"}])
    out, flagged = tmp_path / "scored.jsonl", tmp_path / "flagged.jsonl"
    r = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out), "--flagged", str(flagged)])
    assert r.exit_code == 0, r.output
    rows = _read(out)
    assert [x["id"] for x in rows] == ["a", "b", "c"] and rows[0]["author"] == "u1"
    for x in rows:
        assert set(x["scores"]) == {"rumor", "paid_posting", "harassment"}
        assert all(0 <= v <= 1 for v in x["scores"].values())
        assert set(x["evidence"]) == set(x["flags"]) and x["model"] == "tiny@1"
    fl = _read(flagged)
    assert all(x["flags"] for x in fl) and len(fl) == sum(bool(x["flags"]) for x in rows)
    assert [x["priority"] for x in fl] == sorted((x["priority"] for x in fl), reverse=True)


def test_bad_records_are_reported_and_the_rest_scored(tiny_model, tmp_path):
    src = tmp_path / "bad.jsonl"
    good = json.dumps({"id": "ok1", "text": "今天天气不错"}, ensure_ascii=False).encode()
    lines = [good, b'{"id": "broken", "text": ', json.dumps({"id": "nt"}).encode(),
             json.dumps({"id": "empty", "text": "   "}).encode(), b'{"id": "u", "text": "\xff\xfe bad"}',
             json.dumps({"id": "long", "text": "\u9a82" * 100_000}, ensure_ascii=False).encode(), good.replace(b"ok1", b"ok2")]
    src.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "scored.jsonl"
    r = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert [x["id"] for x in _read(out)] == ["ok1", "long", "ok2"]
    errors = _read(tmp_path / "scored.errors.jsonl")
    by_line = {e["line"]: e["reason"] for e in errors}
    assert "malformed JSON" in by_line[2] and "missing text field" in by_line[3]
    assert "empty text" in by_line[4] and "invalid UTF-8" in by_line[5] and "long text" in by_line[6]
    assert "line 2" in r.output


def test_strict_stops_at_first_bad_record(tiny_model, tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"id": 1, "text": "好"}\nnot json\n', encoding="utf-8")
    r = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(tmp_path / "o.jsonl"), "--strict"])
    assert r.exit_code == 2 and "line 2" in r.output and "Traceback" not in r.output


def test_unknown_model_and_missing_file_give_one_sentence(tiny_model, tmp_path):
    src = tmp_path / "p.jsonl"
    _jsonl(src, [{"id": 1, "text": "好"}])
    r = runner.invoke(app, ["score", str(src), "--model", str(tmp_path / "nomodel"), "--out", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 2 and "no model at" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["score", str(tmp_path / "missing.jsonl"), "--model", str(tiny_model), "--out", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_csv_in_parquet_out(tiny_model, tmp_path):
    src = tmp_path / "posts.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["post_id", "content"])
        w.writerow(["x1", "有偿删帖，负面处理"])
        w.writerow(["x2", "这本书写得很好，\n值得一读"])
    out = tmp_path / "scored.parquet"
    r = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out),
                            "--text-field", "content", "--id-field", "post_id"])
    assert r.exit_code == 0, r.output
    t = pq.read_table(out).to_pylist()
    assert [x["post_id"] for x in t] == ["x1", "x2"] and "score_harassment" in t[0]


def test_parquet_in_csv_out(tiny_model, tmp_path):
    src = tmp_path / "posts.parquet"
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": ["你全家都是废物", "明天记得带伞"]}), src)
    out = tmp_path / "scored.csv"
    r = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [x["id"] for x in rows] == ["p1", "p2"] and float(rows[0]["score_rumor"]) >= 0


def test_stdin_jsonl(tiny_model, tmp_path):
    out = tmp_path / "scored.jsonl"
    data = json.dumps({"id": "s1", "text": "好评返现五元"}, ensure_ascii=False) + "\n"
    r = runner.invoke(app, ["score", "-", "--model", str(tiny_model), "--out", str(out)], input=data)
    assert r.exit_code == 0, r.output
    assert _read(out)[0]["id"] == "s1"


def test_evaluate_writes_metrics(tiny_model, tmp_path):
    data = tmp_path / "eval.jsonl"
    _jsonl(data, [{"text": "你就是个脑残，滚出去", "label": 1}, {"text": "这种人真恶心，去死吧", "label": 1},
                  {"text": "今天天气不错", "label": 0}, {"text": "谢谢大家的帮助", "label": 0}])
    r = runner.invoke(app, ["evaluate", str(tiny_model), str(data), "--risk", "harassment", "--out", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())["harassment"]
    assert m["n"] == 4 and {"accuracy", "macro_f1", "roc_auc", "pr_auc", "ece", "threshold"} <= set(m)
    r = runner.invoke(app, ["evaluate", str(tiny_model), str(data), "--risk", "spam", "--out", str(tmp_path / "ev")])
    assert r.exit_code == 2 and "unknown risk" in r.output

def test_evaluate_one_risk_of_a_file_labeled_per_risk_reads_that_risks_column(tiny_model, tmp_path):
    data = tmp_path / "per_risk.jsonl"
    _jsonl(data, [{"text": "你就是个脑残，滚出去", "harassment": 1, "paid_posting": 0},
                  {"text": "加微信领红包，好评返现", "harassment": 0, "paid_posting": 1},
                  {"text": "今天天气不错", "harassment": 0, "paid_posting": 0}])
    r = runner.invoke(app, ["evaluate", str(tiny_model), str(data), "--risk", "paid_posting", "--out", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert list(m) == ["paid_posting"] and m["paid_posting"]["n"] == 3 and m["paid_posting"]["positives"] == 1
    r = runner.invoke(app, ["evaluate", str(tiny_model), str(data), "--risk", "rumor", "--out", str(tmp_path / "ev2")])
    assert r.exit_code == 2 and "record 1" in r.output and "rumor column" in r.output



def test_train_with_bad_recipe_is_one_sentence(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text("[model\n", encoding="utf-8")
    r = runner.invoke(app, ["train", "--config", str(bad), "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "not valid TOML" in r.output


def test_score_with_campaigns_marks_and_boosts_the_copy_paste_posts(tiny_model, tmp_path):
    src = tmp_path / "posts.jsonl"
    praise = "用了一周的焰客空气炸锅，真的太好用了！无油也能炸出金黄酥脆的鸡翅，强烈推荐给大家"
    rows = [{"id": f"c{i}", "text": praise + "!" * i, "author": f"u{i}", "created_at": f"2026-11-20T08:0{i}:00+08:00"}
            for i in range(5)]
    rows += [{"id": "o1", "text": "今天天气不错，出去走走，晚上吃火锅", "author": "x", "created_at": "2026-11-20T09:00:00+08:00"},
             {"id": "o2", "text": "这本书写得很好，推荐给喜欢历史的朋友", "author": "y", "created_at": "2026-11-21T09:00:00+08:00"}]
    _jsonl(src, rows)
    out = tmp_path / "scored.jsonl"
    r = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out), "--campaigns"])
    assert r.exit_code == 0, r.output
    res = {x["id"]: x for x in _read(out)}
    assert {res[f"c{i}"]["campaign"]["cluster_id"] for i in range(5)} == {res["c0"]["campaign"]["cluster_id"]}
    assert res["c0"]["campaign"]["size"] == 5 and "campaign" not in res["o1"]
    plain = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(tmp_path / "p.jsonl")])
    assert plain.exit_code == 0
    base = {x["id"]: x for x in _read(tmp_path / "p.jsonl")}
    assert res["c0"]["priority"] > base["c0"]["priority"] and res["o1"]["priority"] == base["o1"]["priority"]


def test_campaigns_command_is_registered(tmp_path):
    src = tmp_path / "p.jsonl"
    _jsonl(src, [{"id": i, "text": "加微信领取优惠券，每天都有新的福利等你来拿哦", "author": f"a{i}"} for i in range(4)])
    r = runner.invoke(app, ["campaigns", str(src), "--out", str(tmp_path / "c.jsonl")])
    assert r.exit_code == 0, r.output
    (cl,) = _read(tmp_path / "c.jsonl")
    assert cl["size"] == 4 and cl["distinct_authors"] == 4


def _score(tiny_model, *args):
    return runner.invoke(app, ["score", *map(str, args), "--model", str(tiny_model)])


def _one_sentence(r) -> str:
    """The CLI refused with one sentence (exit 2, no traceback); the sentence, unwrapped."""
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), (r.output, r.exception)
    assert "Traceback" not in r.output
    return " ".join(r.output.split())


POSTS = [{"id": f"g{i}", "text": t} for i, t in enumerate(["今天天气不错", "兼职刷单日结，加微信", "你就是个脑残，滚出去"])]


def test_out_that_is_the_input_is_refused_and_the_input_kept(tiny_model, tmp_path):
    src = tmp_path / "in.jsonl"
    _jsonl(src, POSTS)
    before = src.read_bytes()
    (tmp_path / "hard.jsonl").hardlink_to(src)
    (tmp_path / "sym.jsonl").symlink_to(src)
    for out in (src, tmp_path / "hard.jsonl", tmp_path / "sym.jsonl", tmp_path / "sub" / ".." / "in.jsonl"):
        msg = _one_sentence(_score(tiny_model, src, "--out", out))
        assert "--out" in msg and "is the input" in msg and str(out) in msg
        assert src.read_bytes() == before


def test_flagged_that_is_the_out_file_is_refused_before_anything_is_written(tiny_model, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "o.jsonl"
    _jsonl(src, POSTS)
    out.write_text("previous results\n")
    msg = _one_sentence(_score(tiny_model, src, "--out", out, "--flagged", out))
    assert "--flagged" in msg and "--out" in msg and "same file" in msg
    assert out.read_text() == "previous results\n"


def test_input_that_is_the_errors_file_of_out_is_refused(tiny_model, tmp_path):
    src, out = tmp_path / "x.errors.jsonl", tmp_path / "x.jsonl"
    _jsonl(src, POSTS)
    before = src.read_bytes()
    msg = _one_sentence(_score(tiny_model, src, "--out", out))
    assert "errors file" in msg and str(src) in msg and "is the input" in msg
    assert src.read_bytes() == before and not out.exists()


def test_unwritable_output_is_one_sentence_and_truncates_nothing(tiny_model, tmp_path):
    src, out, plain = tmp_path / "in.jsonl", tmp_path / "o.jsonl", tmp_path / "plain.txt"
    _jsonl(src, POSTS)
    plain.write_text("a file, not a folder")
    msg = _one_sentence(_score(tiny_model, src, "--out", plain / "o.jsonl"))
    assert f"cannot write --out {plain / 'o.jsonl'}" in msg and "not a folder" in msg
    out.write_text("previous results\n")
    msg = _one_sentence(_score(tiny_model, src, "--out", out, "--flagged", plain / "f.jsonl"))
    assert f"cannot write --flagged {plain / 'f.jsonl'}" in msg
    assert out.read_text() == "previous results\n"  # nothing truncated before every check passed
    full = tmp_path / "full.jsonl"
    full.symlink_to("/dev/full")
    msg = _one_sentence(_score(tiny_model, src, "--out", full))
    assert f"cannot write {full}: No space left on device" in msg


def test_a_clean_rerun_replaces_the_previous_errors_file(tiny_model, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "o.jsonl"
    src.write_text('{"id": "g0", "text": "今天天气不错"}\nnot json\n', encoding="utf-8")
    assert _score(tiny_model, src, "--out", out).exit_code == 0
    assert (tmp_path / "o.errors.jsonl").exists()
    _jsonl(src, POSTS)
    r = _score(tiny_model, src, "--out", out)
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "o.errors.jsonl").exists() and len(_read(out)) == 3


def test_fields_the_pipeline_writes_are_never_taken_from_the_input(tiny_model, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "o.jsonl"
    fake = {"campaign": {"cluster_id": 7, "size": {"toString": 1}}, "scores": {"rumor": 0}, "model": "evil@1",
            "flags": ["rumor"], "input": "mine"}
    _jsonl(src, [POSTS[0], {**POSTS[1], **fake}, {**POSTS[2], "evidence": "x", "author": "u"}])
    r = _score(tiny_model, src, "--out", out)
    assert r.exit_code == 0, r.output
    a, b, c = _read(out)
    assert "campaign" not in b and b["model"] == "tiny@1" and set(b["scores"]) == {"rumor", "paid_posting", "harassment"}
    assert b["input"] == fake and c["input"] == {"evidence": "x"} and c["author"] == "u" and "input" not in a
    msg = " ".join(r.output.split())
    assert "2 input records" in msg and "line 2" in msg and "campaign" in msg and "kept under" in msg


def test_a_folder_as_input_says_it_is_a_folder(tiny_model, tmp_path):
    (tmp_path / "posts.jsonl").mkdir()
    msg = _one_sentence(_score(tiny_model, tmp_path / "posts.jsonl", "--out", tmp_path / "o.jsonl"))
    assert "is a folder" in msg and "no such file" not in msg


def test_duplicate_ids_are_warned_with_count_and_example(tiny_model, tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "o.jsonl"
    ids = ["a", "b", "a", "c", "b", "a"]
    _jsonl(src, [{"id": i, "text": f"今天天气不错 {n}"} for n, i in enumerate(ids)])
    r = _score(tiny_model, src, "--out", out, "--batch-size", 2)
    assert r.exit_code == 0, r.output
    assert [x["id"] for x in _read(out)] == ids  # every record is still scored
    msg = " ".join(r.output.split())
    assert "3 records reuse the id of an earlier record" in msg and "e.g. line 3 repeats the id of line 1" in msg


def test_a_file_whose_text_sits_under_another_name_is_told_which_fields_hold_text(tiny_model, tmp_path):
    src = tmp_path / "posts.csv"
    src.write_text("id,content,likes\nc1,加微信领红包,3\n", encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    r = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out)])
    assert "line 2: missing text field 'text'; fields holding text: content" in r.output
    r = runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(out), "--text-field", "content"])
    assert r.exit_code == 0, r.output
    assert [x["id"] for x in _read(out)] == ["c1"]
