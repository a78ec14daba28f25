"""The cascade recipe: `jingwang train --config cascade.toml --out DIR` trains the fast member and
the transformer (or uses folders given), chooses the band as `jingwang model cascade` does, and
`jingwang score --model DIR/fast --cascade DIR` scores with it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detector.model.cascade import TOP, cascade_config
from tests.conftest import tiny_recipe, write_toml
from tests.test_scale import read_jsonl, write_posts
from training.cli import app as _full_app
from training.recipe import CascadeRecipe, load_recipe, parse_recipe
from training.trainers.dispatch import train_cascade, train_from_recipe

app = _full_app()
PROJECT = Path(__file__).resolve().parent.parent
quiet = lambda m: None  # noqa: E731


def cascade_recipe(tmp: Path, fast: dict | None = None, second: dict | None = None, band: dict | None = None) -> dict:
    fast_toml = write_toml(tmp / "tiny-fast.toml", tiny_recipe())
    return {"model": {"type": "cascade", "name": "tiny-cascade"},
            "fast": fast or {"recipe": str(fast_toml)},
            "second": second or {"recipe": str(PROJECT / "configs" / "transformer-tiny.toml")},
            "band": band or {"max_loss": 0.3}}


def train_cli(config: Path, out: Path, root: Path):
    """`jingwang train --config CONFIG --out OUT` through the CLI, reading the datasets under `root`."""
    mp = pytest.MonkeyPatch()
    mp.setenv("JINGWANG_DATA", str(root))
    try:
        return CliRunner().invoke(app, ["train", "--config", str(config), "--out", str(out)])
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def built(tiny_root, tmp_path_factory):
    """A cascade trained end to end with the CLI from tiny members."""
    tmp = tmp_path_factory.mktemp("cascade-recipe")
    r = train_cli(write_toml(tmp / "cascade.toml", cascade_recipe(tmp)), tmp / "casc", tiny_root)
    assert r.exit_code == 0, r.output
    return tmp, tmp / "casc"


def test_one_command_builds_both_members_and_the_band(built):
    tmp, out = built
    cfg = cascade_config(out)
    assert (out / "fast" / "config.json").is_file() and (out / "second" / "config.json").is_file()
    assert cfg["first"] == "tiny@1" and cfg["second"] == "second" and cfg["first_path"] == "fast"
    assert set(cfg["band"]) == {"rumor", "paid_posting", "harassment"} and cfg["chosen_on"]["split"] == "dev"
    assert cfg["members"]["fast"]["trained"] and cfg["members"]["second"]["trained"]
    assert cfg["recipe"]["model"]["type"] == "cascade" and cfg["recipe"]["band"]["max_loss"] == 0.3
    assert isinstance(parse_recipe(cfg["recipe"]), CascadeRecipe)   # the saved recipe reads back
    second = json.loads((out / "second" / "config.json").read_text(encoding="utf-8"))
    assert second["model_type"] == "transformer"


def test_jingwang_score_uses_the_cascade_it_wrote(built, tmp_path):
    _, out = built
    src = tmp_path / "posts.jsonl"
    write_posts(src, 40)
    r = CliRunner().invoke(app, ["score", str(src), "--model", str(out / "fast"), "--cascade", str(out),
                                 "--out", str(tmp_path / "scored.jsonl")])
    assert r.exit_code == 0, r.output
    rows = read_jsonl(tmp_path / "scored.jsonl")
    assert len(rows) == 40 and {x["model"] for x in rows} <= {"tiny@1", "transformer-tiny@1"}
    assert all(set(x["scores"]) == {"rumor", "paid_posting", "harassment"} for x in rows)


def test_existing_member_folders_are_used_as_they_are(built, tiny_root, tmp_path, monkeypatch):
    tmp, out = built
    monkeypatch.setenv("JINGWANG_DATA", str(tiny_root))
    head = out / "second" / "head.safetensors"
    before = head.stat().st_mtime_ns
    recipe = parse_recipe(cascade_recipe(tmp, fast={"recipe": "no/such.toml", "model": str(out / "fast")},
                                         second={"model": str(out / "second")}))
    train_cascade(recipe, tmp_path / "again", log=quiet)
    cfg = cascade_config(tmp_path / "again")
    assert not cfg["members"]["fast"]["trained"] and not cfg["members"]["second"]["trained"]
    assert not (tmp_path / "again" / "fast").exists()
    assert Path(cfg["second_path"]).resolve() == (out / "second").resolve()
    assert cfg["band"] == cascade_config(out)["band"]   # same members, same dev data: same band
    assert head.stat().st_mtime_ns == before   # not retrained


def test_a_member_without_a_model_or_recipe_stops_before_anything_trains(tmp_path):
    with pytest.raises(ValueError, match="second needs a recipe .* or a model"):
        parse_recipe(cascade_recipe(tmp_path, second={"overrides": []}))
    with pytest.raises(ValueError, match=r"unknown key 'band\.max_los'; did you mean 'band\.max_loss'"):
        parse_recipe(cascade_recipe(tmp_path, band={"max_los": 1.0}))
    recipe = parse_recipe(cascade_recipe(tmp_path, second={"model": str(tmp_path / "none")}))
    with pytest.raises(FileNotFoundError, match=r"second\.model .*none: no model there"):
        train_cascade(recipe, tmp_path / "out", log=quiet)
    bad = parse_recipe(cascade_recipe(tmp_path, second={"recipe": str(PROJECT / "configs" / "transformer-tiny.toml"),
                                                        "overrides": ["train.max_stpes=3"]}))
    with pytest.raises(ValueError, match=r"did you mean 'train\.max_steps'"):
        train_cascade(bad, tmp_path / "out", log=quiet)
    assert not (tmp_path / "out").exists()
    config = write_toml(tmp_path / "c.toml", cascade_recipe(tmp_path))
    with pytest.raises(ValueError, match="not a registry version"):
        train_from_recipe(config, tmp_path / "reg", log=quiet, registry=True)


def test_the_shipped_cascade_recipe_names_its_members():
    recipe = load_recipe(PROJECT / "configs" / "cascade.toml")
    assert recipe.fast.recipe == "configs/fast.toml" and recipe.second.recipe == "configs/ensemble.toml"
    assert recipe.band.recheck_flags
    assert load_recipe(PROJECT / recipe.fast.recipe).model.type == "fast"
    second = load_recipe(PROJECT / recipe.second.recipe)
    assert second.model.type == "ensemble" and second.ensemble.members[0] == recipe.fast.model
    # the ensemble's members without a model are trained from recipes that exist and parse
    for rec in second.ensemble.recipes:
        assert not rec or load_recipe(PROJECT / rec).model.type in ("fast", "transformer")


def test_one_command_builds_an_ensemble_second_and_its_missing_member(tiny_root, tmp_path):
    """second.recipe an ensemble recipe whose member is missing: one `jingwang train` trains the fast
    member, the missing ensemble member (ensemble.recipes), the ensemble and the band."""
    other = tiny_recipe()
    other["classifier"]["C"] = 1.0
    member = tmp_path / "models" / "other"
    ens = {"model": {"type": "ensemble", "name": "tiny-ens", "version": "1", "seed": 1},
           "ensemble": {"members": [str(tmp_path / "casc" / "fast"), str(member)], "weights": [0.5, 0.5],
                        "recipes": ["", str(write_toml(tmp_path / "other.toml", other))]},
           "data": {"sources": ["cold", "weibo21", "sms_spam"]}, "thresholds": {"rule": "f1"}}
    recipe = cascade_recipe(tmp_path, second={"recipe": str(write_toml(tmp_path / "ens.toml", ens))},
                            band={"max_loss": 0.3, "recheck_flags": True})
    r = train_cli(write_toml(tmp_path / "cascade.toml", recipe), tmp_path / "casc", tiny_root)
    assert r.exit_code == 0, r.output
    assert "ensemble member" in r.output and (member / "config.json").is_file()
    second = json.loads((tmp_path / "casc" / "second" / "config.json").read_text(encoding="utf-8"))
    assert second["model_type"] == "ensemble"
    assert cascade_config(tmp_path / "casc")["band"]["harassment"][1] == TOP   # every fast flag re-checked
