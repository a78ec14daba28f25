"""End-to-end speed of `jingwang score` on realistic input: posts/s, peak RSS and a profile.

Two inputs, each a random sample (fixed seed, drawn over every line of the files, never their
head) of real texts from ../shared/datasets:
  comments  unlabeled_posts/chnci_comments.jsonl (Weibo/Douyin/Bilibili comments, mean ~21 characters)
  long      weibo21/*.jsonl and cold/*.jsonl (Weibo posts and COLD texts, mean ~62 characters)

Every run is the real CLI in a subprocess, so process start-up, imports and model loading are
included. Each rate is also given as a ratio to a plain `jieba.lcut` loop over the same texts,
run in the same session (before and after the set's runs; their mean is the reference), since
absolute figures move with the machine and its load. Peak RSS is the largest sum of RSS over
the CLI's process tree (workers included), sampled every 50 ms, or the largest single process
(wait4) if that is larger; peak PSS sums each process's proportional share of its pages (forked
workers share the parent's model). A cProfile of one run per set (with evidence, one process, the first
--profile-posts posts of the sample) gives the top 15 functions by cumulative time. Start-up:
`import training.cli.commands`, then `detector.batch.run` (what `jingwang score` imports) and loading the
model, timed in a fresh process (fastest of 3).

    python benchmarks/score_speed.py                                  # both sets, 20,000 posts each
    python benchmarks/score_speed.py --sets comments --size 5000 --runs fast fast-w2
    python benchmarks/score_speed.py --code before=/tmp/before --code after=.   # two checkouts, one session

Runs (models from --fast / --transformer / --onnx / --cascade; -noev = --no-evidence,
-w2 = --workers 2): fast, fast-noev, fast-w2, fast-noev-w2 (default), transformer,
transformer-noev, onnx, onnx-noev, onnx-noev-w2, cascade, cascade-noev, cascade-w2, and
transformer-gpu (--device cuda --batch-size 1024; added when a GPU is present).
`--code NAME=DIR[@MODEL]` runs the CLI of another checkout (DIR holding detector/ and training/,
with this virtual environment), with its own fast model if given; variants of one run follow
each other, so they see the same load.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALL_RUNS = ["fast", "fast-noev", "fast-w2", "fast-noev-w2", "transformer", "transformer-noev", "onnx",
            "onnx-noev", "onnx-noev-w2", "cascade", "cascade-noev", "cascade-w2", "transformer-gpu"]
DEFAULT_RUNS = ["fast", "fast-noev", "fast-w2", "fast-noev-w2"]
SETS = {"comments": ["unlabeled_posts/chnci_comments.jsonl"],
        "long": ["weibo21/train.jsonl", "weibo21/val.jsonl", "weibo21/test.jsonl",
                 "cold/train.jsonl", "cold/dev.jsonl", "cold/test.jsonl"]}
SLOW = ("transformer", "onnx")  # occlusion evidence on CPU: only up to --max-slow-posts
TOP = 15


def data_root() -> Path:
    """The shared data folder, as training.data.sources.default_root (not imported: this process must
    stay small, or a child it starts would count its pages in the child's peak RSS)."""
    env = os.environ.get("JINGWANG_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


def line_offsets(path: Path) -> list[int]:
    """Byte offset of every non-blank line of a file."""
    out, pos = [], 0
    with open(path, "rb") as f:
        for raw in f:
            if raw.strip():
                out.append(pos)
            pos += len(raw)
    return out


def sample_records(files: list[Path], n: int, seed: int) -> list[dict]:
    """n records drawn at random (without replacement) from every line of `files` (all of them
    when they hold fewer than n), in the drawn order."""
    where = [(f, off) for f in files for off in line_offsets(f)]
    picked = random.Random(seed).sample(where, min(n, len(where)))
    out, handles = [], {}
    try:
        for f, off in picked:
            h = handles.setdefault(f, open(f, "rb"))
            h.seek(off)
            out.append(json.loads(h.readline()))
    finally:
        for h in handles.values():
            h.close()
    return out


def write_input(path: Path, records: list[dict]) -> dict:
    """The sample as a JSONL input (id, text, author, created_at); its size and mean length."""
    chars = 0
    with open(path, "w", encoding="utf-8") as out:
        for i, r in enumerate(records):
            chars += len(r["text"])
            out.write(json.dumps({"id": f"p{i}", "text": r["text"], "author": r.get("platform", ""),
                                  "created_at": r.get("created_at", "")}, ensure_ascii=False) + "\n")
    return {"posts": len(records), "mean_chars": round(chars / max(1, len(records)), 1)}


JIEBA_LOOP = """
import json, sys, time
import jieba
jieba.setLogLevel(60)
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
t = time.perf_counter(); jieba.initialize(); init = time.perf_counter() - t
t = time.perf_counter()
for x in texts:
    jieba.lcut(x)
secs = time.perf_counter() - t
print(json.dumps({"posts": len(texts), "init_s": init, "loop_s": secs}))
"""

STARTUP = """
import json, sys, time
t0 = time.perf_counter()
import training.cli.commands
t1 = time.perf_counter()
import detector.batch.run
t2 = time.perf_counter()
det = detector.batch.process.ModelSpec(sys.argv[1]).load()
t3 = time.perf_counter()
det.score(["今天天气不错"], evidence=True)
t4 = time.perf_counter()
print(json.dumps({"cli_import_s": t1 - t0, "score_import_s": t2 - t1, "load_s": t3 - t2, "first_post_s": t4 - t3,
                  "code": detector.__file__}))
"""


def child_json(code: str, args: list[str], cwd: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def jieba_rate(inp: Path) -> dict:
    r = child_json(JIEBA_LOOP, [str(inp)], ROOT)
    return {**r, "posts_per_s": r["posts"] / r["loop_s"]}


def startup(code: Path, model: str, repeats: int = 3) -> dict:
    """Fastest of `repeats` fresh processes: importing the CLI, loading the model, the first post."""
    runs = [child_json(STARTUP, [model], code) for _ in range(repeats)]
    keys = ("cli_import_s", "score_import_s", "load_s", "first_post_s")
    best = {k: round(min(r[k] for r in runs), 3) for k in keys}
    total = min(r["cli_import_s"] + r["score_import_s"] + r["load_s"] for r in runs)
    return {**best, "imports_and_load_s": round(total, 3), "code": runs[0]["code"]}


def tree_pids(root: int) -> list[int]:
    """`root` and its descendants (from /proc)."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parents[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(c for c, par in parents.items() if par == p)
    return out


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in kB; PSS shares each page among the processes that map it, so
    the PSS of workers forked from one parent adds up to the memory they really hold."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for x in f:
                if x.startswith("Rss:"):
                    rss = int(x.split()[1])
                elif x.startswith("Pss:"):
                    pss = int(x.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss


def tree_memory_kb(root: int) -> tuple[int, int]:
    """Sums of RSS and of PSS over `root` and its descendants."""
    mem = [memory_kb(p) for p in tree_pids(root)]
    return sum(m[0] for m in mem), sum(m[1] for m in mem)


def measure(cmd: list[str], cwd: Path) -> dict:
    """Run `cmd`; wall seconds, peak tree RSS and PSS (sampled), largest process RSS (wait4)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL)
    peak, peak_pss, done = [0], [0], threading.Event()

    def sample():
        while not done.is_set():
            rss, pss = tree_memory_kb(proc.pid)
            peak[0], peak_pss[0] = max(peak[0], rss), max(peak_pss[0], pss)
            done.wait(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    done.set()
    t.join()
    if os.waitstatus_to_exitcode(status):
        raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), cmd)
    return {"seconds": secs, "peak_rss_mb": max(peak[0], usage.ru_maxrss) / 1024,
            "peak_pss_mb": peak_pss[0] / 1024, "max_process_rss_mb": usage.ru_maxrss / 1024}


def run_spec(name: str, models: dict) -> tuple[str, list[str]] | None:
    """(model folder, extra CLI arguments) of a named run; None if its model is missing."""
    base, *mods = name.split("-")
    model = models["fast" if base == "cascade" else base]
    args = ["--cascade", models["cascade"]] if base == "cascade" else []
    for m in mods:
        args += {"noev": ["--no-evidence"], "w2": ["--workers", "2"],
                 "gpu": ["--device", "cuda", "--batch-size", "1024"]}[m]
    needed = [model] + ([models["cascade"]] if base == "cascade" else [])
    return None if any(not p or not Path(p).exists() for p in needed) else (model, args)


def score_cmd(inp: Path, model: str, out: Path, args: list[str]) -> list[str]:
    return ["-m", "detector.cli", "score", str(inp), "--model", model, "--out", str(out),
            "--flagged", str(out.with_suffix(".flagged.jsonl")), "--quiet", *args]


def run(name: str, model: str, args: list[str], inp: Path, meta: dict, code: Path, tmp: Path) -> dict:
    out = tmp / f"{name}.jsonl"
    load = os.getloadavg()[0]
    m = measure([sys.executable, *score_cmd(inp, model, out, args)], code)
    with open(out, "rb") as f:
        scored = sum(1 for _ in f)
    n = meta["posts"]
    return {"run": name, "posts": n, "scored": scored, "seconds": round(m["seconds"], 2),
            "posts_per_s": round(n / m["seconds"], 1), "peak_rss_mb": round(m["peak_rss_mb"], 1),
            "peak_pss_mb": round(m["peak_pss_mb"], 1),
            "max_process_rss_mb": round(m["max_process_rss_mb"], 1), "load_1m_before": round(load, 2),
            "load_1m_after": round(os.getloadavg()[0], 2), "args": args, "model": model}


def wrapper(file: str, line: int, fn: str) -> bool:
    """Frames that only hold others (start-up, import machinery, typer dispatch): left out of the
    top list, whose first rows would otherwise all be the whole run."""
    return (fn == "<module>" or file.startswith("<") or "/typer/" in file
            or (file == "~" and any(w in fn for w in ("builtins.exec", "__import__", "_imp.exec"))))


def profile(model: str, inp: Path, posts: int, code: Path, tmp: Path) -> dict:
    """cProfile of a one-process run with evidence on the first `posts` posts of `inp`: the top
    functions by cumulative time, import machinery and dispatch left out (start-up is measured
    apart)."""
    import pstats

    part, stats = tmp / "profile-in.jsonl", tmp / "profile.out"
    with open(inp, encoding="utf-8") as f, open(part, "w", encoding="utf-8") as g:
        for _, line in zip(range(posts), f):
            g.write(line)
    cmd = [sys.executable, "-m", "cProfile", "-o", str(stats), *score_cmd(part, model, tmp / "profile.jsonl", [])]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=code, check=True, stdout=subprocess.DEVNULL)
    secs = time.perf_counter() - t0
    st = pstats.Stats(str(stats))
    rows = sorted(((k, v) for k, v in st.stats.items() if not wrapper(*k)), key=lambda kv: kv[1][3], reverse=True)[:TOP]
    top = [{"function": f"{Path(f).name}:{line}({fn})", "ncalls": nc, "tottime": round(tt, 3),
            "cumtime": round(ct, 3)} for (f, line, fn), (_, nc, tt, ct, _) in rows]
    return {"posts": min(posts, sum(1 for _ in open(part, "rb"))), "seconds_profiled": round(secs, 2),
            "top": top}


def run_set(set_name: str, args, codes: dict, tmp: Path) -> dict:
    """Every run of one input set for every code variant, the jieba loop around them, profiles."""
    files = [data_root() / f for f in SETS[set_name]]
    inp = tmp / f"{set_name}.jsonl"
    meta = write_input(inp, sample_records(files, args.size, args.seed))
    print(f"# {set_name}: {meta['posts']:,} posts, mean {meta['mean_chars']} characters", flush=True)
    jieba = [jieba_rate(inp)]
    results = []
    for name in args.runs:
        base, *mods = name.split("-")
        if base in SLOW and not {"noev", "gpu"} & set(mods) and meta["posts"] > args.max_slow_posts:
            continue
        for label, (code, models) in codes.items():
            spec = run_spec(name, models)
            if spec is not None:
                r = {"set": set_name, "code": label, **run(name, *spec, inp, meta, code, tmp)}
                results.append(r)
                print(json.dumps(r), flush=True)
    jieba.append(jieba_rate(inp))
    ref = sum(j["posts_per_s"] for j in jieba) / len(jieba)
    for r in results:
        r["x_jieba"] = round(r["posts_per_s"] / ref, 3)
    profiles = {}
    if args.profile_posts:
        for label, (code, models) in codes.items():
            profiles[label] = profile(models["fast"], inp, args.profile_posts, code, tmp)
    inp.unlink()
    return {**meta, "jieba_lcut": jieba, "jieba_posts_per_s": round(ref, 1), "results": results,
            "profiles": profiles}


def table(sets: dict, startups: dict) -> str:
    rows = ["| set | code | run | posts | seconds | posts/s | x jieba loop | peak RSS / PSS MB | load before/after |",
            "|---|---|---|---|---|---|---|---|---|"]
    for s in sets.values():
        for r in s["results"]:
            rows.append(f"| {r['set']} | {r['code']} | {r['run']} | {r['posts']:,} | {r['seconds']} "
                        f"| {r['posts_per_s']:,.0f} | {r['x_jieba']:.2f} | {r['peak_rss_mb']:,.0f} / {r['peak_pss_mb']:,.0f} "
                        f"| {r['load_1m_before']} / {r['load_1m_after']} |")
    lines = ["\n".join(rows), ""]
    for name, s in sets.items():
        lines.append(f"{name}: {s['posts']:,} posts, mean {s['mean_chars']} characters; jieba.lcut loop "
                     + " / ".join(f"{j['posts_per_s']:,.0f}" for j in s["jieba_lcut"]) + " posts/s (before / after)")
    for label, st in startups.items():
        lines.append(f"start-up ({label}): imports and model load {st['imports_and_load_s']} s (import training.cli.commands "
                     f"{st['cli_import_s']} s, then detector.batch.run {st['score_import_s']} s, model load "
                     f"{st['load_s']} s); first post {st['first_post_s']} s")
    return "\n".join(lines)


def profile_text(sets: dict) -> str:
    out = []
    for name, s in sets.items():
        for label, p in s["profiles"].items():
            out.append(f"\n## profile: {name}, {label}, {p['posts']:,} posts, evidence, one process "
                       f"({p['seconds_profiled']} s under cProfile)\n| cumtime s | tottime s | calls | function |"
                       "\n|---|---|---|---|")
            out += [f"| {t['cumtime']} | {t['tottime']} | {t['ncalls']:,} | `{t['function']}` |" for t in p["top"]]
    return "\n".join(out)


def code_variant(spec: str, models: dict) -> tuple[str, tuple[Path, dict]]:
    """NAME=DIR[@MODEL] -> (NAME, (DIR, the models with MODEL as the fast one))."""
    label, rest = spec.split("=", 1)
    where, _, fast = rest.partition("@")
    return label, (Path(where).resolve(), {**models, "fast": str(Path(fast).resolve())} if fast else models)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fast", "--model", dest="fast", default="models/default")
    ap.add_argument("--transformer", default="runs/transformer-cpu/model")
    ap.add_argument("--onnx", default="runs/transformer-cpu-onnx")
    ap.add_argument("--cascade", default="runs/cascade")
    ap.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    ap.add_argument("--size", type=int, default=20_000, help="posts drawn per set (all if fewer)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--runs", nargs="+", choices=ALL_RUNS, default=DEFAULT_RUNS)
    ap.add_argument("--code", action="append", metavar="NAME=DIR[@MODEL]", help="a checkout to run, with its "
                    "fast model (repeatable; default: current=this one, with --fast)")
    ap.add_argument("--profile-posts", type=int, default=5000, help="posts in each profiled run (0: none)")
    ap.add_argument("--max-slow-posts", type=int, default=10_000,
                    help="transformer/ONNX runs with occlusion evidence only up to this size")
    ap.add_argument("--out", default="results/score_speed.json")
    return ap.parse_args()


def gpu_present() -> bool:
    """In a subprocess: importing torch here would make this process big, and a child started
    by vfork reports its parent's pages in its maximum RSS."""
    probe = "import torch; print(torch.cuda.is_available())"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return r.stdout.strip() == "True"


def main() -> None:
    args = parse_args()
    if gpu_present() and "transformer-gpu" not in args.runs:
        args.runs.append("transformer-gpu")
    models = {k: str(Path(getattr(args, k)).resolve()) for k in ("fast", "transformer", "onnx", "cascade")}
    codes = dict(code_variant(c, models) for c in (args.code or ["current=."]))
    startups = {label: startup(code, m["fast"]) for label, (code, m) in codes.items()}
    sets = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            sets[name] = run_set(name, args, codes, Path(tmp))
    meta = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "gpu": "transformer-gpu" in args.runs,
            "codes": {k: {"dir": str(c), "models": m} for k, (c, m) in codes.items()}, "seed": args.seed,
            "date": time.strftime("%Y-%m-%d %H:%M")}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({**meta, "startup": startups, "sets": sets}, indent=2, ensure_ascii=False),
                              encoding="utf-8")
    print(table(sets, startups))
    print(profile_text(sets))


if __name__ == "__main__":
    main()
