"""The CLI with good and bad input: score (JSONL, CSV, Parquet, stdin), evaluate, train errors."""
from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from training.cli import app

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


# --- issue 14: progress a person can read, help and tables at 80 columns, cheap start-up ---

def _summary_value(output: str, what: str) -> str:
    """The value cell of the score summary row `what`."""
    row = next(ln for ln in output.splitlines() if f"│ {what} " in ln)
    return row.split("│")[2].strip()


def test_score_summary_gives_shares_posts_with_any_flag_and_campaign_clusters(tiny_model, tmp_path):
    src = tmp_path / "posts.jsonl"
    copy = "用了一周的焰客空气炸锅，真的太好用了！无油也能炸出金黄酥脆的鸡翅，强烈推荐给大家"
    rows = [{"id": f"c{i}", "text": copy + "!" * i, "author": f"u{i}"} for i in range(4)] + POSTS * 2
    rows = [{**r, "id": f"r{i}"} for i, r in enumerate(rows)] + [{"id": "bad"}]
    _jsonl(src, rows)
    out = tmp_path / "scored.jsonl"
    r = runner.invoke(app, ["score", str(src), "-m", str(tiny_model), "-o", str(out), "--campaigns"],
                      env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    scored = _read(out)
    flagged = sum(bool(x["flags"]) for x in scored)
    assert 0 < flagged <= len(scored) == 10
    assert _summary_value(r.output, "records read") == "11"
    assert _summary_value(r.output, "scored") == "10 (90.9%)" and _summary_value(r.output, "bad records") == "1 (9.1%)"
    assert _summary_value(r.output, "posts with any flag") == f"{flagged} ({100 * flagged / 10:.1f}%)"
    for risk in ("rumor", "paid_posting", "harassment"):
        n = sum(risk in x["flags"] for x in scored)
        assert _summary_value(r.output, f"  {risk}") == f"{n} ({10 * n:.1f}%)"
    assert _summary_value(r.output, "campaign clusters") == "1, holding 4 (40.0%) posts"
    table = [ln for ln in r.output.splitlines() if ln[:1] in "┌│└" or "jingwang score" in ln]
    assert len(table) > 12 and all(len(ln) <= 80 for ln in table), r.output


def test_the_summary_table_fits_80_columns_with_a_long_output_path(tiny_model, tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "scored-output-of-the-whole-crawl.jsonl"
    deep.parent.mkdir(parents=True)
    _jsonl(tmp_path / "p.jsonl", POSTS)
    r = runner.invoke(app, ["score", str(tmp_path / "p.jsonl"), "-m", str(tiny_model), "-o", str(deep)],
                      env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if ln[:1] in "┌│└"]
    assert all(len(ln) <= 80 for ln in lines), r.output
    assert "".join(ln.split("│")[2].strip() for ln in lines if ln.count("│") == 3 and "output" not in
                   ln.split("│")[1] and "time" not in ln.split("│")[1]).count("scored-output-of-the-whole-crawl") == 1
    for risk in ("paid_posting", "harassment", "posts with any flag"):
        assert any(f"│ {risk} " in ln or f"│   {risk} " in ln for ln in lines), risk


def _commands(cmd, path=()):
    yield list(path), cmd
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(None):
            yield from _commands(cmd.get_command(None, name), (*path, name))


def test_every_help_fits_80_columns_and_shows_every_option_name_whole():
    import typer

    seen = 0
    for path, cmd in _commands(typer.main.get_command(app)):
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
        assert r.exit_code == 0, (path, r.output)
        assert all(len(ln) <= 80 for ln in r.output.splitlines()), (path, r.output)
        assert "…" not in r.output, (path, r.output)
        for param in cmd.params:
            for name in (*param.opts, *param.secondary_opts):
                if name.startswith("-"):
                    assert f"{name} " in r.output or f"{name}," in r.output or r.output.rstrip().endswith(name) \
                        or f"{name}\n" in r.output, (path, name, r.output)
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(None):
                summary = " ".join((cmd.get_command(None, name).help or "").split("\n\n")[0].split())
                assert summary in " ".join(r.output.split()), (path, name)  # whole, not cut
        seen += 1
    assert seen > 20


def _stderr_of_scoring(capsys, src, tiny_model, out, **kw):
    from detector.scoring import score_file

    score_file(str(src), str(tiny_model), str(out), progress=True, batch_size=2, **kw)
    return capsys.readouterr().err.replace("\r", "\n").splitlines()


def test_progress_bar_counts_jsonl_bytes_to_the_file_size(tiny_model, tmp_path, capsys):
    src = tmp_path / "posts.jsonl"
    _jsonl(src, POSTS * 2)
    size = src.stat().st_size
    assert size < 1000  # shown unscaled: "613B"
    lines = [ln for ln in _stderr_of_scoring(capsys, src, tiny_model, tmp_path / "o.jsonl") if "%|" in ln]
    assert lines[0].startswith("  0%|") and f"0.00B/{size}B" in lines[0]
    assert lines[-1].startswith("100%|") and f"{size}B/{size}B" in lines[-1] and "6 posts" in lines[-1]


def test_progress_bar_partway_shows_percent_total_time_left_and_posts_per_second():
    import io
    from types import SimpleNamespace

    from detector.progress import Meter, ProgressBar

    f = io.StringIO()
    bar = ProgressBar(Meter(40_000_000, 0, lambda r: r.end, "B"), True, file=f)
    bar.update(SimpleNamespace(n=256, end=17_200_000, line=256), 250)
    bar.bar.refresh()
    line = f.getvalue().split("\r")[-1]
    assert line.startswith(" 43%|") and "17.2MB/40.0MB" in line and "250 posts" in line and "posts/s" in line
    assert "<" in line.split("[")[1] and "?" not in line.split("[")[1]  # time so far < time left (known)
    bar.close()


def test_progress_bar_counts_csv_lines_and_parquet_rows(tiny_model, tmp_path, capsys):
    src = tmp_path / "posts.csv"
    with open(src, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows([["a", "第一行\n第二行，同一个帖子"], *[[p["id"], p["text"]] for p in POSTS]])
    last = [ln for ln in _stderr_of_scoring(capsys, src, tiny_model, tmp_path / "o.jsonl") if "%|" in ln][-1]
    assert last.startswith("100%|") and "6/6 lines" in last and "4 posts" in last
    pq.write_table(pa.table({"id": [p["id"] for p in POSTS], "text": [p["text"] for p in POSTS]}), tmp_path / "p.parquet")
    last = [ln for ln in _stderr_of_scoring(capsys, tmp_path / "p.parquet", tiny_model, tmp_path / "o2.jsonl")
            if "%|" in ln][-1]
    assert last.startswith("100%|") and "3/3 rows" in last and "3 posts" in last


def test_registering_the_commands_imports_no_scoring_or_training_stack():
    import subprocess
    import sys

    code = ("import sys, training.cli; heavy = [m for m in ('detector.scoring', 'detector.detector', 'sklearn', "
            "'scipy', 'torch', 'transformers', 'datasets', 'pyarrow', 'matplotlib', 'pandas') if m in sys.modules]; "
            "print(','.join(heavy))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "", f"imported by `import training.cli`: {r.stdout}"


def test_retrain_and_models_tables_fit_80_columns_with_whole_risk_and_set_names(monkeypatch, tmp_path):
    import io

    from rich.console import Console

    import detector.registry
    import training.cli_retrain as cr

    buf = io.StringIO()
    monkeypatch.setattr(cr, "err", Console(file=buf, width=80))
    cr.print_comparison([{"risk": r, "set": "reviewed-heldout", "metric": "false_flags_per_1000", "n": 12345,
                          "current": 0.9123, "challenger": 0.9234, "delta": 0.0111, "ok": False, "gates": True,
                          "note": ""} for r in ("paid_posting", "harassment")])
    versions = [{"current": True, "version": "v0002", "model": "default@2", "created_at": "2026-12-04T19:56:08+0000",
                 "sources": ["cold", "weibo21", "sms_spam", "paid_team", "real", "team", "chnci"], "reviewed": 120,
                 "metrics": {"rumor": {"weibo21": 0.8453}, "paid_posting": {"paid_team": 0.8138, "sms_spam": 0.8582},
                             "harassment": {"cold": 0.875, "real": 0.7423}}, "decision": "promoted: no risk worse"}]
    monkeypatch.setattr(detector.registry, "list_versions", lambda root: versions)
    r = runner.invoke(app, ["models", "list", str(tmp_path)], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    out = buf.getvalue() + r.output
    assert all(len(ln) <= 80 for ln in out.splitlines()) and "…" not in out, out
    words = out.split()
    for name in ("paid_posting", "harassment", "reviewed-heldout", "false/1000", "sms_spam", "paid_team", "default@2"):
        assert name in words or f"{name}," in words or f"{name}:" in words, (name, out)


def test_workers_of_a_fast_model_are_forked_from_a_parent_that_loaded_it_once(tiny_model, tmp_path, monkeypatch):
    from detector import parallel
    from detector.scoring import ModelSpec

    assert parallel.forkable(ModelSpec(str(tiny_model)))
    assert not parallel.forkable(ModelSpec(str(tiny_model), cascade=str(tmp_path / "cascade")))
    loads = []
    real = ModelSpec.load
    monkeypatch.setattr(ModelSpec, "load", lambda self: loads.append(1) or real(self))
    _jsonl(tmp_path / "p.jsonl", POSTS * 40)
    r = runner.invoke(app, ["score", str(tmp_path / "p.jsonl"), "-m", str(tiny_model), "-o", str(tmp_path / "w2.jsonl"),
                            "--workers", "2", "--batch-size", "16"])
    assert r.exit_code == 0, r.output
    assert loads == [1]  # the parent's; forked workers start with it (spawned ones load their own)
    r = runner.invoke(app, ["score", str(tmp_path / "p.jsonl"), "-m", str(tiny_model), "-o", str(tmp_path / "w1.jsonl"),
                            "--batch-size", "16"])
    assert (tmp_path / "w1.jsonl").read_bytes() == (tmp_path / "w2.jsonl").read_bytes()
