"""What int8 ONNX export costs and whether it is right on this CPU: every quantisation setting
against the torch fp32 model it came from.

Two steps, so that the measurement can also run under an emulated CPU without VNNI
(`qemu-x86_64 -cpu Haswell`: AVX2, no AVX-512, no VNNI; the export needs torch, the measurement
only ONNX Runtime):

    python benchmarks/onnx_int8.py export --model runs/transformer-cpu/model --dest runs/onnx-int8
    python benchmarks/onnx_int8.py measure --dest runs/onnx-int8 --out results/onnx_int8.json
    qemu-x86_64 -cpu Haswell .venv/bin/python benchmarks/onnx_int8.py measure --dest runs/onnx-int8 \
        --out results/onnx_int8-haswell.json --speed-n 0

`measure` writes, per variant: the CPU features ONNX Runtime sees, max |p - p_torch| on the ONNX
tests' texts and on the folder's reference texts, macro-F1 on COLD test (harassment) and Weibo21
test (rumor) at the model's own thresholds, and posts/s on 2,000 random real comments (fixed
seed; Detector.predict_proba, cleaning included, one process). The load-time reference check is
bypassed here on purpose: the point is to see how wrong a refused folder would have been.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# name -> export_onnx keyword arguments (None: the torch model itself)
VARIANTS = {
    "fp32": {"int8": False},
    "s8-full-range": {"reduce_range": False},                      # the export before issue 11
    "s8-7bit": {"reduce_range": True},                             # the default now
    "u8": {"reduce_range": False, "weight_type": "u8"},
    "s8-7bit-all-int8": {"reduce_range": True, "keep_ffn_output": False},
    "s8-7bit-per-tensor": {"reduce_range": True, "per_channel": False},
}
SETS = {"COLD test": ("cold/test.jsonl", "harassment"), "Weibo21 test": ("weibo21/test.jsonl", "rumor")}


def shared_root() -> Path:
    import os

    env = os.environ.get("JINGWANG_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "datasets"


def export(model: Path, dest: Path, names: list[str]) -> None:
    from training.export.onnx import export_onnx

    dest.mkdir(parents=True, exist_ok=True)
    (dest / "source.txt").write_text(str(model.resolve()), encoding="utf-8")
    from detector.model.core import Detector
    from tests.test_onnx import TEXTS

    np.save(dest / "torch_test_texts.npy", Detector.from_pretrained(model).predict_proba(TEXTS))
    from detector.scorers.onnx import ModelCheckError

    for name in names:
        try:
            export_onnx(model, dest / name, log=lambda m: print(f"[{name}] {m}", flush=True), **VARIANTS[name])
        except ModelCheckError as e:  # the folder is written; `measure` reads it without the check
            print(f"[{name}] refused at load on this CPU: {e}", flush=True)


def load_unchecked(folder: Path):
    """The ONNX folder as a Detector, without the load-time reference check."""
    from detector.model.core import Detector
    from detector.scorers.onnx import OnnxScorer

    cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    scorer_cfg = {k: v for k, v in cfg["scorer"].items() if k != "reference"} | {"labels": cfg["labels"]}
    return Detector(OnnxScorer.load(folder, scorer_cfg), cfg["thresholds"], cfg)


def real_comments(n: int, seed: int = 0) -> list[str]:
    lines = (shared_root() / "unlabeled_posts" / "chnci_comments.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x)["text"] for x in random.Random(seed).sample(lines, n)]


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    out = []
    for c in (0, 1):
        tp = int(((pred == c) & (y == c)).sum())
        fp, fn = int(((pred == c) & (y != c)).sum()), int(((pred != c) & (y == c)).sum())
        out.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(out))


def measure(dest: Path, names: list[str], speed_n: int, subset: int) -> dict:
    from detector.scorers.onnx import int8_cpu_features
    from tests.test_onnx import TEXTS

    torch_p = np.load(dest / "torch_test_texts.npy")
    data = {}
    for set_name, (file, risk) in SETS.items():
        rows = [json.loads(x) for x in (shared_root() / file).read_text(encoding="utf-8").splitlines()]
        rows = random.Random(0).sample(rows, subset) if 0 < subset < len(rows) else rows
        data[set_name] = ([r["text"] for r in rows], np.array([int(r["label"]) for r in rows]), risk)
    speed_texts = real_comments(speed_n) if speed_n else []
    res = {"cpu": int8_cpu_features(), "source": (dest / "source.txt").read_text(encoding="utf-8"), "variants": {}}
    for name in names:
        det = load_unchecked(dest / name)
        cfg = det.config["scorer"]
        row = {"quantization": cfg.get("quantization"), "settings": cfg.get("quantization_settings"),
               "max_abs_diff_test_texts": float(np.abs(det.predict_proba(TEXTS) - torch_p).max()),
               "reference_gap": det.scorer.reference_gap(dest / name / cfg["reference"])}
        for set_name, (texts, y, risk) in data.items():
            j = det.labels.index(risk)
            p = det.predict_proba(texts)[:, j]
            row[set_name] = round(macro_f1(y, (p >= det.thresholds[risk]).astype(int)), 4)
        if speed_texts:
            det.predict_proba(speed_texts[:64])
            t0 = time.perf_counter()
            det.predict_proba(speed_texts)
            row["posts_per_s"] = round(len(speed_texts) / (time.perf_counter() - t0), 1)
        res["variants"][name] = row
        print(name, json.dumps(row, ensure_ascii=False), flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--model", type=Path, required=True)
    e.add_argument("--dest", type=Path, required=True)
    e.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    m = sub.add_parser("measure")
    m.add_argument("--dest", type=Path, required=True)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    m.add_argument("--speed-n", type=int, default=2000, help="random real comments for posts/s (0: skip)")
    m.add_argument("--subset", type=int, default=0, help="N random rows of each test set, fixed seed (0: all)")
    a = ap.parse_args()
    if a.cmd == "export":
        export(a.model, a.dest, a.variants)
        return
    res = measure(a.dest, a.variants, a.speed_n, a.subset)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"CPU: {res['cpu']}")
    print(f"{'variant':20s} {'max|dp| tests':>13s} {'ref gap':>8s} {'COLD':>7s} {'Weibo21':>8s} {'posts/s':>8s}")
    for name, r in res["variants"].items():
        print(f"{name:20s} {r['max_abs_diff_test_texts']:13.4f} {r['reference_gap']:8.4f} {r['COLD test']:7.4f} "
              f"{r['Weibo21 test']:8.4f} {r.get('posts_per_s', float('nan')):8.1f}")


if __name__ == "__main__":
    main()
