"""Typed recipes: every configs/*.toml loads, a wrong key stops at once with the closest known key,
defaults live in the dataclasses and the resolved recipe is what config.json saves."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from detector.scorers.features import FeaturizerConfig
from training.recipe import (RECIPES, Classifier, FastRecipe, Train, TransformerData, TransformerModel, load_recipe,
                             parse_recipe, read_toml)
from training.retrain.run import load_retrain_config

PROJECT = Path(__file__).resolve().parent.parent
CONFIGS = PROJECT / "configs"
RECIPE_FILES = sorted(p.name for p in CONFIGS.glob("*.toml") if "model" in read_toml(p))


def test_the_recipes_under_configs_are_the_ones_expected():
    assert RECIPE_FILES == ["cascade.toml", "ensemble.toml", "fast.toml", "transformer-cpu.toml",
                            "transformer-real.toml", "transformer-tiny.toml", "transformer.toml"]


@pytest.mark.parametrize("name", RECIPE_FILES)
def test_every_recipe_loads_and_its_resolved_form_loads_again(name):
    recipe = load_recipe(CONFIGS / name)
    assert isinstance(recipe, RECIPES[recipe.model.type]) and recipe.recipe.path.endswith(name)
    again = parse_recipe(json.loads(json.dumps(recipe.to_dict())))  # as config.json saves it
    assert again == recipe


def test_the_retrain_config_loads():
    cfg = load_retrain_config(CONFIGS / "retrain.toml")
    assert cfg.reviewed.heldout_share == 0.2 and cfg.promotion.tolerance == {"rumor": 0.01, "paid_posting": 0.01,
                                                                             "harassment": 0.01}


@pytest.mark.parametrize("name", ["transformer.toml", "transformer-cpu.toml", "transformer-tiny.toml",
                                  "transformer-real.toml"])
def test_transformer_recipes_name_every_hyperparameter(name):
    raw = read_toml(CONFIGS / name)
    for section, cls in (("model", TransformerModel), ("data", TransformerData), ("train", Train)):
        missing = {f.name for f in fields(cls)} - set(raw[section]) - {"vocab_size", "labels"}
        assert not missing, f"{name} [{section}] does not name {sorted(missing)}"


def test_a_typo_in_an_override_names_the_key_and_the_closest_one():
    with pytest.raises(ValueError) as e:
        load_recipe(CONFIGS / "fast.toml", ["classifer.C=2"])
    assert str(e.value) == "--set classifer.C=2: unknown section 'classifer'; did you mean 'classifier'?"
    with pytest.raises(ValueError, match=r"unknown key 'classifier\.Cc'; did you mean 'classifier\.C'\?"):
        load_recipe(CONFIGS / "fast.toml", ["classifier.Cc=2"])
    with pytest.raises(ValueError, match=r"'featurizer\.char_ngram_maxx'; did you mean 'featurizer\.char_ngram_max'"):
        load_recipe(CONFIGS / "fast.toml", ["featurizer.char_ngram_maxx=4"])
    with pytest.raises(ValueError, match=r"unknown key 'train\.max_stpes'; did you mean 'train\.max_steps'"):
        load_recipe(CONFIGS / "transformer-tiny.toml", ["train.max_stpes=3"])


def test_a_typo_in_a_file_names_the_file_and_the_key(tmp_path):
    text = (CONFIGS / "fast.toml").read_text(encoding="utf-8").replace("solver = \"liblinear\"\n",
                                                                        "solvr = \"liblinear\"\n", 1)
    (tmp_path / "typo.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as e:
        load_recipe(tmp_path / "typo.toml")
    assert str(e.value) == f"{tmp_path / 'typo.toml'}: unknown key 'classifier.solvr'; did you mean 'classifier.solver'?"
    (tmp_path / "section.toml").write_text(text.replace("solvr", "solver").replace("[thresholds]", "[threshold]"),
                                           encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown section 'threshold'; did you mean 'thresholds'\?"):
        load_recipe(tmp_path / "section.toml")


def test_wrong_values_and_unknown_risks_are_refused():
    fast = CONFIGS / "fast.toml"
    with pytest.raises(ValueError, match=r"classifier\.C must be a number or a table of numbers, not 'abc'"):
        load_recipe(fast, ["classifier.C=abc"])
    with pytest.raises(ValueError, match=r"unknown risk 'classifier\.C\.rumour'; did you mean 'classifier\.C\.rumor'"):
        load_recipe(fast, ["classifier.C.rumour=3"])
    with pytest.raises(ValueError, match=r"calibration\.method must be one of identity, sigmoid"):
        load_recipe(fast, ["calibration.method=platt"])
    with pytest.raises(ValueError, match=r"thresholds\.rule 'f2' is not a rule"):
        load_recipe(fast, ["thresholds.rule=f2"])
    with pytest.raises(ValueError, match=r"model\.type must be one of fast, transformer, ensemble, cascade, not 'svm'"):
        parse_recipe({"model": {"type": "svm"}})
    with pytest.raises(ValueError, match=r"data\.sources is required"):
        parse_recipe({"model": {"type": "fast"}, "data": {}})
    with pytest.raises(ValueError, match=r"classifier is a section"):
        load_recipe(fast, ["classifier=3"])
    with pytest.raises(ValueError, match=r"unknown key 'reviewed\.heldout'; did you mean 'reviewed\.heldout_share'"):
        load_retrain_config(None, {"reviewed": {"heldout": 0.1}})


def test_overrides_are_typed_and_replace_what_they_name():
    recipe = load_recipe(CONFIGS / "fast.toml", ["classifier.C=2", "classifier.max_iter=50", "model.version=7",
                                                 "data.limit.chnci=10", "featurizer.extra=[\"contacts\"]"])
    assert recipe.classifier.C == 2.0 and isinstance(recipe.classifier.C, float) and recipe.classifier.max_iter == 50
    assert recipe.model.version == "7" and recipe.data.limit == {"chnci": 10}
    assert recipe.featurizer.extra == ("contacts",)


def test_defaults_are_filled_in_and_saved():
    recipe = parse_recipe({"model": {"type": "fast"}, "data": {"sources": ["cold"]}})
    assert recipe.classifier == Classifier() and recipe.featurizer == FeaturizerConfig()
    saved = recipe.to_dict()
    assert saved["classifier"] == {"C": 4.0, "nb_scale": 0.0, "gate_C": 4.0, "class_weight": "balanced",
                                   "max_iter": 2000, "solver": "liblinear"}
    assert saved["model"]["name"] == "default" and saved["data"]["train_split"] == "train" and "subtypes" not in saved
    assert isinstance(load_recipe(CONFIGS / "fast.toml"), FastRecipe)


def test_the_featurizer_refuses_unknown_keys_but_loads_what_models_saved():
    with pytest.raises(ValueError, match=r"unknown key 'featurizer\.skeletn'; did you mean 'featurizer\.skeleton'"):
        FeaturizerConfig.from_dict({"skeletn": True})
    for cfg in PROJECT.glob("models/*/v*/config.json"):
        saved = json.loads(cfg.read_text(encoding="utf-8"))["scorer"]["featurizer"]
        assert FeaturizerConfig.from_dict(saved).to_dict()["n_features"] == saved["n_features"]


def test_the_cli_stops_before_reading_data_on_a_typo(tmp_path):
    out = subprocess.run([sys.executable, "-m", "detector.cli", "train", "--config", str(CONFIGS / "fast.toml"),
                          "--set", "classifer.C=2", "--out", str(tmp_path / "m")], capture_output=True, text=True,
                         cwd=PROJECT, timeout=120)
    assert out.returncode == 2, out.stderr
    message = " ".join(out.stderr.split())
    assert "unknown section 'classifer'; did you mean 'classifier'?" in message and "loaded" not in message
    assert not (tmp_path / "m").exists()
