"""HTML report: self-contained (plots as base64 PNG, no JavaScript) and every data string escaped."""
from __future__ import annotations

import base64
import re

import numpy as np

from training.evaluation.evaluate import Evaluation, evaluate_file, full_metrics
from training.evaluation.report import highlight, markdown_html, render, write_report

EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def _evaluation(name: str = "set <b>1</b>") -> Evaluation:
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(30, int), np.zeros(30, int)]
    p = np.clip(0.3 * y + rng.random(60) * 0.7, 0, 1)
    p[30] = 0.99  # a confident false positive with a hostile text and evidence
    texts = [f"post {i}" for i in range(60)]
    texts[30] = EVIL
    m = full_metrics(y, p, 0.5, p_uncal=np.sqrt(p), n_boot=50)
    m["robustness"] = {"clean": {"n": 60, "recall": 0.8, "precision": 0.7, "macro_f1": 0.75},
                       "emoji": {"n": 60, "recall": 0.6, "precision": 0.7, "macro_f1": 0.65, "recall_change": -0.2}}
    examples = {"false_positives": [{"index": 30, "text": EVIL, "p": 0.99, "label": 0,
                                     "evidence": [{"term": "<script>", "weight": 0.5, "spans": [[0, 8]]}]}],
                "false_negatives": []}
    return Evaluation(name, "harass<ment>", "model \"A\"", texts, y, p, 0.5, m, np.sqrt(p), examples)


def _pngs(page: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_escapes_every_data_string():
    page = render([_evaluation()], title="t <i>x</i>", meta={"data": "a<b>.jsonl"})
    assert "<script" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>1</b>" not in page and "harass<ment>" not in page and "a<b>.jsonl" not in page
    assert "<mark>&lt;script&gt;</mark>" in page  # the evidence span is marked, escaped


def test_report_is_self_contained_with_its_plots(tmp_path):
    path = write_report(tmp_path / "r.html", [_evaluation("one"), _evaluation("two")], title="t")
    page = path.read_text(encoding="utf-8")
    pngs = _pngs(page)
    assert len(pngs) == 2 and all(b.startswith(b"\x89PNG\r\n\x1a\n") and len(b) > 5000 for b in pngs)
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing fetched from elsewhere
    for section in ("Confusion matrix", "Thresholds", "Evasive rewrites", "Worst false positives",
                    "95% bootstrap CI", "uncalibrated"):
        assert section in page


def test_highlight_marks_spans_and_cuts_long_text():
    assert highlight("ab<c>d", [{"spans": [[2, 5]]}]) == "ab<mark>&lt;c&gt;</mark>d"
    assert highlight("abcdef", [{"spans": [[1, 3]]}, {"spans": [[2, 4]]}]) == "a<mark>bc</mark><mark>d</mark>ef"
    assert highlight("x" * 10, [], limit=4) == "xxxx…"


def test_markdown_table_becomes_an_escaped_table():
    html = markdown_html("| a | b |\n|---|---|\n| <x> | 1 |\n\nnote & more\n")
    assert "<th>a</th>" in html and "<td>&lt;x&gt;</td>" in html and "note &amp; more" in html


def test_evaluate_file_report_shows_the_model_evidence(tiny_model, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "你就是个脑残，滚出去<b>", "label": 0}\n{"text": "今天天气不错", "label": 1}\n'
                    '{"text": "谢谢大家的帮助", "label": 0}\n{"text": "你全家都是废物", "label": 1}\n', encoding="utf-8")
    evaluate_file(tiny_model, data, "harassment", tmp_path / "ev", n_boot=20)
    page = (tmp_path / "ev" / "report.html").read_text(encoding="utf-8")
    # evidence is marked word by word (the tiny model has no user dictionary: jieba cuts 个脑|残)
    assert "<mark>滚出去</mark>&lt;b&gt;</td>" in page and re.search(r"滚出去 \d+% \(word/chars\)", page)
    assert len(_pngs(page)) == 1
