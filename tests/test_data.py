"""Datasets: loading with per-risk label columns, hash splits, pull from a mirror with sha256."""
from __future__ import annotations

import pytest

from tests.conftest import SHARED
from training.data.sources import load_source, load_specs
from training.data.pull import pull


def test_load_source_has_one_column_per_risk(tiny_root):
    ds = load_source("cold", "train", root=tiny_root)
    assert {"id", "text", "source", "rumor", "paid_posting", "harassment"} <= set(ds.column_names)
    assert set(ds["harassment"]) == {0, 1}
    assert set(ds["rumor"]) == {None} and set(ds["paid_posting"]) == {None}


def test_hash_split_is_a_partition(tiny_root):
    parts = [load_source("sms_spam", s, root=tiny_root)["id"] for s in ("train", "dev", "test")]
    ids = [i for p in parts for i in p]
    assert len(ids) == len(set(ids)) == 108 and all(parts)


def test_unknown_dataset_and_split_are_named(tiny_root):
    with pytest.raises(ValueError, match="unknown dataset"):
        load_source("nope", "train", root=tiny_root)
    with pytest.raises(ValueError, match="no split 'validation'"):
        load_source("cold", "validation", root=tiny_root)


def test_team_data_loads_from_the_repository():
    ds = load_source("paid_team", "test")
    assert len(ds) >= 200 and set(ds["paid_posting"]) == {0, 1}


@pytest.mark.skipif(not (SHARED / "weibo21").is_dir(), reason="../shared/datasets is not beside the checkout")
def test_pull_from_mirror_checks_sha256(tmp_path):
    lines = list(pull(["weibo21", "sms_spam"], tmp_path, SHARED))
    assert len(lines) == 4 and all(": ok" in line for line in lines), lines
    (tmp_path / "weibo21" / "val.jsonl").write_text('{"id": "x", "text": "y", "label": 0}\n')
    lines = list(pull(["weibo21"], tmp_path / "other", tmp_path))
    assert any("MISMATCH" in line and "val.jsonl" in line for line in lines)


def test_every_configured_source_names_its_risk():
    for name, spec in load_specs().items():
        assert spec.risk in ("", "*", "rumor", "paid_posting", "harassment"), name
        assert set(spec.presumed_negative) <= {"rumor", "paid_posting", "harassment"}, name
