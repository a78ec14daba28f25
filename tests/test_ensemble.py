"""Ensemble: the tiny fast model + a tiny transformer, built with fixed and tuned weights;
loads with Detector.from_pretrained, averages its members, and scores through the CLI."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from detector.model.core import Detector
from training.cli import app as _full_app

app = _full_app()
from training.data.splits import Split, load_split
from training.evaluation.evaluate import risk_proba
from training.recipe import as_recipe
from training.trainers.ensemble import build_ensemble, tune_weights, weight_grid
from training.trainers.transformer import train_transformer

PROJECT = Path(__file__).resolve().parent.parent
TEXTS = ["震惊！喝醋可以治愈新冠，转发保平安", "兼职刷单日结，加微信", "你全家都是废物", "这本书写得很好"]
SOURCES = {"sources": ["cold", "weibo21", "sms_spam"], "dev_split": "dev", "test_split": "test"}


@pytest.fixture(scope="module")
def tiny_transformer(tiny_root, tmp_path_factory) -> Path:
    with open(PROJECT / "configs" / "transformer-tiny.toml", "rb") as f:
        recipe = tomllib.load(f)
    out = tmp_path_factory.mktemp("emodels") / "tiny-transformer"
    train_transformer(recipe, out, log=lambda m: None, root=tiny_root)
    return out


def ensemble_recipe(members: list[Path], weights) -> dict:
    return {"model": {"type": "ensemble", "name": "tiny-ensemble", "version": "1", "seed": 1},
            "ensemble": {"members": [str(m) for m in members], "weights": weights, "grid_step": 0.25},
            "data": dict(SOURCES), "thresholds": {"rule": "f1"}, "cleaning": {"evasion": True}}


@pytest.fixture(scope="module")
def tiny_ensemble(tiny_model, tiny_transformer, tiny_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ensembles") / "ens"
    build_ensemble(ensemble_recipe([tiny_model, tiny_transformer], [0.3, 0.7]), out, log=lambda m: None, root=tiny_root)
    return out


def test_weight_grid_covers_the_simplex_most_even_first():
    grid = weight_grid(2, 0.25)
    assert grid[0] == (0.5, 0.5) and len(grid) == 5 and all(sum(w) == pytest.approx(1) for w in grid)
    assert len(weight_grid(3, 0.5)) == 6


def test_ensemble_folder_names_members_without_copying_them(tiny_ensemble, tiny_model):
    cfg = json.loads((tiny_ensemble / "config.json").read_text(encoding="utf-8"))
    assert cfg["model_type"] == "ensemble"
    assert [m["weight"] for m in cfg["scorer"]["members"]] == pytest.approx([0.3, 0.7])
    assert (tiny_ensemble / cfg["scorer"]["members"][0]["path"]).resolve() == tiny_model.resolve()
    assert sorted(p.name for p in tiny_ensemble.iterdir()) == ["README.md", "config.json", "metrics.json"]
    assert not Path(cfg["scorer"]["members"][0]["path"]).is_absolute()
    metrics = json.loads((tiny_ensemble / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["test"]) == {"rumor", "paid_posting", "harassment"}


def test_ensemble_probabilities_are_the_weighted_average(tiny_ensemble, tiny_model, tiny_transformer, tmp_path):
    ens = Detector.from_pretrained(tiny_ensemble)
    ens.save_pretrained(tmp_path / "elsewhere" / "ens")  # saved elsewhere: member paths still resolve
    ens = Detector.from_pretrained(tmp_path / "elsewhere" / "ens")
    p_fast = Detector.from_pretrained(tiny_model).predict_proba(TEXTS)
    p_tr = Detector.from_pretrained(tiny_transformer).predict_proba(TEXTS)
    np.testing.assert_allclose(ens.predict_proba(TEXTS), 0.3 * p_fast + 0.7 * p_tr, atol=1e-6)
    assert not np.allclose(p_fast, p_tr, atol=1e-3)


def test_ensemble_evidence_comes_from_the_strongest_member(tiny_ensemble):
    ens = Detector.from_pretrained(tiny_ensemble)
    ct = ens.clean(["兼职刷单日结，加微信"])[0]
    j = ens.labels.index("paid_posting")
    probs = ens.scorer.member_proba([ct])
    best = int(np.argmax([w * p[0, j] for w, p in zip(ens.scorer.label_weights[j], probs)]))
    expected = ens.scorer.members[best].scorer.explain(ct, "paid_posting", 5)
    assert ens.scorer.explain(ct, "paid_posting", 5) == expected


def test_tuned_weights_come_from_the_grid(tiny_model, tiny_transformer, tiny_root, tmp_path):
    det = build_ensemble(ensemble_recipe([tiny_model, tiny_transformer], "tune"), tmp_path / "tuned",
                         log=lambda m: None, root=tiny_root)
    assert tuple(det.scorer.weights) in weight_grid(2, 0.25)
    assert Detector.from_pretrained(tmp_path / "tuned").scorer.weights == pytest.approx(det.scorer.weights)


def test_per_risk_weights_are_tuned_saved_and_used(tiny_model, tiny_transformer, tiny_root, tmp_path):
    recipe = ensemble_recipe([tiny_model, tiny_transformer], "tune")
    recipe["ensemble"]["per_risk"] = True
    det = build_ensemble(recipe, tmp_path / "per_risk", log=lambda m: None, root=tiny_root)
    W = det.scorer.label_weights
    assert W.shape == (len(det.labels), 2) and all(tuple(row) in weight_grid(2, 0.25) for row in W)
    loaded = Detector.from_pretrained(tmp_path / "per_risk")
    np.testing.assert_allclose(loaded.scorer.label_weights, W)
    p_fast = Detector.from_pretrained(tiny_model).predict_proba(TEXTS)
    p_tr = Detector.from_pretrained(tiny_transformer).predict_proba(TEXTS)
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), W[None, :, 0] * p_fast + W[None, :, 1] * p_tr, atol=1e-6)


def test_per_label_weights_apply_to_their_label_only():
    from detector.scorers.ensemble import combine

    a, b = np.array([[0.2, 0.4]]), np.array([[0.6, 0.8]])
    np.testing.assert_allclose(combine([a, b], [[1.0, 0.0], [0.5, 0.5]]), [[0.2, 0.6]], atol=1e-6)
    np.testing.assert_allclose(combine([a, b], [1.0, 3.0]), [[0.5, 0.7]], atol=1e-6)


def test_cli_scores_with_the_ensemble(tiny_ensemble, tmp_path):
    src = tmp_path / "posts.jsonl"
    rows = [{"id": "a", "text": "兼职刷单日结，加微信"}, {"id": "b", "text": "今天天气不错，出去走走"}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    r = CliRunner().invoke(app, ["score", str(src), "--model", str(tiny_ensemble), "--out", str(out)])
    assert r.exit_code == 0, r.output
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [x["id"] for x in got] == ["a", "b"] and all(x["model"] == "tiny-ensemble@1" for x in got)
    for x in got:
        assert set(x["evidence"]) == set(x["flags"])
        for items in x["evidence"].values():
            for item in items:
                assert all(0 <= s < e <= len(rows[got.index(x)]["text"]) for s, e in item["spans"])


def cold_dev_false_flags(det: Detector, root: Path) -> float:
    """The ensemble's harassment false flags per 1,000 COLD dev posts, scored afresh and flagged
    as `jingwang score` flags them (scores rounded to 4 decimals)."""
    dev = load_split(["cold"], "dev", det.labels, root, evasion=None)
    flags = risk_proba(det, dev.texts, "harassment") >= det.thresholds["harassment"]
    return 1000 * float(np.sum(flags & (dev.y[:, det.labels.index("harassment")] == 0))) / len(dev.texts)


def test_a_budget_rule_holds_on_the_budget_sources_dev_rows(tiny_model, tiny_transformer, tiny_root, tmp_path):
    recipe = ensemble_recipe([tiny_model, tiny_transformer], "tune")
    recipe["ensemble"]["per_risk"] = True
    plain = build_ensemble(recipe, tmp_path / "f1", log=lambda m: None, root=tiny_root)
    assert cold_dev_false_flags(plain, tiny_root) > 50   # the F1 threshold flags more: the budget bites
    recipe["thresholds"] = {"rule": {"harassment": "budget"}, "max_false_flags": {"harassment": 50},
                            "budget_sources": ["cold"]}
    det = build_ensemble(recipe, tmp_path / "budget", log=lambda m: None, root=tiny_root)
    assert cold_dev_false_flags(det, tiny_root) <= 50
    metrics = json.loads((tmp_path / "budget" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["dev_by_source"]["harassment"]["cold"]["false_flags_per_1000"] <= 50
    cfg = json.loads((tmp_path / "budget" / "config.json").read_text(encoding="utf-8"))
    assert cfg["recipe"]["thresholds"]["rule"]["harassment"] == "budget"
    assert cfg["recipe"]["thresholds"]["max_false_flags"] == {"harassment": 50}
    assert cfg["recipe"]["thresholds"]["budget_sources"] == ["cold"]


def test_select_sources_choose_the_dev_rows_the_weights_are_tuned_on():
    # member a separates the cold rows and ranks weibo21's backwards (below its cold scores), member b
    # the reverse; on the average both sources are backwards. The threshold: precision 0.99 on every row
    y = np.array([1, 0, 1, 0, 1, 0, 1, 0], float)[:, None]
    src = np.array(["cold"] * 4 + ["weibo21"] * 4)
    a = np.array([0.6, 0.4, 0.55, 0.45, 0.05, 0.4, 0.1, 0.45])[:, None]
    b = np.array([0.05, 0.4, 0.1, 0.45, 0.6, 0.4, 0.55, 0.45])[:, None]
    dev = Split([""] * 8, y, src)

    def tuned(select):
        recipe = as_recipe({"model": {"type": "ensemble", "labels": ["rumor"]},
                            "ensemble": {"members": ["a", "b"], "grid_step": 0.5},
                            "data": {"sources": ["cold", "weibo21"], "select_sources": select},
                            "thresholds": {"rule": "precision:0.99"}})
        return tune_weights([a, b], dev, ["rumor"], recipe, log=lambda m: None)[0]

    assert tuned({"rumor": ["cold"]}) == [1.0, 0.0]
    assert tuned({"rumor": ["weibo21"]}) == [0.0, 1.0]
    with pytest.raises(ValueError, match=r"no dev rows of sms_spam annotate risk 'rumor'"):
        tuned(["sms_spam"])


def test_ensemble_recipe_parses():
    with open(PROJECT / "configs" / "ensemble.toml", "rb") as f:
        recipe = tomllib.load(f)
    assert recipe["model"]["type"] == "ensemble" and len(recipe["ensemble"]["members"]) >= 2
    assert recipe["ensemble"]["weights"] == "tune" or len(recipe["ensemble"]["weights"]) == len(recipe["ensemble"]["members"])
    assert {"max_false_flags", "budget_sources", "sources", "rule"} <= set(recipe["thresholds"])
    assert set(recipe["data"]["select_sources"]) == {"rumor", "paid_posting", "harassment"}


def test_missing_members_are_trained_from_their_recipes_once(tiny_model, tiny_root, tmp_path):
    """ensemble.recipes: a member folder without a model is trained from its recipe (so one
    `jingwang train` builds members and ensemble); a member that holds a model is used as it is."""
    from tests.conftest import tiny_recipe, write_toml
    from training.trainers.dispatch import train_members

    rec = write_toml(tmp_path / "member.toml", tiny_recipe())
    missing = tmp_path / "models" / "member"
    recipe = ensemble_recipe([tiny_model, missing], "tune")
    recipe["ensemble"]["recipes"] = ["", str(rec)]
    ens = as_recipe(recipe).ensemble
    assert train_members(ens, log=lambda m: None, root=tiny_root) == [str(missing)]
    assert Detector.from_pretrained(missing).labels == Detector.from_pretrained(tiny_model).labels
    assert train_members(ens, log=lambda m: None, root=tiny_root) == []   # now it exists: not retrained
    recipe["ensemble"]["recipes"] = ["", ""]
    with pytest.raises(FileNotFoundError, match="member"):
        train_members(as_recipe(ensemble_recipe([tiny_model, tmp_path / "nothing"], "tune")).ensemble)
    recipe["ensemble"]["recipes"] = [str(rec)]
    with pytest.raises(ValueError, match="one per member"):
        as_recipe(recipe)

