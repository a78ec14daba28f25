"""Issue 16's one table: every model on every set, from the project's own tools.

Rows are models; columns COLD test and Weibo21 test macro-F1, the team's paid-posting eval (F1 at
the model's threshold and best F1 over thresholds), the team's annotated real-comment eval sample
(precision, recall and false flags per 1,000 posts per risk, and the precision of every flag
pooled), and posts/s of `jingwang score` on random real comments. Values carry 95% bootstrap
intervals wherever the tools give them.

    python benchmarks/model_table.py --model fast=models/default --out results/model_table
    python benchmarks/model_table.py --model fast=models/default --model transformer=runs/transformer-cpu \\
        --model cascade=models/default+models/cascade --out results/model_table [--n-model transformer=2000]

Where each number comes from (raw outputs under OUT/):
  benchmark/      `jingwang benchmark` over the COLD, Weibo21 and paid sets of configs/benchmarks.toml
                  (every plain model in one run; benchmark.toml is the subset it was given)
  real-eval/NAME/ `jingwang evaluate MODEL real:eval --risk all` (per risk, and `all_risks`)
  cascade/NAME/   a cascade (FAST+DIR): `jingwang evaluate` takes one model folder, so the same rows
                  are scored with `jingwang score --model FAST --cascade DIR` and measured with
                  evaluate's own functions on the cascade's flags (each post flagged with the
                  thresholds of the model that scored it); its best F1 ranks the mixed scores of the
                  two models, so read it as indicative
  speed/          benchmarks/score_speed.py's `run`: the `jingwang score` CLI in a subprocess on N
                  comments drawn with random.Random(SEED) over every line of
                  unlabeled_posts/chnci_comments.jsonl; wall time including start-up and model
                  load, and the 1-minute load average before and after (shared cores are noisy)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import score_speed  # noqa: E402
from training.data.eval_sets import load_eval_data  # noqa: E402
from training.evaluation.benchmark import BenchSet, load_config, load_set  # noqa: E402
from training.evaluation.evaluate import Evaluation, _jsonable, best_f1, full_metrics, pooled_flags  # noqa: E402

CONFIG = ROOT / "configs" / "benchmarks.toml"
# the sets of configs/benchmarks.toml in the table: key -> set name there
SETS = {"cold": "COLD test", "weibo21": "Weibo21 test", "paid": "Team's paid-posting eval set (hand-written)"}
REAL = "real:eval"
RISKS = ("harassment", "rumor", "paid_posting")
COMMENTS = "unlabeled_posts/chnci_comments.jsonl"


def parse_models(specs: list[str]) -> dict[str, dict]:
    """NAME=FOLDER or NAME=FAST+CASCADE_DIR -> {name: {"model": FOLDER} or {"fast": ..., "cascade": ...}}."""
    out = {}
    for spec in specs:
        name, sep, where = spec.partition("=")
        if not sep or not name or not where:
            raise SystemExit(f"--model {spec!r}: expected NAME=FOLDER or NAME=FAST+CASCADE_DIR")
        if name in out:
            raise SystemExit(f"--model: the name {name!r} is given twice")
        fast, plus, casc = where.partition("+")
        entry = {"fast": fast, "cascade": casc} if plus else {"model": where}
        missing = [p for p in entry.values() if not Path(p).exists()]
        if missing:
            raise SystemExit(f"--model {spec!r}: no such folder {', '.join(missing)}")
        out[name] = {k: str(Path(p).resolve()) for k, p in entry.items()}  # the tools run in ROOT
    plain = [e["model"] for e in out.values() if "model" in e]
    if len(set(plain)) < len(plain):
        raise SystemExit("--model: the same folder is given under two names")
    return out


def run_tool(cmd: list[str], log: Path) -> float:
    """Run one project command, its output into `log`; seconds taken. A failure names the log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        r = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    secs = time.perf_counter() - t0
    if r.returncode:
        tail = log.read_text(encoding="utf-8").splitlines()[-15:]
        raise SystemExit(f"{' '.join(cmd[2:4])} failed (exit {r.returncode}); {log}:\n" + "\n".join(tail))
    return secs


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "detector.cli", *args]


def table_sets() -> dict[str, BenchSet]:
    sets = {s.name: s for s in load_config(CONFIG)["sets"]}
    missing = [n for n in SETS.values() if n not in sets]
    if missing:
        raise SystemExit(f"{CONFIG} has no set named {', '.join(map(repr, missing))}")
    return {k: sets[n] for k, n in SETS.items()}


def toml_value(v) -> str:
    if isinstance(v, dict):  # an inline table; JSON strings, numbers and lists are TOML values
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def write_bench_config(sets: dict[str, BenchSet], path: Path, n_boot: int) -> Path:
    """The table's sets of configs/benchmarks.toml as a config of their own."""
    text = f"bootstrap = {n_boot}\nreport = false\n"
    for s in sets.values():
        text += "\n[[sets]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in vars(s).items() if v not in ("", []))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def bench_cells(m: dict) -> dict:
    """The benchmark metrics of one set that the table shows."""
    keep = ("n", "positives", "flags", "macro_f1", "f1", "precision", "recall", "best_f1", "threshold")
    return {k: m[k] for k in keep if k in m} | {"ci": {k: v for k, v in m.get("ci", {}).items() if k in keep}}


def real_cells(metrics: dict) -> dict:
    keep = ("n", "positives", "flags", "precision", "recall", "f1", "false_flags_per_1000", "correct_flags", "threshold")
    return {r: {k: m[k] for k in keep if k in m} | {"ci": m.get("ci", {})} for r, m in metrics.items()}


def plain_models(models: dict[str, str], sets: dict[str, BenchSet], out: Path, n_boot: int, log) -> dict:
    """`jingwang benchmark` for every plain model at once, then `jingwang evaluate real:eval` each."""
    res = {name: {} for name in models}
    if not models:
        return res
    cfg = write_bench_config(sets, out / "benchmark" / "benchmark.toml", n_boot)
    args = [a for m in models.values() for a in ("--model", m)]
    secs = run_tool(cli("benchmark", str(cfg), *args, "--out", str(out / "benchmark"), "--no-report"),
                    out / "benchmark" / "benchmark.log")
    log(f"benchmark ({', '.join(models)}): {secs:.0f} s")
    bench = json.loads((out / "benchmark" / "metrics.json").read_text(encoding="utf-8"))
    for name, folder in models.items():
        res[name] = {k: bench_cells(bench[folder][s.name]) for k, s in sets.items()}
        res[name]["seconds"] = {"benchmark_all_plain_models": round(secs, 1)}
        where = out / "real-eval" / name
        secs = run_tool(cli("evaluate", folder, REAL, "--risk", "all", "--out", str(where), "--bootstrap",
                            str(n_boot), "--no-report"), where / "evaluate.log")
        log(f"evaluate {name} {REAL}: {secs:.0f} s")
        res[name]["real"] = real_cells(json.loads((where / "metrics.json").read_text(encoding="utf-8")))
        res[name]["seconds"]["evaluate_real"] = round(secs, 1)
    return res


def score_cascade(fast: str, cascade: str, texts: list[str], where: Path) -> list[dict]:
    """`jingwang score --model FAST --cascade DIR` on the texts: one record per text, in order."""
    inp, scored = where / "input.jsonl", where / "scored.jsonl"
    where.mkdir(parents=True, exist_ok=True)
    with open(inp, "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n")
    run_tool(cli("score", str(inp), "--model", fast, "--cascade", cascade, "--out", str(scored), "--no-evidence",
                 "--quiet"), where / "score.log")
    recs = [json.loads(x) for x in scored.read_text(encoding="utf-8").splitlines() if x.strip()]
    if [r["id"] for r in recs] != [str(i) for i in range(len(texts))]:
        raise SystemExit(f"{scored}: expected one record per input post, in order")
    return recs


def flag_metrics(recs: list[dict], y: np.ndarray, risk: str, n_boot: int, first: str = "") -> dict:
    """evaluate's metrics of a cascade's flags for one risk (flags as 0/1 scores, threshold 0.5);
    best F1 over the mixed scores of its two models; the share routed away from `first`."""
    flags = np.array([risk in r["flags"] for r in recs], float)
    m = full_metrics(y, flags, 0.5, None, n_boot)
    m["best_f1"] = best_f1(y, np.array([r["scores"][risk] for r in recs], float))["f1"]
    m["threshold"] = None  # each post's own model's threshold
    m["routed"] = float(np.mean([r["model"] != first for r in recs])) if first else None
    return m


def cascade_model(fast: str, cascade: str, sets: dict[str, BenchSet], out: Path, n_boot: int, log) -> dict:
    """The table's numbers for a cascade, through its scored output (one `jingwang score` run)."""
    from detector.model.core import Detector

    first = Detector.from_pretrained(fast)
    data = {k: load_set(s)[:2] for k, s in sets.items()}
    real = load_eval_data(REAL, "all", first.labels)
    texts = [t for ts, _ in data.values() for t in ts] + real.texts
    t0 = time.perf_counter()
    recs = score_cascade(fast, cascade, texts, out)
    secs = time.perf_counter() - t0
    log(f"score --cascade on {len(texts)} labeled posts: {secs:.0f} s")
    res, at, raw = {}, 0, {}
    for k, (ts, y) in data.items():
        part, at = recs[at:at + len(ts)], at + len(ts)
        raw[k] = flag_metrics(part, y, sets[k].risk, n_boot, first.model_id)
        res[k] = bench_cells(raw[k]) | {"routed": raw[k]["routed"]}
    part, evs = recs[at:], []
    for r in real.labels:
        keep = real.annotated(r)
        sub = [x for x, k in zip(part, keep) if k]
        raw[r] = flag_metrics(sub, real.labels[r][keep], r, n_boot, first.model_id)
        evs.append(Evaluation("real", r, "cascade", [], real.labels[r][keep].astype(int),
                              np.array([r in x["flags"] for x in sub], float), 0.5, raw[r]))
    if len(evs) > 1 and all(len(ev.y) == len(real.texts) for ev in evs):
        raw["all_risks"] = pooled_flags(evs, n_boot)
    res["real"] = real_cells({r: raw[r] for r in [*real.labels, "all_risks"] if r in raw})
    (out / "metrics.json").write_text(json.dumps(_jsonable(raw | {"sets": SETS}), indent=2, ensure_ascii=False),
                                      encoding="utf-8")
    res["seconds"] = {"score_cascade": round(secs, 1)}
    return res


def speed(models: dict[str, dict], sizes: dict[str, int], seed: int, evidence: bool, out: Path, log) -> dict:
    """posts/s of `jingwang score` for each model on random comments (score_speed.run), with the flag
    rate per risk on them. One sample of the largest size is drawn; a model given fewer posts gets its
    first ones (a prefix of a random sample is a random sample)."""
    files = [score_speed.data_root() / COMMENTS]
    drawn = score_speed.sample_records(files, max(sizes.values()), seed)
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, e in models.items():
            inp = Path(tmp) / f"comments-{sizes[name]}.jsonl"
            meta = score_speed.write_input(inp, drawn[:sizes[name]])
            args = ([] if evidence else ["--no-evidence"]) + (["--cascade", e["cascade"]] if "cascade" in e else [])
            r = score_speed.run("run", e.get("model") or e["fast"], args, inp, meta, ROOT, Path(tmp))
            flags = [json.loads(x)["flags"] for x in open(Path(tmp) / "run.jsonl", encoding="utf-8")]
            r["flag_rate"] = {k: round(sum(k in f for f in flags) / len(flags), 4) for k in RISKS}
            r["any_flag"] = round(sum(bool(f) for f in flags) / len(flags), 4)
            res[name] = r | {"mean_chars": meta["mean_chars"], "seed": seed, "file": str(files[0]),
                             "evidence": evidence, "loadavg_after": [round(x, 2) for x in os.getloadavg()]}
            log(f"speed {name}: {r['posts_per_s']:.0f} posts/s on {r['posts']} comments "
                f"(load {r['load_1m_before']} -> {r['load_1m_after']})")
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed.json").write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    return res


def speed_sizes(models: dict, n: int, per_model: list[str]) -> dict[str, int]:
    """--n for every model, --n-model NAME=N for some."""
    sizes = dict.fromkeys(models, n)
    for spec in per_model:
        name, _, v = spec.partition("=")
        if name not in models or not v.isdigit() or int(v) < 1:
            raise SystemExit(f"--n-model {spec!r}: expected NAME=N with NAME one of {', '.join(models)} and N >= 1")
        sizes[name] = int(v)
    return sizes


def num(v, digits: int = 3) -> str:
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"


def with_ci(m: dict, key: str, digits: int = 3) -> str:
    ci = m.get("ci", {}).get(key)
    text = num(m.get(key), digits)
    return text + (f" [{num(ci[0], digits)}, {num(ci[1], digits)}]" if ci and text != "—" else "")


def real_cell(m: dict | None) -> str:
    if not m:
        return "—"
    p = with_ci(m, "precision") if m.get("flags", 1) else "— (no flags)"
    r = with_ci(m, "recall") if m.get("positives", 1) else "— (no positives)"
    f1 = with_ci(m, "f1") if m.get("positives", 1) else "—"
    return f"P {p} · R {r} · F1 {f1} · {with_ci(m, 'false_flags_per_1000', 0)}"


def row(name: str, r: dict) -> list[str]:
    real = r.get("real", {})
    a = real.get("all_risks")
    pooled = "—" if not a else (f"{with_ci(a, 'precision')} ({a['flags']} flags, "
                                f"{with_ci(a, 'false_flags_per_1000', 0)} false /1,000)")
    s = r.get("speed")
    spd = "—" if not s else (f"{s['posts_per_s']:,.0f} (n {s['posts']:,}, load {s['load_1m_before']:.1f}"
                             f"→{s['load_1m_after']:.1f})")
    flagged = "—" if not s else " / ".join(f"{100 * s['flag_rate'][k]:.1f}" for k in RISKS) + \
        f" (any {100 * s['any_flag']:.1f})"
    routed = [r[k].get("routed") for k in SETS if r.get(k, {}).get("routed") is not None]
    label = name + (f" (routed {100 * np.mean(routed):.1f}% of labeled posts)" if routed else "")
    return [label, with_ci(r["cold"], "macro_f1"), with_ci(r["weibo21"], "macro_f1"), with_ci(r["paid"], "f1"),
            num(r["paid"].get("best_f1")), *(real_cell(real.get(k)) for k in RISKS), pooled, spd, flagged]


def markdown(results: dict[str, dict], meta: dict) -> str:
    first = next(iter(results.values()))
    counts = {k: first.get("real", {}).get(k, {}) for k in RISKS}
    real_head = [f"real eval {k} ({c.get('positives', '?')} of {c.get('n', 0):,}): P · R · F1 · false flags /1,000"
                 for k, c in counts.items()]
    head = ["model", f"COLD test macro-F1 (n {first['cold']['n']:,})",
            f"Weibo21 test macro-F1 (n {first['weibo21']['n']:,})",
            f"paid eval F1 at threshold (n {first['paid']['n']})", "paid eval best F1", *real_head,
            "real eval, all flags: precision", "posts/s (1-min load before→after)",
            "% flagged " + " / ".join(RISKS) + " on those comments"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row(n, r)) + " |" for n, r in results.items()]
    notes = [
        "", f"Values: value [95% bootstrap CI, {meta['bootstrap']} resamples]; flags at each model's own thresholds "
        "(chosen on dev). COLD / Weibo21 / paid: `jingwang benchmark` (configs/benchmarks.toml sets "
        f"{', '.join(repr(s) for s in SETS.values())}); real eval: `jingwang evaluate MODEL real:eval --risk all` "
        "(the team's annotated sample, never trained or tuned on); \"all flags\" pools every risk's flags.",
        f"posts/s: `jingwang score{'' if meta['evidence'] else ' --no-evidence'}` in a fresh process (start-up and model "
        f"load included) on n comments drawn with random.Random({meta['seed']}) over every line of {COMMENTS} "
        f"(a model with a smaller n gets the first n of the same draw); {meta['cpus']} CPUs shared with other work, so read the load average beside each rate.",
        "Cascades (FAST+DIR): scored with `jingwang score --model FAST --cascade DIR` and measured with evaluate's "
        "functions on its flags; their best F1 ranks the two models' mixed scores.",
        f"{meta['date']}; {meta['total_seconds']:.0f} s in all.", ""]
    return "\n".join(lines + notes)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, metavar="NAME=FOLDER|NAME=FAST+CASCADE_DIR")
    ap.add_argument("--out", type=Path, default=Path("results/model_table"))
    ap.add_argument("--n", type=int, default=20_000, help="random real comments for posts/s (0: no speed runs)")
    ap.add_argument("--n-model", action="append", default=[], metavar="NAME=N", help="fewer comments for a slow model")
    ap.add_argument("--seed", type=int, default=14, help="seed of the comment sample (score_speed.py's)")
    ap.add_argument("--bootstrap", type=int, default=load_config(CONFIG)["bootstrap"])
    ap.add_argument("--evidence", action="store_true", help="time `jingwang score` with evidence (its default)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    models, sets = parse_models(a.model), table_sets()
    a.out.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", flush=True)
    plain = plain_models({n: e["model"] for n, e in models.items() if "model" in e}, sets, a.out, a.bootstrap, log)
    results = {}
    for name, e in models.items():
        results[name] = {"spec": e} | (plain[name] if "model" in e else
                                       cascade_model(e["fast"], e["cascade"], sets, a.out / "cascade" / name,
                                                     a.bootstrap, log))
    if a.n > 0:
        sizes = speed_sizes(models, a.n, a.n_model)
        for name, s in speed(models, sizes, a.seed, a.evidence, a.out / "speed", log).items():
            results[name]["speed"] = s
    meta = {"n": a.n, "n_model": a.n_model, "seed": a.seed, "bootstrap": a.bootstrap, "evidence": a.evidence, "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M"), "total_seconds": round(time.perf_counter() - t0, 1),
            "command": " ".join(sys.argv)}
    (a.out / "table.md").write_text(markdown(results, meta), encoding="utf-8")
    (a.out / "table.json").write_text(json.dumps(_jsonable({"meta": meta, "models": results}), indent=2,
                                                 ensure_ascii=False), encoding="utf-8")
    print((a.out / "table.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
