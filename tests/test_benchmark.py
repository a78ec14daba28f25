"""`jingwang benchmark`: config validation, duplicates removed by exact text, the markdown table
with published anchors, several models compared, the CLI command."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from tests.conftest import PROJECT
from training.evaluation.benchmark import load_config, overlap_mask, run_benchmark
from training.cli import app as _full_app

app = _full_app()

CONFIG = """
models = []
bootstrap = 30
report = {report}

[[sets]]
name = "COLD test"
source = "cold"
split = "test"
risk = "harassment"
metrics = ["macro_f1", "accuracy"]
anchors = [{{ system = "RoBERTa", metric = "macro_f1", value = 0.8256 }},
           {{ system = "COLDetector", metric = "accuracy", value = 0.81 }}]

[[sets]]
name = "Weibo21 test without train duplicates"
source = "weibo21"
split = "test"
risk = "rumor"
exclude_overlap_with = "train"
metrics = ["macro_f1"]
"""


@pytest.fixture()
def bench_root(tiny_root, tmp_path):
    """The tiny datasets, with two more Weibo21 test texts and one that is a train text."""
    root = tmp_path / "data"
    shutil.copytree(tiny_root, root)
    with open(root / "weibo21" / "test.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "new-1", "text": " 震惊！吃西瓜能治感冒，速转 ", "label": 1}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"id": "new-2", "text": "【新华社】市政府召开新闻发布会", "label": 0}, ensure_ascii=False) + "\n")
        f.write(json.dumps({"id": "dup", "text": "  这家银行要倒闭了，赶紧取钱\n", "label": 1}, ensure_ascii=False) + "\n")
    return root


def _config(tmp_path, report: bool = False):
    path = tmp_path / "bench.toml"
    path.write_text(CONFIG.format(report=str(report).lower()), encoding="utf-8")
    return path


def test_overlap_is_exact_text_after_strip():
    assert overlap_mask(["a", " b ", "c", "bb"], ["b\n", "x"]).tolist() == [True, False, True, True]


def test_project_config_is_valid():
    cfg = load_config(PROJECT / "configs" / "benchmarks.toml")
    names = [s.name for s in cfg["sets"]]
    assert "Weibo21 test without train duplicates" in names and cfg["models"] == ["models/default"]
    anchors = {a["system"]: a["value"] for s in cfg["sets"] for a in s.anchors}
    assert anchors["ToxiTrace"] == 0.8368 and anchors["M3FEND"] == 0.9165 and anchors["COLDetector (BERT)"] == 0.81


def test_bad_config_is_one_clear_error(tmp_path):
    bad = tmp_path / "b.toml"
    bad.write_text('[[sets]]\nname = "x"\nsource = "cold"\nsplit = "test"\nrisk = "harassment"\nmetrics = ["auc"]\n')
    with pytest.raises(ValueError, match="unknown metrics"):
        load_config(bad)


def test_benchmark_table_with_anchors_and_two_models(tiny_model, bench_root, tmp_path):
    copy = shutil.copytree(tiny_model, tmp_path / "copy")
    with pytest.raises(ValueError, match="listed twice"):
        run_benchmark(_config(tmp_path), [str(tiny_model), str(tiny_model)], root=bench_root, log=lambda m: None)
    table, results = run_benchmark(_config(tmp_path, report=True), [str(tiny_model), str(copy)],
                                   tmp_path / "out", root=bench_root, log=lambda m: None)
    first = results[str(tiny_model)]
    weibo = first["Weibo21 test without train duplicates"]
    assert weibo["n"] == 26 and weibo["dropped_duplicates"] == 1  # 24 tiny rows + 2 kept; the padded duplicate goes
    assert first["COLD test"]["n"] == 24
    assert "| COLD test (harassment) | 24 (12 risky) | macro-F1 |" in table
    assert "RoBERTa 0.8256" in table and "COLDetector 0.81" in table
    assert "1 duplicates of train removed" in table
    assert "(Δ +0.0000, p 1)" in table  # the second model is a copy of the first: no difference
    assert (tmp_path / "out" / "benchmark.md").read_text(encoding="utf-8") == table
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert saved[str(tiny_model)]["COLD test"]["macro_f1"] == first["COLD test"]["macro_f1"]
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 4 and "RoBERTa 0.8256" in page


def test_cli_benchmark(tiny_model, bench_root, tmp_path, monkeypatch):
    monkeypatch.setenv("JINGWANG_DATA", str(bench_root))
    r = CliRunner().invoke(app, ["benchmark", str(_config(tmp_path)), "--model", str(tiny_model),
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "| test set | n | metric |" in r.output and not (tmp_path / "o" / "report.html").exists()
    r = CliRunner().invoke(app, ["benchmark", str(_config(tmp_path)), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "no models" in r.output
