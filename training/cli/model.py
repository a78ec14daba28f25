"""`jingwang model export-onnx`, `jingwang model adapt` and `jingwang model cascade`, on the
`model` group (`training.cli._app`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from detector.cli._app import err, friendly
from training.cli._app import model_app


@model_app.command("export-onnx")
@friendly
def export_onnx_cmd(
    model: Path = typer.Argument(..., help="transformer model folder"),
    out: Path = typer.Option(..., "--out", "-o", help="ONNX model folder to write"),
    int8: bool = typer.Option(True, "--int8/--fp32", help="dynamic int8 quantisation of the weights"),
    per_channel: bool = typer.Option(True, "--per-channel/--per-tensor", help="int8 scales per output channel"),
    all_int8: bool = typer.Option(False, "--all-int8", help="also quantise the feed-forward output MatMuls "
                                  "(faster, ~0.7 macro-F1 point lost instead of ~0)"),
    reduce_range: bool = typer.Option(False, "--reduce-range/--full-range", help="7-bit int8 weights (for s8: "
                                      "full-range s8 saturates on CPUs without VNNI)"),
    weight_type: str = typer.Option("u8", "--weight-type", help="int8 weights: u8 (unsigned, the default: the same "
                                    "probabilities on every x86-64 CPU) or s8 (signed)"),
    tolerance: float = typer.Option(0.05, "--tolerance", help="largest probability change on the reference "
                                    "texts the exported folder accepts at load time"),
    keep_fp32: bool = typer.Option(False, "--keep-fp32", help="keep model.onnx beside model.int8.onnx"),
    evaluate: Optional[str] = typer.Option(None, "--evaluate", help="measure macro-F1 of both on this split "
                                           "(dev, test) of the model's training sources; writes OUT/export.json"),
    subset: int = typer.Option(0, "--subset", min=0, help="with --evaluate: at most N rows per source (0 = all)"),
):
    """Export a transformer model to ONNX Runtime (int8 by default): a model folder for `jingwang score`."""
    from training.export.onnx import compare_accuracy, export_onnx

    export_onnx(model, out, int8=int8, per_channel=per_channel, keep_ffn_output=not all_int8, keep_fp32=keep_fp32,
                reduce_range=reduce_range, weight_type=weight_type, tolerance=tolerance,
                log=lambda m: err.print(m, highlight=False))
    if evaluate:
        res = compare_accuracy(model, out, evaluate, subset=subset)
        (out / "export.json").write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
        for r, d in res["delta_points"].items():
            err.print(f"{r}: macro-F1 {res['a']['macro_f1'][r]:.4f} -> {res['b']['macro_f1'][r]:.4f} ({d:+.2f} points)")
        err.print(f"texts/s: {res['a']['texts_per_s']} -> {res['b']['texts_per_s']}")
    err.print(f"ONNX model written to {out}")


@model_app.command("adapt")
@friendly
def adapt_cmd(
    base: Path = typer.Option(..., "--base", help="base encoder folder (e.g. models/base/me5-small-trim)"),
    data: List[Path] = typer.Option(..., "--data", help="JSONL of unlabeled texts (`text` field; repeatable)"),
    out: Path = typer.Option(..., "--out", "-o", help="adapted base folder to write"),
    steps: int = typer.Option(..., "--steps", min=1, help="optimiser steps of the whole model"),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    max_length: int = typer.Option(64, "--max-length", min=3, help="tokens per text incl. <s> </s>"),
    lr: float = typer.Option(5e-5, "--lr", help="AdamW peak learning rate (linear warm-up, then decay)"),
    mask_prob: float = typer.Option(0.15, "--mask-prob", help="share of tokens masked (80/10/10)"),
    seed: int = typer.Option(13, "--seed"),
    holdout: int = typer.Option(2000, "--holdout", min=1, help="texts held out to measure masked-LM loss"),
    checkpoint_every: int = typer.Option(200, "--checkpoint-every", min=0, help="steps between checkpoints (0 = none)"),
    head_steps: int = typer.Option(0, "--head-steps", min=0, help="first train the new MLM head alone for N steps "
                                   "(the loss after it is the base's own)"),
    resume_from: Optional[Path] = typer.Option(None, "--resume-from", help="a checkpoint folder, or OUT: its latest"),
    exclude: List[Path] = typer.Option([], "--exclude", help="file of ids never to train on (one a line, or JSONL "
                                       "with `id`; repeatable)"),
    include_eval: bool = typer.Option(False, "--include-eval", help="also train on the team's evaluation rows "
                                      "(left out by default)"),
    raw: bool = typer.Option(False, "--raw", help="texts as written (default: cleaned as the scorers clean them)"),
    device: str = typer.Option("auto", "--device", help="auto (cuda when torch sees a GPU), cpu or cuda"),
):
    """Continue masked-LM training of a base encoder on unlabeled texts: a base folder for `model.base`."""
    from training.base.adapt import AdaptSettings, adapt

    settings = AdaptSettings(steps=steps, batch_size=batch_size, max_length=max_length, lr=lr, mask_prob=mask_prob,
                             seed=seed, holdout=holdout, checkpoint_every=checkpoint_every, head_steps=head_steps,
                             clean=not raw, exclude_eval=not include_eval, device=device)
    res = adapt(base, data, out, settings, resume_from=resume_from, exclude=exclude,
                log=lambda m: err.print(m, highlight=False))
    loss = res["loss"]
    err.print(f"held-out masked-LM loss {loss['before']['loss']} -> {loss['after']['loss']} (perplexity "
              f"{loss['before']['perplexity']} -> {loss['after']['perplexity']}); {res['steps_per_s']} steps/s; "
              f"adapted base written to {out}", highlight=False)


@model_app.command("cascade")
@friendly
def cascade_cmd(
    fast: Path = typer.Option(Path("models/default"), "--fast", help="first model: scores every post"),
    second: Path = typer.Option(..., "--second", help="second model (e.g. an ONNX transformer): the uncertain band"),
    out: Path = typer.Option(..., "--out", "-o", help="cascade folder to write (cascade.json)"),
    max_loss: float = typer.Option(0.3, "--max-loss", min=0.0, help="macro-F1 points each risk may lose on dev "
                                   "against the second model alone"),
    traffic: Optional[Path] = typer.Option(None, "--traffic", help="JSONL of real unlabeled posts: the band "
                                           "minimises the share of these sent to the second model"),
    subset: int = typer.Option(0, "--subset", min=0, help="at most N dev rows per source (0 = all)"),
):
    """Choose the cascade's uncertain band on dev data and write a cascade folder for `score --cascade`."""
    from training.trainers.cascade import build_cascade

    res = build_cascade(fast, second, out, max_loss / 100, traffic=traffic, subset=subset,
                        log=lambda m: err.print(m, highlight=False))
    err.print(f"cascade written to {out}: routes {100 * res['routed_share_traffic']:.1f}% of "
              f"{'traffic' if traffic else 'dev'} posts to the second model")
