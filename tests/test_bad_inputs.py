"""Bad input records (issue 13, rows 6-11 and 23): each one reported once with its line and
reason or scored, the good ones all scored, exit 0, no traceback, strict JSON out. The corpus
(tests/bad_inputs.py) runs through `jingwang score` as JSONL, CSV and Parquet."""
from __future__ import annotations

import csv
import json
import traceback

import pytest
from typer.testing import CliRunner

from detector.batch.io import BadRecord, Post, iter_posts, json_line, jsonl_to, keyed_line, sort_spool
from tests.bad_inputs import (BOM, PARQUET_EXTRA, ZERO_WIDTH, check_run, check_table_run, strict_lines,
                              write_corpus)
from training.cli import app as _full_app

app = _full_app()

runner = CliRunner()


def run(args: list[str]) -> tuple[int, str]:
    r = runner.invoke(app, args)
    tb = "" if r.exception is None or isinstance(r.exception, SystemExit) else "".join(
        traceback.format_exception(r.exception))
    return r.exit_code, r.output + tb


def items(tmp_path, name: str, data: bytes) -> list:
    (tmp_path / name).write_bytes(data)
    return list(iter_posts(str(tmp_path / name)))


def bad(items: list) -> dict[int, str]:
    return {b.line: b.reason for b in items if isinstance(b, BadRecord)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("name", ["bad.jsonl", "bad.csv", "text_first.csv", "bad.parquet"])
def test_corpus_every_bad_record_reported_once_every_good_one_scored(corpus, tiny_model, name):
    (cf,) = [c for c in corpus if c.path.name == name]
    out = cf.path.parent / f"{name}.out.jsonl"
    code, output = run(["score", str(cf.path), "--model", str(tiny_model), "--out", str(out), "--quiet"])
    t = check_run(cf, out, code, output)
    assert (t.tracebacks, t.good_lost, t.bad_unreported, t.problems) == (0, 0, 0, []), t.problems
    assert len(strict_lines(out)) == len(cf.good)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_corpus_scores_into_csv_and_parquet_output(corpus, tiny_model, ext):
    out = corpus[0].path.parent / f"jsonl-in.{ext}"
    code, output = run(["score", str(corpus[0].path), "--model", str(tiny_model), "--out", str(out), "--quiet"])
    t = check_table_run(corpus[0], out, code, output)
    assert (t.tracebacks, t.good_lost, t.problems) == (0, 0, []), t.problems
    if ext == "parquet":
        import pyarrow.parquet as pq
        assert {"author", "n", "a", "b", "m"} <= set(pq.read_table(out).column_names)  # fields the first record lacks


def test_strict_stops_on_the_corpus_with_one_sentence(corpus, tiny_model):
    code, output = run(["score", str(corpus[0].path), "--model", str(tiny_model),
                        "--out", str(corpus[0].path.parent / "strict.jsonl"), "--strict"])
    assert code == 2 and "line 3" in output and "Traceback" not in output


def test_bom_before_the_first_jsonl_record_is_not_part_of_it(tmp_path):
    got = items(tmp_path, "b.jsonl", BOM + b'{"id": "a", "text": "\xe5\xa5\xbd"}\n{"id": "b", "text": "x"}\n')
    assert [(p.line, p.record["id"]) for p in got] == [(1, "a"), (2, "b")]


def test_bom_before_jsonl_on_stdin(tiny_model, tmp_path):
    out = tmp_path / "o.jsonl"
    r = runner.invoke(app, ["score", "-", "--model", str(tiny_model), "--out", str(out)],
                      input=BOM + '{"id": "s1", "text": "好评返现"}\n'.encode())
    assert r.exit_code == 0 and [x["id"] for x in strict_lines(out)] == ["s1"]


def test_bom_before_a_csv_header_whose_first_column_is_the_text(tmp_path):
    got = items(tmp_path, "b.csv", BOM + "text,id\n好的,a\n谢谢,b\n".encode())
    assert [(p.line, p.record) for p in got] == [(2, {"text": "好的", "id": "a"}), (3, {"text": "谢谢", "id": "b"})]


def test_a_line_nested_100000_levels_is_one_bad_record(tmp_path):
    deep = b'{"id": "d", "text": "ok", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    got = items(tmp_path, "d.jsonl", deep + b'\n{"id": "e", "text": "ok"}\n')
    assert "nested too deeply" in bad(got)[1] and got[1].record["id"] == "e"


def test_nesting_deeper_than_max_depth_is_a_bad_record_at_any_stack_depth(tmp_path):
    from detector.batch.records import MAX_DEPTH

    def line(rid, d):
        return b'{"id": "%s", "text": "ok", "x": ' % rid + b'[{"a": ' * (d // 2) + b"1" + b"}]" * (d // 2) + b"}"
    got = items(tmp_path, "d.jsonl", line(b"deep", MAX_DEPTH + 2) + b"\n" + line(b"ok", MAX_DEPTH - 2) + b"\n")
    assert bad(got) == {1: f"nested too deeply (over {MAX_DEPTH} levels)"} and got[1].record["id"] == "ok"


def test_huge_integers_lone_surrogates_and_bad_utf8_outside_text_are_bad_records(tmp_path):
    lines = [b'{"id": "n", "text": "ok", "n": ' + b"9" * 5000 + b"}", b'{"id": "s", "text": "ok", "a": "\\ud800"}',
             b'{"id": "k", "text": "ok", "\\udfff": 1}', b'{"id": "ok", "text": "ok", "e": "\\ud83d\\ude00"}']
    got = items(tmp_path, "n.jsonl", b"\n".join(lines) + b"\n")
    reasons = bad(got)
    assert "4300 digits" in reasons[1] and "'a' holds invalid UTF-8" in reasons[2] and "invalid UTF-8" in reasons[3]
    assert got[3].record["e"] == "\U0001f600"
    got = items(tmp_path, "n.csv", b'id,text,author\nc1,ok,"\xc3\x28"\nc2,ok,fine\n')
    assert "'author' holds invalid UTF-8" in bad(got)[2] and got[1].record["id"] == "c2"


@pytest.fixture
def csv_default_limit():
    """Python's own CSV field limit (a process-wide setting other tests raise)."""
    old = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(old)


def test_csv_fields_over_131072_characters_are_read(tmp_path, csv_default_limit):
    got = items(tmp_path, "l.csv", ("id,text\nl1," + "好" * 140_000 + "\nl2,ok\n").encode())
    assert [(p.line, p.record["id"], len(p.text)) for p in got] == [(2, "l1", 140_000), (3, "l2", 2)]


def test_a_csv_row_the_csv_module_refuses_is_one_bad_record(tmp_path, monkeypatch):
    monkeypatch.setattr("detector.batch.io.MAX_CSV_FIELD", 100)
    got = items(tmp_path, "r.csv", ("id,text\nr1," + "x" * 200 + "\nr2,ok\n").encode())
    assert "field larger than field limit" in bad(got)[2] and (got[1].line, got[1].record["id"]) == (3, "r2")


def test_parquet_columns_of_every_arrow_type_come_out_json_safe(corpus):
    (pf,) = [c for c in corpus if c.path.suffix == ".parquet"]
    p1 = next(p for p in iter_posts(str(pf.path)) if isinstance(p, Post) and p.record["id"] == "p1")
    assert {k: p1.record[k] for k in PARQUET_EXTRA} == {k: v for k, (_, v) in PARQUET_EXTRA.items()}
    assert json.loads(json_line(p1.record)) == p1.record


def test_non_finite_numbers_become_null(tmp_path):
    got = items(tmp_path, "f.jsonl", b'{"id": "f", "text": "ok", "a": NaN, "b": [1e999, -Infinity], "c": 1.5}\n')
    assert got[0].record == {"id": "f", "text": "ok", "a": None, "b": [None, None], "c": 1.5}
    assert json_line({"s": float("nan"), "t": {"u": float("-inf")}}) == '{"s": null, "t": {"u": null}}\n'


def test_text_of_only_zero_width_or_nul_characters_is_empty(tmp_path):
    rows = [{"id": "z", "text": ZERO_WIDTH}, {"id": "n", "text": "\x00\x00"}, {"id": "m", "text": "\u200b \x00\u00ad"},
            {"id": "ok", "text": "好\u200b"}]
    got = items(tmp_path, "z.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
    assert set(bad(got)) == {1, 2, 3} and all("empty text" in r for r in bad(got).values())
    assert got[3].text == "好\u200b"


def test_parquet_output_keeps_every_field_of_every_record_whatever_its_type(tmp_path):
    recs = [{"id": "a", "n": 1}, {"id": "b", "n": "x", "author": "u"}, {"id": "c", "n": 2.5, "big": 10**30},
            {"id": "d", "m": {"k": [1]}, "ok": True, "f": 1}, {"id": "e", "f": 0.5, "ok": False}]
    spool = tmp_path / "s.jsonl"
    spool.write_text("".join(json_line(r) for r in recs), encoding="utf-8")
    jsonl_to(str(spool), str(tmp_path / "o.parquet"), chunk=2)
    keyed = tmp_path / "k.spool"
    keyed.write_text("".join(keyed_line(float(i), json_line(r)) for i, r in enumerate(recs)), encoding="utf-8")
    sort_spool(str(keyed), str(tmp_path / "k.parquet"), descending=False, chunk=2)
    import pyarrow.parquet as pq
    for name in ("o.parquet", "k.parquet"):
        rows = pq.read_table(tmp_path / name).to_pylist()
        assert [{k: v for k, v in r.items() if v is not None} for r in rows] == [
            {"id": "a", "n": "1"}, {"id": "b", "n": "x", "author": "u"}, {"id": "c", "n": "2.5", "big": str(10**30)},
            {"id": "d", "m": '{"k": [1]}', "ok": True, "f": 1.0}, {"id": "e", "f": 0.5, "ok": False}]


def test_csv_output_says_which_fields_it_leaves_out(tmp_path, capsys):
    from detector.batch.writers import RecordWriter

    w = RecordWriter(str(tmp_path / "o.csv"))
    w.write([{"id": "a", "text": "x"}])
    w.write([{"id": "b", "text": "y", "author": "u"}, {"id": "c", "text": "z", "author": "v"}])
    w.close()
    err = capsys.readouterr().err
    assert "'author'" in err and err.count("'author'") == 1 and "o.csv" in err


def test_a_parquet_text_column_of_bytes_is_read_as_utf8_text(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a", "b"], "text": pa.array(["好的".encode(), b"\xff bad"], pa.binary())}),
                   tmp_path / "b.parquet")
    got = list(iter_posts(str(tmp_path / "b.parquet")))
    assert got[0].text == "好的" and got[0].record["text"] == "好的" and "invalid UTF-8" in bad(got)[2]


def test_stderr_tells_the_first_problems_and_the_errors_file_holds_them_all(tiny_model, tmp_path):
    from detector.batch.guards import MAX_TOLD

    n_bad = MAX_TOLD + 7
    lines = [json.dumps({"id": i, "text": "明天记得带伞"}) for i in range(5)] + ["{not json"] * n_bad
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(app, ["score", str(tmp_path / "in.jsonl"), "--model", str(tiny_model), "--out", str(out)])
    assert r.exit_code == 0
    told = [ln for ln in r.output.splitlines() if ", line " in ln and "in.jsonl" in ln]
    assert len(told) == MAX_TOLD and f"... and {n_bad - MAX_TOLD} more problems" in r.output
    errors = [json.loads(x) for x in (tmp_path / "out.errors.jsonl").read_text().splitlines()]
    assert sorted(e["line"] for e in errors) == list(range(6, 6 + n_bad)) and len(strict_lines(out)) == 5


def test_a_scored_record_that_cannot_be_written_is_a_bad_record_not_a_dead_run():
    from detector.batch.guards import encode_records

    posts = [Post(1, {"id": "a"}, "好"), Post(2, {"id": "b"}, "坏"), Post(3, {"id": 7}, "x")]
    records = [{"id": "a", "x": 1}, {"id": "b", "x": "\ud800"}, {"id": 7, "x": {1, 2}}]
    lines, bad = encode_records(posts, records, "id")
    assert lines[0] == json_line(records[0]) and lines[1] is None and lines[2] is None
    assert [(b.line, b.id) for b in bad] == [(2, "b"), (3, "7")] and "cannot be written as JSON" in bad[0].reason


def test_a_score_of_zero_is_never_a_flag_even_under_a_zero_threshold():
    from detector.model.flagging import flags_for

    assert flags_for({"rumor": 0.0, "harassment": 0.5}, {"rumor": 0.0, "harassment": 0.4}) == ["harassment"]
    assert flags_for({"rumor": 1e-9}, {"rumor": 0.0}) == ["rumor"]


def test_a_folder_read_by_any_command_says_it_is_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        list(iter_posts(str(tmp_path)))
    r = CliRunner().invoke(app, ["campaigns", str(tmp_path), "--out", str(tmp_path / "c.jsonl")])
    assert r.exit_code != 0 and "it is a folder" in r.output and "Traceback" not in r.output
