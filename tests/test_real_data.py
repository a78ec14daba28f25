"""The team's annotated sample of real comments (data/real/labels.tsv.gz) and the real-comment
sources built on it: the sample is what training/data/real_sample.py draws, splits are disjoint, the
texts join by id, annotated comments never come back as presumed negatives, and evaluation
slices and pools flags."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from tests.conftest import PROJECT, SHARED
from detector.risks import RISKS
from training.data.sources import load_source, read_labels_tsv
from training.data.splits import load_split
from training.evaluation.evaluate import pooled_flags, slice_metrics, Evaluation

LABELS = PROJECT / "data" / "real" / "labels.tsv.gz"
CORPUS = SHARED / "unlabeled_posts" / "chnci_comments.jsonl"
needs_corpus = pytest.mark.skipif(not CORPUS.is_file(), reason="../shared/datasets is not beside the checkout")


def rows():
    return read_labels_tsv(LABELS)


def test_the_labels_file_is_complete_and_its_eval_split_fixed():
    r = rows()
    assert len(r) >= 1500 and len({x["id"] for x in r}) == len(r)
    assert Counter(x["split"] for x in r)["eval"] == 1000
    for x in r:
        assert all(x[k] in (0, 1) for k in ("rumor", "paid_posting", "harassment")), x["id"]
        assert "text" not in x and "note" not in x  # third-party text (and notes quoting it) stays out
        assert (x["subtypes"] != []) == any(x[k] for k in ("rumor", "paid_posting", "harassment")), x["id"]
    assert all(x["annotators"] >= 2 for x in r if x["split"] == "eval")


@needs_corpus
def test_the_sample_is_what_the_script_draws_random_over_the_file_and_stratified():
    from training.data.real_sample import draw

    first = draw(CORPUS, 2000, 1000)
    assert [(x["id"], x["split"]) for x in first] == [(x["id"], x["split"]) for x in rows()[:2000]]
    second = draw(CORPUS, 3000, 0, seed=20261205, exclude=frozenset(x["id"] for x in first))
    assert [x["id"] for x in second] == [x["id"] for x in rows()[2000:5000]]
    corpus = Counter(json.loads(x)["platform"] for x in CORPUS.read_text(encoding="utf-8").splitlines())
    sample = Counter(x["platform"] for x in first)
    for p, n in corpus.items():  # proportional to the file, within one comment of rounding
        assert abs(sample[p] - 2000 * n / sum(corpus.values())) <= 1
    incidents = {x["id"].rsplit("-", 1)[0] for x in first}
    assert len(incidents) >= 50  # not the head of a file ordered by incident


@needs_corpus
def test_real_splits_are_disjoint_and_join_their_texts():
    parts = {s: load_source("real", s) for s in ("train", "dev", "eval")}
    ids = [set(d["id"]) for d in parts.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert sum(len(d) for d in parts.values()) == len(rows())
    text = {json.loads(x)["id"]: json.loads(x)["text"] for x in CORPUS.read_text(encoding="utf-8").splitlines()}
    ev = parts["eval"]
    assert all(text[i] == t for i, t in zip(ev["id"], ev["text"]))
    assert set(ev["platform"]) == {"dy", "wb", "bili", "xhs"}
    assert all(v in (0, 1) for v in ev["harassment"])
    # the trainers' splits carry each real comment's incident (data.group_cap), "" elsewhere
    split = load_split(["real", "team"], "train", list(RISKS))
    real = split.source == "real"
    assert split.groups()[real].tolist() == list(parts["train"]["incident"])
    assert (split.groups()[real] != "").all()
    assert (split.groups()[~real] == "").all()


@needs_corpus
def test_presumed_negatives_leave_out_the_annotated_comments_and_harassment():
    neg = load_source("chnci", "train", limit=3000, seed=3)
    again = load_source("chnci", "train", limit=3000, seed=3)
    assert len(neg) == 3000 and list(neg["id"]) == list(again["id"])
    assert not set(neg["id"]) & {x["id"] for x in rows()}
    assert set(neg["rumor"]) == {0} and set(neg["paid_posting"]) == {0} and set(neg["harassment"]) == {None}
    incidents = {i.rsplit("-", 1)[0] for i in neg["id"]}
    assert len(incidents) >= 50


def _ev(y, p, thr, risk):
    y, p = np.array(y), np.array(p, float)
    return Evaluation("x", risk, "m", [""] * len(y), y, p, thr, {})


def test_pooled_flags_count_every_risks_flags_on_the_same_posts():
    a = _ev([1, 0, 0, 0], [0.9, 0.8, 0.1, 0.1], 0.5, "rumor")       # 2 flags, 1 right
    b = _ev([0, 0, 1, 0], [0.1, 0.9, 0.9, 0.1], 0.5, "harassment")  # 2 flags, 1 right
    m = pooled_flags([a, b], n_boot=50)
    assert (m["flags"], m["correct_flags"], m["precision"]) == (4, 2, 0.5)
    assert m["false_flags_per_1000"] == 500.0 and m["flagged_posts"] == 0.75
    assert m["ci"]["precision"][0] <= 0.5 <= m["ci"]["precision"][1]


def test_slice_metrics_split_rows_by_column_value():
    out = slice_metrics(np.array([1, 0, 1, 0, 0]), np.array([0.9, 0.9, 0.1, 0.1, 0.1]), 0.5,
                        ["dy", "dy", "wb", "wb", "wb"])
    assert list(out) == ["wb", "dy"]  # largest slice first
    assert out["dy"]["precision"] == 0.5 and out["dy"]["flags"] == 2 and out["wb"]["recall"] == 0.0
    assert out["wb"]["false_flags_per_1000"] == 0.0 and out["dy"]["false_flags_per_1000"] == 500.0


def test_annotation_rounds_choose_each_comment_once_and_never_a_labeled_text(tmp_path):
    """training/data/real_select.py: top and band rows per risk, then random ones, each once; labeled
    ids and texts equal to a labeled comment's never come back."""
    import numpy as np

    from training.data.real_select import read_pool, select

    corpus = tmp_path / "c.jsonl"
    rows = [{"id": f"c{i}", "platform": "dy", "text": f"评论{i % 50}"} for i in range(100)]  # 50 texts, twice each
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    pool = read_pool(corpus, 1000, 1, exclude_ids={"c0"}, exclude_texts={"评论1"})
    texts = [r["text"] for r in pool]
    assert len(texts) == len(set(texts)) == 49 and "评论1" not in texts and "评论0" in texts
    assert all(r["id"] != "c0" for r in pool)
    labels = ["rumor", "harassment"]
    scores = np.array([[i / 48, 1 - i / 48] for i in range(49)])
    chosen = select(scores, labels, {"rumor": 0.5, "harassment": 0.5}, {"harassment": 5, "rumor": 3},
                    {"harassment": 4}, 6, seed=1)
    idx = [i for i, _ in chosen]
    assert len(idx) == len(set(idx)) == 18
    how = dict(chosen)
    assert {i for i, h in how.items() if h == "top-harassment"} == {0, 1, 2, 3, 4}
    assert {i for i, h in how.items() if h == "top-rumor"} == {48, 47, 46}
    assert all(0.25 <= scores[i, 1] < 0.5 for i, h in how.items() if h == "band-harassment")
    assert sum(h == "random" for h in how.values()) == 6


def test_merging_a_round_checks_every_line_before_writing(tmp_path):
    """real_select merge: rows join the table with split, annotators and selected_by; a bad line
    (a subtype of a risk labeled 0, an id not chosen) stops it with file:line and writes nothing."""
    from training.data.real_select import merge

    table = tmp_path / "labels.tsv"
    table.write_text("id\tsplit\tplatform\trumor\tpaid_posting\tharassment\tannotators\tsubtypes\tselected_by\n"
                     "old\teval\tdy\t0\t0\t0\t2\t\t\n", encoding="utf-8")
    ids = tmp_path / "ids.jsonl"
    ids.write_text('{"id": "a", "platform": "wb", "selected_by": "top-harassment"}\n'
                   '{"id": "b", "platform": "dy", "selected_by": "random"}\n', encoding="utf-8")
    good = tmp_path / "l0.jsonl"
    good.write_text('{"id": "a", "rumor": 0, "paid_posting": 0, "harassment": 1, "subtypes": ["insult", "hate"]}\n'
                    '{"id": "b", "rumor": 0, "paid_posting": 0, "harassment": 0, "subtypes": []}\n', encoding="utf-8")
    bad = tmp_path / "l1.jsonl"
    bad.write_text('{"id": "b", "rumor": 0, "paid_posting": 0, "harassment": 0, "subtypes": ["insult"]}\n',
                   encoding="utf-8")
    before = table.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"l1.jsonl:1: a subtype of harassment"):
        merge(ids, [bad], "train", table)
    assert table.read_text(encoding="utf-8") == before
    assert merge(ids, [good], "train", table) == 2
    rows = {r["id"]: r for r in read_labels_tsv(table)}
    assert rows["a"]["split"] == "train" and rows["a"]["annotators"] == 1 and rows["a"]["harassment"] == 1
    assert rows["a"]["subtypes"] == ["insult", "hate"] and rows["a"]["selected_by"] == "top-harassment"
    with pytest.raises(ValueError, match="labeled twice"):
        merge(ids, [good], "train", table)


def test_a_compressed_labels_table_reads_and_merges_like_a_plain_one(tmp_path):
    from training.data.real_select import merge
    from training.data.sources import read_labels, write_text

    head = "id\tsplit\tplatform\trumor\tpaid_posting\tharassment\tannotators\tsubtypes\tselected_by\n"
    plain, packed = tmp_path / "labels.tsv", tmp_path / "labels.tsv.gz"
    for table in (plain, packed):
        write_text(table, head + "old\teval\tdy\t0\t0\t1\t2\tinsult\t\n")
    assert packed.read_bytes()[:2] == b"\x1f\x8b"                  # really gzip
    ids = tmp_path / "ids.jsonl"
    ids.write_text('{"id": "a", "platform": "wb", "selected_by": "random"}\n', encoding="utf-8")
    labels = tmp_path / "l0.jsonl"
    labels.write_text('{"id": "a", "rumor": 1, "paid_posting": 0, "harassment": 0, "subtypes": ["health"]}\n',
                      encoding="utf-8")
    before = packed.read_bytes()
    write_text(packed, head + "old\teval\tdy\t0\t0\t1\t2\tinsult\t\n")
    assert packed.read_bytes() == before                           # no timestamp: same text, same bytes
    assert merge(ids, [labels], "train", plain) == merge(ids, [labels], "train", packed) == 1
    assert read_labels(packed) == read_labels(plain)
    assert [r["id"] for r in read_labels(packed)] == ["old", "a"] and read_labels(packed)[1]["rumor"] == 1
