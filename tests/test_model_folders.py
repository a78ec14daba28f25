"""Model folders are checked on load (issue 13, rows 18-20): NaN weights or thresholds, missing
keys, unknown labels, truncated weights, bad ensemble members, invalid config.json and files
outside the folder each refuse to load with one sentence naming the file and the key; the
phonetic caches live in the user's cache folder and are checked by a content hash."""
from __future__ import annotations

import json
import marshal
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from typer.testing import CliRunner

from detector.model.core import Detector
from detector.scorers.base import ModelFolderError

TEXTS = ["兼职刷单日结，加微信", "你全家都是废物", "这本书写得很好"]


@pytest.fixture
def folder(tiny_model, tmp_path) -> Path:
    """A fresh copy of the tiny fast model to break."""
    dest = tmp_path / "model"
    shutil.copytree(tiny_model, dest)
    return dest


def edit_config(folder: Path, change) -> None:
    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    change(cfg)
    (folder / "config.json").write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")


def edit_weights(folder: Path, change) -> None:
    arrays = load_file(str(folder / "fast.safetensors"))
    change(arrays)
    save_file(arrays, str(folder / "fast.safetensors"))


def refused(folder: Path, *words: str) -> str:
    """Loading `folder` fails with one sentence naming the file and every word of `words`."""
    with pytest.raises(ModelFolderError) as e:
        Detector.from_pretrained(folder)
    msg = str(e.value)
    assert "\n" not in msg and all(w in msg for w in words), msg
    return msg


# -- row 18: NaN weights or thresholds ------------------------------------------------------

@pytest.mark.parametrize("key", ["coef", "intercept", "idf", "cal.rumor.x"])
def test_a_nan_weight_refuses_to_load(folder, key):
    def poison(a):
        a[key] = np.full(3, np.nan, np.float32) if key.startswith("cal.") else a[key]
        a[key].flat[0] = np.nan
    edit_weights(folder, poison)
    refused(folder, "fast.safetensors", repr(key), "NaN")


def test_a_nan_threshold_refuses_to_load(folder):
    assert Detector.from_pretrained(folder).predict_proba(TEXTS).shape == (3, 3)  # the copy loads
    edit_config(folder, lambda c: c["thresholds"].update(paid_posting=float("nan")))
    refused(folder, "config.json", "thresholds.paid_posting")


def test_a_nan_calibration_parameter_refuses_to_load(folder):
    edit_config(folder, lambda c: c["scorer"]["calibration"]["rumor"].update(a=float("nan"), kind="sigmoid"))
    refused(folder, "config.json", "scorer.calibration.rumor.a")


# -- row 19: missing keys, unknown labels, truncated weights, invalid JSON -----------------------

@pytest.mark.parametrize("key", ["thresholds", "scorer", "labels", "model_type"])
def test_a_missing_config_key_is_named(folder, key):
    edit_config(folder, lambda c: c.pop(key))
    refused(folder, "config.json", f"missing key {key!r}")


def test_missing_scorer_keys_and_arrays_are_named(folder, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    edit_config(folder, lambda c: c["scorer"].pop("featurizer"))
    refused(folder, "config.json", "'scorer.featurizer'")
    edit_weights(other, lambda a: a.pop("idf"))
    refused(other, "fast.safetensors", "missing array 'idf'")


def test_an_extra_label_is_refused(folder, tmp_path):
    known = tmp_path / "known"
    shutil.copytree(folder, known)
    edit_config(folder, lambda c: (c["labels"].append("spam"), c["thresholds"].update(spam=0.5)))
    refused(folder, "config.json", "unknown labels ['spam']")
    edit_config(known, lambda c: c["thresholds"].update(spam=0.5))
    refused(known, "config.json", "thresholds has unknown labels ['spam']")


def test_a_label_without_weights_is_refused(folder):
    edit_weights(folder, lambda a: a.update(coef=a["coef"][:2], intercept=a["intercept"][:2]))
    refused(folder, "fast.safetensors", "'coef'", "3 labels")


@pytest.mark.parametrize("cut", [0.5, 0.0001])
def test_truncated_weights_are_refused(folder, cut):
    data = (folder / "fast.safetensors").read_bytes()
    (folder / "fast.safetensors").write_bytes(data[:int(len(data) * cut)])
    refused(folder, "fast.safetensors", "truncated")


@pytest.mark.parametrize("text", ['{"model_type": "fast",', "[1, 2]", "\ud800"])
def test_an_invalid_config_json_names_the_file(folder, text):
    (folder / "config.json").write_bytes(text.encode("utf-8", "surrogatepass"))
    refused(folder, "config.json")


def test_a_bad_ensemble_member_names_the_ensemble_and_member(folder, tiny_model, tmp_path):
    ens = tmp_path / "ens"
    ens.mkdir()
    cfg = {"model_type": "ensemble", "labels": ["rumor", "paid_posting", "harassment"],
           "thresholds": {"rumor": 0.5, "paid_posting": 0.5, "harassment": 0.5},
           "scorer": {"members": [{"path": str(tiny_model), "weight": 1.0}, {"path": str(folder), "weight": 1.0}]}}
    (ens / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    assert Detector.from_pretrained(ens).predict_proba(TEXTS).shape == (3, 3)
    edit_weights(folder, lambda a: a.pop("coef"))
    refused(ens, str(ens / "config.json"), "scorer.members[1]", "missing array 'coef'")
    cfg["scorer"]["members"][1] = {"path": str(tmp_path / "nowhere"), "weight": 1.0}
    (ens / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    refused(ens, "scorer.members[1]", "no model at")
    cfg["scorer"]["members"][1] = {"path": str(tiny_model), "weight": float("nan")}
    (ens / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    refused(ens, "config.json", "weights")
    del cfg["scorer"]["members"][1]["weight"]
    (ens / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    refused(ens, "config.json", "scorer.members[1].weight")
    cfg["scorer"]["members"][1] = {"path": ".", "weight": 1.0}  # itself
    (ens / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    refused(ens, "config.json", "cycle")


def test_the_cli_prints_one_sentence_not_a_traceback(folder, tmp_path):
    import training.cli.commands  # noqa: F401  (the console entry point's app, with every command)
    from detector.cli._app import app

    edit_config(folder, lambda c: c["thresholds"].update(rumor=float("nan")))
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": 1, "text": TEXTS[0]}) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["score", str(tmp_path / "in.jsonl"), "--model", str(folder),
                                   "--out", str(tmp_path / "out.jsonl"), "--quiet"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "thresholds.rumor" in res.output and "config.json" in res.output


# -- row 20: files outside the folder; caches ----------------------------------------------------

@pytest.mark.parametrize("key", ["userdict", "harassment_lexicon"])
@pytest.mark.parametrize("where", ["../../../../../../etc/passwd", "/etc/passwd", "link", ".", "nothing.txt"])
def test_a_file_outside_the_model_folder_is_refused(folder, key, where):
    if where == "link":
        os.symlink("/etc/passwd", folder / "link")
    edit_config(folder, lambda c: c["scorer"].update({key: where}))
    refused(folder, "config.json", f"scorer.{key}", "not a file" if where == "nothing.txt" else "outside the model folder")


def test_disk_caches_live_in_the_user_cache_folder_and_are_hash_checked(tmp_path, monkeypatch):
    import tempfile

    from detector.text.phonetic import cache_dir, disk_cached

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    calls = []

    def build():
        calls.append(1)
        return {"sha": "沙", "n": [1, 2]}

    assert cache_dir() == tmp_path / "xdg" / "jingwang"
    assert disk_cached("t", "k1", build) == {"sha": "沙", "n": [1, 2]} and disk_cached("t", "k1", build) == build()
    assert len(calls) == 2  # the second call came from disk
    (path,) = cache_dir().glob("t-*.marshal")
    assert not list((tmp_path / "tmp").iterdir()) and (cache_dir().stat().st_mode & 0o077) == 0
    data = path.read_bytes()
    for tampered in (marshal.dumps({"sha": "evil"}), data[:-3] + marshal.dumps(7)[:3], data[: len(data) // 2]):
        path.write_bytes(tampered)
        assert disk_cached("t", "k1", build) == {"sha": "沙", "n": [1, 2]}  # rebuilt, never the tampered value
    assert len(calls) == 5 and path.read_bytes() == data


def test_a_shared_cache_folder_is_not_used(tmp_path, monkeypatch):
    from detector.text.phonetic import disk_cached

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "jingwang").mkdir(mode=0o777)
    os.chmod(tmp_path / "jingwang", 0o777)  # writable by anyone: never read from, never written
    (tmp_path / "jingwang" / "planted").write_bytes(b"x")
    assert disk_cached("t", "k", lambda: [1]) == [1]
    assert sorted(p.name for p in (tmp_path / "jingwang").iterdir()) == ["planted"]
