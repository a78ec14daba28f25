"""End-to-end speed of `jingwang score`: posts/s and peak RSS on N real crawled posts.

Posts come from ../shared/datasets/unlabeled_posts (real Weibo/Douyin/Bilibili comments),
repeated to reach N. Every run is the real CLI in a subprocess (start-up and model loading
included). Peak RSS is the largest sum of RSS over the CLI's process tree (workers included),
sampled every 50 ms, or the largest single process (from wait4) if that is larger.

    python benchmarks/score_speed.py --sizes 10000 100000 --out results/score_speed.json
    python benchmarks/score_speed.py --runs fast fast-w2 onnx onnx-noev cascade --sizes 10000
    python benchmarks/score_speed.py --runs fast-noev --sizes 1000000        # memory on a million posts

Runs (models from --fast / --transformer / --onnx / --cascade; -noev = --no-evidence,
-w2 = --workers 2): fast, fast-noev, fast-w2, fast-noev-w2, transformer (torch fp32, evidence
by occlusion), transformer-noev, onnx (ONNX int8, evidence), onnx-noev, onnx-noev-w2, cascade,
cascade-noev, cascade-w2, and transformer-gpu (--device cuda --batch-size 1024; added when a
GPU is present).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def default_root() -> Path:
    """The shared data folder, as training.data.default_root (not imported: this process must stay
    small, see make_input)."""
    env = os.environ.get("JINGWANG_DATA")
    return Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"

ALL_RUNS = ["fast", "fast-noev", "fast-w2", "fast-noev-w2", "transformer", "transformer-noev", "onnx", "onnx-noev",
            "onnx-noev-w2", "cascade", "cascade-noev", "cascade-w2", "transformer-gpu"]
DEFAULT_RUNS = ["fast", "fast-noev", "fast-w2", "transformer-noev", "onnx-noev", "onnx-noev-w2", "onnx", "cascade"]


def make_input(path: Path, n: int, pool: int = 200_000) -> None:
    """n posts: the first `pool` comments, again and again. Streamed, so this process stays small
    (a subprocess forked from a big parent would count the parent's pages in its peak RSS)."""
    src = default_root() / "unlabeled_posts" / "chnci_comments.jsonl"
    i = 0
    with open(path, "w", encoding="utf-8") as out:
        while i < n:
            with open(src, encoding="utf-8") as f:
                for line in itertools.islice(f, min(pool, n - i)):
                    r = json.loads(line)
                    out.write(json.dumps({"id": f"p{i}", "text": r["text"], "author": r.get("platform", ""),
                                          "created_at": r.get("created_at", "")}, ensure_ascii=False) + "\n")
                    i += 1


def run_spec(name: str, models: dict) -> tuple[str, list[str]] | None:
    """(model folder, extra CLI arguments) of a named run; None if its model is missing."""
    base, *mods = name.split("-")
    model = {"fast": models["fast"], "transformer": models["transformer"], "onnx": models["onnx"],
             "cascade": models["fast"]}[base]
    args = ["--cascade", models["cascade"]] if base == "cascade" else []
    for m in mods:
        args += {"noev": ["--no-evidence"], "w2": ["--workers", "2"],
                 "gpu": ["--device", "cuda", "--batch-size", "1024"]}[m]
    needed = [model] + ([models["cascade"]] if base == "cascade" else [])
    return None if any(not p or not Path(p).exists() for p in needed) else (model, args)


def tree_rss_kb(root: int) -> int:
    """Sum of VmRSS over `root` and its descendants (from /proc)."""
    parents, rss = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parents[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/status") as f:
                rss[int(d)] = next((int(x.split()[1]) for x in f if x.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(c for c, par in parents.items() if par == p)
    return total


def measure(cmd: list[str]) -> dict:
    """Run `cmd`; wall seconds, peak tree RSS (sampled), largest process RSS (wait4)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(proc.pid))
            done.wait(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    done.set()
    t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    # the sampler can miss a short peak of one process; wait4's maximum cannot
    return {"seconds": secs, "peak_rss_mb": max(peak[0], usage.ru_maxrss) / 1024,
            "max_process_rss_mb": usage.ru_maxrss / 1024}


def run(name: str, model: str, args: list[str], inp: Path, n: int, tmp: Path) -> dict:
    out = tmp / f"{name}.jsonl"
    cmd = [sys.executable, "-m", "training.cli", "score", str(inp), "--model", model, "--out", str(out),
           "--flagged", str(tmp / f"{name}-flagged.jsonl"), "--quiet", *args]
    load = os.getloadavg()[0]
    m = measure(cmd)
    lines, models = 0, {}
    with open(out, encoding="utf-8") as f:  # one pass: count the lines, sample every 97th's model
        for lines, line in enumerate(f, 1):
            if (lines - 1) % 97 == 0:
                mid = json.loads(line)["model"]
                models[mid] = models.get(mid, 0) + 1
    out.unlink()
    return {"run": name, "posts": n, "scored": lines, "seconds": round(m["seconds"], 2),
            "posts_per_s": round(n / m["seconds"], 1), "peak_rss_mb": round(m["peak_rss_mb"], 1),
            "max_process_rss_mb": round(m["max_process_rss_mb"], 1), "load_1m_before": round(load, 2),
            "load_1m_after": round(os.getloadavg()[0], 2), "args": args, "model": model,
            "records_by_model_sampled": models}


def table(results: list[dict]) -> str:
    rows = ["| run | posts | seconds | posts/s | peak RSS (MB, all processes) | load before/after |",
            "|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r['run']} | {r['posts']:,} | {r['seconds']} | {r['posts_per_s']:,.0f} | {r['peak_rss_mb']:,.0f} "
                    f"| {r['load_1m_before']} / {r['load_1m_after']} |")
    return "\n".join(rows)


def gpu_present() -> bool:
    """In a subprocess: importing torch here would make this process big, and a child started
    by vfork reports its parent's pages in its maximum RSS."""
    probe = "import torch; print(torch.cuda.is_available())"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return r.stdout.strip() == "True"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fast", "--model", dest="fast", default="models/default")
    ap.add_argument("--transformer", default="runs/transformer-cpu/model")
    ap.add_argument("--onnx", default="runs/transformer-cpu-onnx")
    ap.add_argument("--cascade", default="runs/cascade")
    ap.add_argument("--runs", nargs="+", default=DEFAULT_RUNS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--max-slow-posts", type=int, default=10_000,
                    help="transformer runs with occlusion evidence only up to this size")
    ap.add_argument("--merge", action="store_true", help="keep the results of --out for runs not rerun")
    ap.add_argument("--out", default="results/score_speed.json")
    args = ap.parse_args()
    models = {"fast": args.fast, "transformer": args.transformer, "onnx": args.onnx, "cascade": args.cascade}
    gpu = gpu_present()
    runs = list(args.runs) + (["transformer-gpu"] if gpu and "transformer-gpu" not in args.runs else [])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in args.sizes:
            inp = tmp / f"in{n}.jsonl"
            make_input(inp, n)
            for name in runs:
                spec = run_spec(name, models)
                slow = name in ("transformer", "transformer-w2", "onnx", "onnx-w2")  # occlusion evidence
                if spec is None or (slow and n > args.max_slow_posts):
                    continue
                r = run(name, *spec, inp, n, tmp)
                results.append(r)
                print(json.dumps(r), flush=True)
            inp.unlink()
    if args.merge and Path(args.out).is_file():
        done = {(r["run"], r["posts"]) for r in results}
        old = json.loads(Path(args.out).read_text(encoding="utf-8"))["results"]
        results = [r for r in old if (r["run"], r["posts"]) not in done] + results
        results.sort(key=lambda r: (r["posts"], ALL_RUNS.index(r["run"]) if r["run"] in ALL_RUNS else 99))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    meta = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "gpu": gpu, "models": models, "date": time.strftime("%Y-%m-%d %H:%M")}
    Path(args.out).write_text(json.dumps({**meta, "results": results}, indent=2), encoding="utf-8")
    print(table(results))


if __name__ == "__main__":
    main()
