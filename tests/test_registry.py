"""Model registry: numbered versions, an atomically switched `current` link that
`Detector.from_pretrained(models/NAME)` follows, promote / rollback with history, and the CLI."""
from __future__ import annotations

import os
import threading

import pytest
from typer.testing import CliRunner

import training.cli.retrain  # noqa: F401  (registers `retrain`)
import detector.cli  # noqa: F401  (registers the runtime commands, `models` among them)
from detector.cli._app import app
from detector.model.core import Detector
from detector.registry import Registry, list_versions

runner = CliRunner()


@pytest.fixture
def registry(tiny_model, tmp_path):
    reg = Registry(tmp_path / "models" / "tiny")
    for _ in range(3):
        reg.add_copy(tiny_model)
    return reg


def test_versions_are_numbered_and_current_is_followed_by_from_pretrained(registry, tiny_model):
    assert registry.versions() == ["v0001", "v0002", "v0003"] and registry.current() is None
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".staging")]  # renamed into place
    registry.promote("2", reason="test")
    assert registry.current() == "v0002" and os.readlink(registry.root / "current") == "v0002"  # relative link
    det = Detector.from_pretrained(registry.root)
    assert det.model_id == Detector.from_pretrained(tiny_model).model_id
    assert registry.resolve("v3") == registry.resolve(3) == "v0003"
    with pytest.raises(ValueError, match="no version v0009"):
        registry.promote(9)
    with pytest.raises(ValueError, match="plain model folder"):
        Registry(tiny_model)


def test_rollback_goes_back_through_promotions(registry):
    registry.promote(1)
    registry.promote(2)
    registry.promote(3, reason="better on rumor")
    assert registry.rollback() == ("v0003", "v0002")
    assert registry.rollback() == ("v0002", "v0001")  # two promotions back, not forth again
    with pytest.raises(ValueError, match="nothing to roll back to"):
        registry.rollback()
    assert registry.rollback(to="3") == ("v0001", "v0003")
    events = [(e["event"], e["from"], e["to"]) for e in registry.history()]
    assert events == [("promote", None, "v0001"), ("promote", "v0001", "v0002"), ("promote", "v0002", "v0003"),
                      ("rollback", "v0003", "v0002"), ("rollback", "v0002", "v0001"), ("rollback", "v0001", "v0003")]
    assert registry.history()[2]["reason"] == "better on rumor"


def test_switching_current_is_atomic_for_readers(registry):
    registry.promote(1)
    stop, missing = threading.Event(), []

    def read():
        while not stop.is_set():
            if not (registry.root / "current" / "config.json").is_file():
                missing.append(1)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in readers:
        t.start()
    for k in range(150):
        registry.promote(1 + k % 3)
    stop.set()
    for t in readers:
        t.join()
    assert not missing
    assert not [p.name for p in registry.root.iterdir() if ".tmp" in p.name]


def test_models_cli_list_promote_rollback(registry, tmp_path):
    r = runner.invoke(app, ["models", "promote", str(registry.root), "v2", "--reason", "manual"])
    assert r.exit_code == 0, r.output
    assert "current none -> v0002" in r.output
    r = runner.invoke(app, ["models", "list", str(registry.root)])
    assert r.exit_code == 0, r.output
    assert "v0001" in r.output and "v0003" in r.output and "tiny@1" in r.output and "cold" in r.output
    rows = list_versions(registry.root)
    assert [v["current"] for v in rows] == [False, True, False]
    assert set(rows[0]["metrics"]) == {"rumor", "paid_posting", "harassment"}
    r = runner.invoke(app, ["models", "rollback", str(registry.root)])
    assert r.exit_code == 0 and "v0002 -> v0001" in r.output
    r = runner.invoke(app, ["models", "promote", str(registry.root), "v7"])
    assert r.exit_code == 2 and "no version v0007" in r.output
    r = runner.invoke(app, ["models", "list", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "no model registry" in r.output


def test_train_into_a_registry_adds_a_current_version_that_retrain_and_list_accept(tiny_root, tmp_path, monkeypatch):
    """What `make run` does: models/default starts as a registry with v0001 current."""
    from tests.conftest import tiny_recipe
    from training.trainers import dispatch as train_mod

    recipe = tmp_path / "tiny.toml"
    recipe.write_text("[model]\ntype = \"fast\"\n", encoding="utf-8")
    monkeypatch.setattr(train_mod, "load_recipe", lambda config, overrides=None: tiny_recipe())
    monkeypatch.setenv("JINGWANG_DATA", str(tiny_root))
    out = tmp_path / "models" / "default"
    assert train_mod.train_from_recipe(recipe, out, log=lambda m: None, registry=True) == "v0001"
    reg = Registry(out)
    assert reg.current() == "v0001" and Detector.from_pretrained(out).model_id == "tiny@1"
    assert (out / "history.jsonl").is_file()  # the Makefile's target
    assert train_mod.train_from_recipe(recipe, out, log=lambda m: None, registry=True) == "v0002"
    assert Detector.from_pretrained(out).model_id == "tiny@2"
    r = runner.invoke(app, ["models", "list", str(out)])
    assert r.exit_code == 0 and "v0002" in r.output
    with pytest.raises(ValueError, match="plain model folder"):
        train_mod.train_from_recipe(recipe, out / "v0001", log=lambda m: None, registry=True)


def test_history_is_fsynced_before_the_switch_and_temporary_links_are_cleaned(registry, monkeypatch):
    """Issue 13 row 22: the history line is on disk before `current` moves; a crash at the switch
    leaves no `.current.tmp-*` link, and stale ones from earlier crashes are removed."""
    import detector.registry as registry_mod

    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.path.basename(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(registry_mod.os, "fsync", fsync)
    monkeypatch.setattr(registry_mod.os, "replace", replace)
    registry.promote(1)
    assert events.index(("fsync", "history.jsonl")) < events.index(("replace", "current"))
    os.symlink("v0003", registry.root / ".current.tmp-99999-deadbeef")  # left by a crashed process

    def crash(src, dst):
        raise OSError("crash at the switch")
    monkeypatch.setattr(registry_mod.os, "replace", crash)
    with pytest.raises(OSError, match="crash"):
        registry.promote(2)
    assert [e["to"] for e in registry.history()] == ["v0001", "v0002"] and registry.current() == "v0001"
    assert not [p.name for p in registry.root.iterdir() if ".tmp" in p.name]


def test_a_torn_history_line_does_not_break_rollback(registry):
    registry.promote(1)
    registry.promote(2)
    with open(registry.root / "history.jsonl", "a", encoding="utf-8") as f:
        f.write('{"event": "promote", "fr')  # a crash mid-append
    registry.promote(3)
    assert [e["to"] for e in registry.history()] == ["v0001", "v0002", "v0003"]
    assert registry.rollback() == ("v0003", "v0002")


def test_a_registry_without_current_says_so_and_how_to_fix_it(registry):
    from detector.model.core import ModelNotFoundError

    with pytest.raises(ModelNotFoundError) as e:
        Detector.from_pretrained(registry.root)
    assert "without a current version" in str(e.value) and "train one" not in str(e.value)
    assert f"jingwang models promote {registry.root} v0003" in str(e.value)
    r = runner.invoke(app, ["models", "list", str(registry.root)])
    assert r.exit_code == 0 and "no current version" in r.output and "models promote" in r.output
    registry.promote(2)
    (registry.root / "current").unlink()  # e.g. removed by hand
    with pytest.raises(ModelNotFoundError, match=r"models promote .* v0002` \(v0002 was the last current one\)"):
        Detector.from_pretrained(registry.root)


def test_staging_folders_of_dead_processes_are_removed(registry):
    dead = registry.root / ".staging-999999-0123456789ab"
    dead.mkdir()
    mine = registry.staging()
    assert mine.is_dir() and not dead.exists()
