"""Tests for training.datagen.paid (synthetic paid_posting set) and the committed data files."""

import json
from pathlib import Path

import pytest

from training.datagen import paid as paid_data

DATA = Path(__file__).resolve().parents[1] / "data" / "paid_posting"
POS_CATEGORIES = {"recruit", "engagement_selling", "deletion", "extortion", "contact_lure"}


def _read(name):
    with (DATA / name).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def small():
    return paid_data.generate(seed=123, per_template=6)


def test_deterministic_same_seed(small):
    assert paid_data.generate(seed=123, per_template=6) == small
    assert paid_data.generate(seed=124, per_template=6) != small


def test_rows_shape(small):
    for split in ("train", "dev"):
        for row in small[split]:
            assert set(row) == {"id", "text", "label", "category", "template_id"}
            assert row["label"] in (0, 1)
            assert row["label"] == (0 if row["category"].startswith("neg_") else 1)
            assert row["text"].strip()
    ids = [r["id"] for s in small.values() for r in s]
    assert len(ids) == len(set(ids))


def test_split_by_template(small):
    train_t = {r["template_id"] for r in small["train"]}
    dev_t = {r["template_id"] for r in small["dev"]}
    assert train_t and dev_t and not train_t & dev_t
    splits = paid_data.template_splits()
    assert {t for t, s in splits.items() if s == "dev"} == dev_t


def test_both_labels_and_all_intents(small):
    for split in ("train", "dev"):
        rows = small[split]
        labels = {r["label"] for r in rows}
        assert labels == {0, 1}
        assert POS_CATEGORIES <= {r["category"] for r in rows}
        pos = sum(r["label"] for r in rows) / len(rows)
        assert 0.4 <= pos <= 0.6


def test_no_duplicate_texts(small):
    texts = [r["text"] for s in small.values() for r in s]
    assert len(texts) == len(set(texts))


def test_expand_fills_everything():
    import random

    rng = random.Random(0)
    for _, _, template in paid_data.TEMPLATES:
        text = paid_data.expand(template, rng)
        assert "{" not in text and "[" not in text and "|" not in text, text


def test_committed_files_match_generator():
    fresh = paid_data.generate()
    for split in ("train", "dev"):
        assert _read(f"{split}.jsonl") == fresh[split], f"{split}.jsonl is stale: rerun training.datagen.paid"
        assert (DATA / f"{split}.jsonl").stat().st_size < 2_000_000


def test_committed_split_disjoint():
    train, dev = _read("train.jsonl"), _read("dev.jsonl")
    assert 5000 <= len(train) <= 7000 and 1200 <= len(dev) <= 1800
    assert not {r["template_id"] for r in train} & {r["template_id"] for r in dev}


def test_eval_set_independent():
    rows = _read("eval.jsonl")
    assert 250 <= len(rows) <= 350
    for row in rows:
        assert set(row) == {"id", "text", "label", "category"}
        assert row["label"] == (0 if row["category"].startswith("neg_") else 1)
    assert len({r["id"] for r in rows}) == len(rows)
    texts = {r["text"] for r in rows}
    assert len(texts) == len(rows)
    assert POS_CATEGORIES <= {r["category"] for r in rows}
    pos = sum(r["label"] for r in rows) / len(rows)
    assert 0.35 <= pos <= 0.55
    generated = {r["text"] for name in ("train.jsonl", "dev.jsonl") for r in _read(name)}
    assert not texts & generated
    squeeze = lambda t: "".join(t.split())  # noqa: E731
    assert not {squeeze(t) for t in texts} & {squeeze(t) for t in generated}
