"""What a person reads from the CLI (issue 14): the score progress bar (percent of the input,
time left, posts/s), the summary (shares, posts with any flag, campaign clusters), every --help
and table at 80 columns with nothing cut, cheap command registration, forked workers."""
from __future__ import annotations

import csv

import pyarrow as pa
import pyarrow.parquet as pq

from tests.test_cli import POSTS, _jsonl, _read, app, runner


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
    from detector.batch.run import score_file

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

    from detector.batch.progress import Meter, ProgressBar

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

    code = ("import sys, training.cli.commands; heavy = [m for m in ('detector.batch.run', 'detector.model.core', 'sklearn', "
            "'scipy', 'torch', 'transformers', 'datasets', 'pyarrow', 'matplotlib', 'pandas') if m in sys.modules]; "
            "print(','.join(heavy))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "", f"imported by `import training.cli.commands`: {r.stdout}"


def test_retrain_and_models_tables_fit_80_columns_with_whole_risk_and_set_names(monkeypatch, tmp_path):
    import io

    from rich.console import Console

    import detector.registry
    import training.cli.retrain as cr

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
    from detector.batch import pool as parallel
    from detector.batch.process import ModelSpec

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
