"""Transformer checkpoints and resume, and the fast recipe's data options in transformer training:
a run interrupted at a checkpoint and resumed ends with the same weights and history as a run
that was never interrupted; a changed recipe is refused; checkpoints are safetensors + JSON."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from training.data.transformer_batches import loss_targets, source_tables
from training.trainers.transformer import select_rows, train_transformer
from training.trainers.transformer_loop import Encoded

PROJECT = Path(__file__).resolve().parent.parent
QUIET = lambda m: None  # noqa: E731


class Interrupted(Exception):
    pass


def resumable_recipe(**train) -> dict:
    """The tiny recipe, two epochs (about 30 steps) with dropout, dev every 4 steps, a checkpoint every 6."""
    with open(PROJECT / "configs" / "transformer-tiny.toml", "rb") as f:
        raw = tomllib.load(f)
    raw["train"].update({"max_steps": 0, "epochs": 2, "eval_every": 4, "checkpoint_every": 6, **train})
    return raw


def stop_at(step: int):
    """A log that interrupts the run right after the checkpoint of `step` is written."""
    def log(message: str) -> None:
        if message.startswith("checkpoint ") and message.endswith(f"(step {step})"):
            raise Interrupted
    return log


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return {**load_file(str(folder / "encoder" / "model.safetensors")), **load_file(str(folder / "head.safetensors"))}


def training(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text(encoding="utf-8"))["training"]


@pytest.fixture(scope="module")
def straight(tiny_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("straight") / "model"
    train_transformer(resumable_recipe(), out, log=QUIET, root=tiny_root)
    return out


def test_an_interrupted_run_resumed_ends_as_the_straight_run(straight, tiny_root, tmp_path):
    out = tmp_path / "model"
    with pytest.raises(Interrupted):
        train_transformer(resumable_recipe(), out, log=stop_at(6), root=tiny_root)
    assert not out.exists()
    resumed = train_transformer(resumable_recipe(), out, log=QUIET, root=tiny_root,
                                resume_from=tmp_path / "model.ckpt")
    a, b = weights(straight), weights(out)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    ta, tb = training(straight), training(out)
    assert ta["steps"] == tb["steps"] > 16 and ta["best_step"] == tb["best_step"]  # resumed across an epoch
    assert ta["history"] == tb["history"] and len(ta["history"]) > 3
    assert tb["resumed_from"].endswith("step-0000006")
    assert resumed.thresholds == pytest.approx(json.loads((straight / "config.json").read_text())["thresholds"])


def test_checkpoints_are_safetensors_and_json_and_only_the_newest_two_stay(straight):
    ckpt = Path(f"{straight}.ckpt")
    names = sorted(p.name for p in ckpt.iterdir())
    steps = training(straight)["steps"]
    assert names == [f"step-{s:07d}" for s in range(6, steps + 1, 6)][-2:]
    files = {p.name for p in ckpt.rglob("*") if p.is_file()}
    assert files == {"state.safetensors", "state.json"}
    state = json.loads((ckpt / names[-1] / "state.json").read_text(encoding="utf-8"))
    assert state["step"] == int(names[-1][5:]) and len(state["recipe_sha256"]) == 64
    tensors = load_file(str(ckpt / names[-1] / "state.safetensors"))
    assert "rng.torch" in tensors and any(k.startswith("optimizer.") for k in tensors)
    assert any(k.startswith("best.") for k in tensors) and "best_dev_logits" in tensors


def test_resuming_with_another_recipe_is_refused_naming_the_setting(straight, tiny_root, tmp_path):
    with pytest.raises(ValueError) as e:
        train_transformer(resumable_recipe(lr=2e-3), tmp_path / "m", log=QUIET, root=tiny_root,
                          resume_from=f"{straight}.ckpt")
    msg = str(e.value)
    assert "\n" not in msg and "cannot resume" in msg and "train.lr" in msg and "0.001" in msg, msg
    # settings that change nothing computed may differ
    train_transformer(resumable_recipe(log_every=3, keep_checkpoints=1), tmp_path / "ok", log=QUIET,
                      root=tiny_root, resume_from=f"{straight}.ckpt")


def test_the_cli_resumes_and_refuses_what_is_not_a_checkpoint(tiny_root, tmp_path, monkeypatch):
    from training.cli import app as full_app

    monkeypatch.setenv("JINGWANG_DATA", str(tiny_root))
    config = PROJECT / "configs" / "transformer-tiny.toml"
    r = CliRunner().invoke(full_app(), ["train", "--config", str(config), "--out", str(tmp_path / "m"),
                                        "--resume-from", str(tmp_path)])
    assert r.exit_code != 0 and "no checkpoint there" in r.output, r.output
    r = CliRunner().invoke(full_app(), ["train", "--config", str(config), "--out", str(tmp_path / "m"),
                                        "--set", "train.checkpoint_every=1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(full_app(), ["train", "--config", str(config), "--out", str(tmp_path / "m2"),
                                        "--set", "train.checkpoint_every=1", "--resume-from", str(tmp_path / "m.ckpt")])
    assert r.exit_code == 0 and training(tmp_path / "m2")["resumed_from"].endswith("step-0000002"), r.output


def test_source_weights_and_masks_scale_and_drop_loss_entries():
    y = np.array([[1.0, np.nan], [0.0, np.nan], [np.nan, 1.0], [np.nan, 0.0], [0.0, 0.0]])
    src = np.array(["a", "a", "b", "b", "c"])
    scale, drop = source_tables(src, ["rumor", "harassment"], {"b": {"rumor": 0.5}, "c": 2.0}, {"c": ["harassment"]})
    assert scale.tolist() == [[1, 1], [1, 1], [0.5, 1], [0.5, 1], [2, 2]]
    assert drop[:, 1].tolist() == [False] * 4 + [True] and not drop[:, 0].any()
    t, w = loss_targets(y, [0.0, 0.3], None, scale, drop)
    assert w[:, 0].tolist() == [1, 1, 0, 0, 2]        # rumor: b unannotated and cross weight 0
    assert w[4, 1] == 0 and w[2, 1] == w[3, 1] == 1   # harassment: c masked, takes no part
    own_neg = 1  # row 3; cross rows 0 and 1 together weigh 0.3 of it
    assert w[:2, 1].sum() == pytest.approx(0.3 * own_neg) and t[4].tolist() == [0, 0]
    plain = loss_targets(y, 0.3)
    np.testing.assert_array_equal(loss_targets(y, [0.3, 0.3], None, np.ones_like(scale))[1], plain[1])


def test_the_transformer_caps_a_campaigns_loss_weight_as_the_fast_model_does():
    from training.recipe import load_recipe
    from training.trainers.transformer import train_targets

    recipe = load_recipe(PROJECT / "configs" / "transformer-tiny.toml",
                         ["data.source_weight={}", "data.mask={}", "data.cross_negative_weight=0.0"])
    y = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    rows = Encoded([[1]] * 6, y, np.array(["real"] * 6), np.array(["雨姐"] * 5 + ["ad"], object))
    plain = train_targets(rows, recipe, ["paid_posting", "harassment"]).weights
    recipe.data.group_cap = {"real": {"paid_posting": 2}}
    capped = train_targets(rows, recipe, ["paid_posting", "harassment"]).weights
    np.testing.assert_allclose(capped[:4, 0], plain[:4, 0] / 2)     # four campaign rows weigh two
    np.testing.assert_allclose(capped[4:, 0], plain[4:, 0])         # its negative, another incident
    np.testing.assert_allclose(capped[:, 1], plain[:, 1])           # other risks keep their weights


def test_model_selection_rows_are_the_named_sources_per_risk():
    dev = Encoded([[1], [2], [3], [4]], np.array([[1.0, 0.0], [0.0, np.nan], [np.nan, 1.0], [0.0, 1.0]]),
                  np.array(["real", "weibo21", "cold", "real"]))
    assert select_rows(dev, ["rumor", "harassment"], None) is dev
    sel = select_rows(dev, ["rumor", "harassment"], {"rumor": ["real"]})
    assert sel.ids == [[1], [3], [4]] and np.isnan(sel.y[1, 0]) and sel.y[1, 1] == 1
    sel = select_rows(dev, ["rumor", "harassment"], ["weibo21"])
    assert sel.ids == [[2]]


def test_the_real_comment_options_train_a_model(tiny_root, tmp_path):
    raw = resumable_recipe(max_steps=4, epochs=1, eval_every=2, checkpoint_every=0,
                           select_sources={"rumor": ["weibo21"], "harassment": ["cold"]})
    raw["data"].update({"limit": {"sms_spam": 40}, "source_weight": {"sms_spam": 0.2, "cold": {"harassment": 2.0}},
                        "mask": {"sms_spam": ["harassment"]}, "cross_negative_weight": {"paid_posting": 0.3}})
    raw["calibration"] = {"method": "sigmoid", "sources": {"paid_posting": ["sms_spam"]}}
    raw["thresholds"] = {"rule": {"rumor": "f1", "paid_posting": "budget", "harassment": "precision:0.7"},
                         "sources": {"harassment": ["cold"]}, "max_false_flags": {"paid_posting": 100},
                         "budget_sources": ["sms_spam"]}
    det = train_transformer(raw, tmp_path / "m", log=QUIET, root=tiny_root)
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["dev_by_source"]["paid_posting"]["sms_spam"]["n"] <= 40
    assert set(det.thresholds) == {"rumor", "paid_posting", "harassment"}
    assert training(tmp_path / "m")["steps"] == 4
