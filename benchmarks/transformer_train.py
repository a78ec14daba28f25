"""Train and evaluate one recipe, and measure CPU inference speed on real posts.

    python benchmarks/transformer_train.py --config configs/transformer-cpu.toml --out runs/tcpu
        -> runs/tcpu/model/ (the model folder) and runs/tcpu/results.json: test (and dev) metrics
           per risk, train seconds, inference posts/s over 2,000 COLD test posts.

    python benchmarks/transformer_train.py --step-time models/base/me5-small-trim --layers 6,12 --out runs/steps
        -> runs/steps/step_time.json: seconds per forward+backward+AdamW step (batch x tokens)
           and per inference batch, for each layer count (`random:e5-small` when no folder exists).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from detector.model.core import Detector  # noqa: E402
from detector.scorers.compute import set_torch_threads  # noqa: E402
from detector.scorers.transformer import MultiLabelEncoder  # noqa: E402
from training.data.sources import default_root, read_jsonl  # noqa: E402
from training.trainers.dispatch import train_from_recipe  # noqa: E402
from training.trainers.transformer import build_encoder, freeze_embeddings, make_optimizer, masked_bce  # noqa: E402


def real_posts(n: int) -> list[str]:
    path = default_root() / "cold" / "test.jsonl"
    return [r["text"] for r in read_jsonl(path)[:n]]


def inference_speed(model_dir: Path, n_posts: int, n_evidence: int = 200) -> dict:
    """Posts/s of predict_proba over `n_posts` real posts, and of score() with evidence."""
    det = Detector.from_pretrained(model_dir)
    posts = real_posts(n_posts)
    det.predict_proba(posts[:32])  # warm-up (threads, allocator, jieba)
    t = time.perf_counter()
    det.predict_proba(posts)
    proba_s = time.perf_counter() - t
    t = time.perf_counter()
    scored = det.score(posts[:n_evidence])
    score_s = time.perf_counter() - t
    return {"posts": len(posts), "seconds": round(proba_s, 2), "posts_per_s": round(len(posts) / proba_s, 1),
            "score_with_evidence_posts": len(scored), "score_with_evidence_posts_per_s": round(len(scored) / score_s, 1),
            "flagged_share": round(float(np.mean([bool(r["flags"]) for r in scored])), 3)}


def train_and_measure(config: Path, out: Path, overrides: list[str], n_posts: int) -> dict:
    model_dir = out / "model"
    t = time.perf_counter()
    train_from_recipe(config, model_dir, overrides=overrides, log=lambda m: print(m, flush=True))
    train_s = time.perf_counter() - t
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    return {"config": str(config), "overrides": overrides, "model_dir": str(model_dir),
            "model_type": cfg["model_type"], "train_seconds": round(train_s, 1),
            "training": cfg.get("training"), "metrics": metrics.get("test", {}), "dev_metrics": metrics.get("dev", {}),
            "thresholds": cfg["thresholds"], "inference": inference_speed(model_dir, n_posts), **machine()}


def step_time(base: str, layers: int, batch: int, tokens: int, steps: int, freeze: bool,
              device: str = "cpu") -> dict:
    """Seconds per training step (forward + backward + AdamW) and per inference forward
    (on cuda: bf16 autocast, like training and scoring there)."""
    torch.manual_seed(0)
    encoder, _ = build_encoder({"base": base, "num_layers": layers}, [], tokens)
    if freeze:
        freeze_embeddings(encoder)
    model = MultiLabelEncoder(encoder, 3, "mean", 0.1).to(device)
    opt = make_optimizer(model, 5e-5, 0.01)
    ids = torch.randint(5, encoder.config.vocab_size, (batch, tokens), device=device)
    mask = torch.ones_like(ids)
    y = torch.randint(0, 2, (batch, 3), device=device).float()
    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    times = []
    for i in range(steps + 2):  # two warm-up steps
        t = time.perf_counter()
        with torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=cuda):
            logits = model(ids, mask)
        loss = masked_bce(logits.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        if i >= 2:
            times.append(time.perf_counter() - t)
    model.eval()
    with torch.inference_mode(), torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=cuda):
        model(ids, mask)
        sync()
        t = time.perf_counter()
        for _ in range(steps):
            model(ids, mask)
        sync()
        infer = (time.perf_counter() - t) / steps
    return {"base": base, "layers": layers, "batch": batch, "tokens": tokens, "freeze_embeddings": freeze, "device": device,
            "train_step_s_median": round(float(np.median(times)), 3), "train_step_s_all": [round(x, 3) for x in times],
            "inference_batch_s": round(infer, 3), "vocab_size": encoder.config.vocab_size}


def machine() -> dict:
    return {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "torch": torch.__version__, "cuda": torch.cuda.is_available(),
            "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, help="recipe TOML (train + evaluate mode)")
    ap.add_argument("--out", type=Path, required=True, help="folder for results.json / step_time.json")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override, e.g. train.max_steps=20")
    ap.add_argument("--posts", type=int, default=2000, help="COLD test posts for the inference measurement")
    ap.add_argument("--step-time", metavar="BASE", help="measure step time of this encoder folder (or random:e5-small)")
    ap.add_argument("--layers", default="6,12", help="layer counts for --step-time")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--no-freeze", action="store_true", help="--step-time: train the embeddings too")
    ap.add_argument("--device", default="cpu", help="--step-time: cpu or cuda")
    args = ap.parse_args(argv)
    set_torch_threads()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.step_time:
        base = args.step_time if args.step_time.startswith("random:") or Path(args.step_time).is_dir() else "random:e5-small"
        res = {"runs": [step_time(base, int(n), args.batch, args.tokens, args.steps, not args.no_freeze, args.device)
                        for n in args.layers.split(",")], **machine()}
        target = args.out / "step_time.json"
    elif args.config:
        res, target = train_and_measure(args.config, args.out, args.overrides, args.posts), args.out / "results.json"
    else:
        ap.error("give --config (train + evaluate) or --step-time BASE")
    target.write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(res, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
