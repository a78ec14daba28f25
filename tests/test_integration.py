"""Integration: the real fast recipe on the real shared datasets (about 1-2 minutes)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED
from training.recipe import load_recipe
from training.trainers.fast import train_fast

pytestmark = pytest.mark.skipif(not (SHARED / "cold" / "train.jsonl").is_file(),
                                reason="../shared/datasets is not beside the checkout")


@pytest.fixture(scope="module")
def real_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "fast"
    train_fast(load_recipe("configs/fast.toml"), out, log=lambda m: None)
    return out


@pytest.fixture(scope="module")
def real_detector(real_model):
    from detector.model.core import Detector

    return Detector.from_pretrained(real_model)


def test_fast_recipe_reaches_its_accuracy_on_real_test_sets(real_model):
    m = json.loads((real_model / "metrics.json").read_text())["test_by_source"]
    # regression guards a little under the measured values (README, results table). The thresholds
    # are set for real comments (precision / review budget on the team's real dev rows), which costs
    # the 50%-positive benchmarks about 2 (COLD) and 4 (Weibo21) points of macro-F1 against the
    # benchmark-tuned model of version 2 (0.806 / 0.895): docs/evaluation.md, "Real comments".
    # Version 6 (24,000 real training comments, rumor threshold held by the real-comment budget):
    # Weibo21 macro-F1 0.839, ROC-AUC 0.915 (version 4: 0.850 / 0.92)
    assert m["harassment"]["cold"]["macro_f1"] >= 0.775
    assert m["harassment"]["cold"]["roc_auc"] >= 0.86
    assert m["rumor"]["weibo21"]["macro_f1"] >= 0.83
    assert m["rumor"]["weibo21"]["roc_auc"] >= 0.905
    assert m["paid_posting"]["paid_team"]["roc_auc"] >= 0.85


def test_real_comment_flags_are_mostly_right_and_rare(real_model):
    """The team's real dev comments (where the thresholds were set): harassment flags precise
    enough to review, rumor and paid-posting false flags within the recipe's review budget."""
    dev = json.loads((real_model / "metrics.json").read_text())["dev_by_source"]
    h = dev["harassment"]["real"]
    assert h["precision"] >= 0.6 and h["recall"] >= 0.3
    assert dev["rumor"]["real"]["false_flags_per_1000"] <= 2.5
    assert dev["paid_posting"]["real"]["false_flags_per_1000"] <= 3.5


@pytest.mark.parametrize("text", ["@偏未晚", "6996", "，", "90/7=12.857", "武汉欢迎您", "@甲 @乙 [捂脸][捂脸]",
                                  "哈哈哈哈哈"])
def test_posts_without_risky_content_get_no_flag(real_detector, text):
    r = real_detector.score([text])[0]
    assert r["flags"] == [], r["scores"]


def test_demo_posts_score_with_evidence_in_original_text(real_model):
    from detector.model.core import Detector

    det = Detector.from_pretrained(real_model)
    posts = [json.loads(line) for line in open("data/samples/posts.jsonl", encoding="utf-8")]
    results = det.score([p["text"] for p in posts])
    assert any(r["flags"] for r in results) and not all(r["flags"] for r in results)
    for p, r in zip(posts, results):
        for items in r["evidence"].values():
            assert items, "every flag carries evidence"
            for it in items:
                for s, e in it["spans"]:
                    assert p["text"][s:e].strip()
