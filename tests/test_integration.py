"""Integration: the real fast recipe on the real shared datasets (about 1-2 minutes)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED
from training.config import load_recipe
from training.fast import train_fast

pytestmark = pytest.mark.skipif(not (SHARED / "cold" / "train.jsonl").is_file(),
                                reason="../shared/datasets is not beside the checkout")


@pytest.fixture(scope="module")
def real_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "fast"
    train_fast(load_recipe("configs/fast.toml"), out, log=lambda m: None)
    return out


def test_fast_recipe_reaches_its_accuracy_on_real_test_sets(real_model):
    m = json.loads((real_model / "metrics.json").read_text())["test_by_source"]
    # regression guards a little under the measured 0.797 / 0.889 (README, results table)
    assert m["harassment"]["cold"]["macro_f1"] >= 0.785
    assert m["rumor"]["weibo21"]["macro_f1"] >= 0.88
    assert m["paid_posting"]["paid_team"]["roc_auc"] >= 0.8


def test_demo_posts_score_with_evidence_in_original_text(real_model):
    from detector.detector import Detector

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
