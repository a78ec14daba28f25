"""Active-learning samples for the review queue: uncertain posts sit nearest each risk's threshold
and every risk gets its turn, diverse ones spread over distinct wordings, random ones are a fixed
uniform draw, and `review import --sample` queues exactly N of them."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import detector.cli.review  # noqa: F401
from detector.cli._app import app
from detector.review.db import ReviewDB
from detector.review.sampling import select, thresholds_from_flags


def rec(i, rumor, harass, text=None):
    flags = [r for r, p, t in (("rumor", rumor, 0.6), ("harassment", harass, 0.3)) if p >= t]
    return {"id": f"p{i}", "text": text or f"帖子{i}", "scores": {"rumor": rumor, "harassment": harass},
            "flags": flags, "priority": 0.0, "evidence": {}}


RECORDS = ([rec(i, 0.01 * i, 0.01) for i in range(100)]          # rumor from 0 to 0.99, threshold 0.6
           + [rec(100 + i, 0.0, 0.3 + 0.001 * i) for i in range(5)])  # harassment just over 0.3


def test_thresholds_are_read_off_the_flags():
    t = thresholds_from_flags(RECORDS)
    assert t["rumor"] == pytest.approx(0.6) and t["harassment"] == pytest.approx(0.3)
    assert thresholds_from_flags([rec(0, 0.1, 0.1)]) == {"rumor": 0.5, "harassment": 0.5}


def test_uncertain_takes_the_posts_nearest_each_threshold_in_turn():
    got = select(RECORDS, "uncertain", 6)
    assert len(got) == 6 and len(set(got)) == 6
    assert {RECORDS[i]["id"] for i in got} >= {"p60", "p100"}  # the closest of each risk come first
    assert got[0] in (60, 100) and got[1] in (60, 100)
    assert all(abs(RECORDS[i]["scores"]["rumor"] - 0.6) <= 0.02 for i in got if i < 100)


def test_diverse_spreads_over_wordings_and_random_is_a_fixed_draw():
    def one(i, p, text):  # one risk only, threshold 0.5
        return {"id": f"q{i}", "text": text, "scores": {"rumor": p}, "flags": ["rumor"] if p >= 0.5 else []}
    same = [one(i, 0.5 + 0.001 * i, "一模一样的复制粘贴文案，大家快看") for i in range(30)]
    other = [one(100 + i, 0.45 + 0.001 * i, t) for i, t in
             enumerate(["今天下雨了出门带伞", "这家店的面条真好吃", "球队又输了真气人", "明天考试加油", "周末去爬山吧"])]
    pool = same + other
    uncertain = select(pool, "uncertain", 5)
    diverse = select(pool, "diverse", 5, seed=1)
    texts = lambda idx: {pool[i]["text"] for i in idx}  # noqa: E731
    assert len(texts(uncertain)) == 1          # the copy-paste run crowds out everything else
    assert len(texts(diverse)) >= 4 and len(diverse) == 5
    assert select(pool, "random", 7, seed=3) == select(pool, "random", 7, seed=3) != select(pool, "random", 7, seed=4)
    with pytest.raises(ValueError, match="choose one of"):
        select(pool, "clever", 3)


def test_review_import_sample_queues_n_posts(tmp_path):
    scored = tmp_path / "scored.jsonl"
    scored.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS), encoding="utf-8")
    db = tmp_path / "q.sqlite"
    r = CliRunner().invoke(app, ["review", "import", str(scored), "--db", str(db), "--sample", "uncertain", "--n", "10"])
    assert r.exit_code == 0, r.output
    assert "10 of 105" in r.output
    items = list(ReviewDB(db, create=False).iter_items(None))
    assert len(items) == 10 and {"p60", "p100"} <= {it["id"] for it in items}
    r = CliRunner().invoke(app, ["review", "import", str(scored), "--db", str(db), "--sample", "nope"])
    assert r.exit_code == 2 and "choose one of" in r.output
