"""`jingwang retrain`: train a challenger on reviewed samples and let the gate decide whether it
becomes current (the registry commands themselves are runtime: `detector.cli.models`)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich import box

from detector.cli._app import app, err, fit_table, friendly



METRIC_NAMES = {"macro_f1": "macro-F1", "false_flags_per_1000": "false/1000", "precision": "precision",
                "flag_rate": "flag rate"}


def print_comparison(rows: list[dict]) -> None:
    """One table per risk (its name in the title, so an 80-column terminal cuts nothing)."""
    for risk in dict.fromkeys(r["risk"] for r in rows):
        t = fit_table(f"challenger vs current: {risk}", ("set", "metric", "n", "current", "challenger", "change",
                                                         "decides"), names=2, right=("n", "current", "challenger",
                                                                                     "change"), box=box.SIMPLE_HEAD,
                      show_edge=False, pad_edge=False, collapse_padding=True)
        for r in (r for r in rows if r["risk"] == risk):
            fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
            change = "-" if r["delta"] is None else f"{r['delta']:+.4f}"
            verdict = ("ok" if r["ok"] else "[red]WORSE[/red]") if r["gates"] else f"no: {r['note']}"
            t.add_row(r["set"], METRIC_NAMES.get(r.get("metric"), "macro-F1"), f"{r['n']:,}", fmt(r["current"]),
                      fmt(r["challenger"]), change, verdict)
        err.print(t)


@app.command()
@friendly
def retrain(
    base_config: Path = typer.Option(..., "--base-config", "-c", help="base recipe (fast), e.g. configs/fast.toml"),
    reviewed: Path = typer.Option(..., "--reviewed", help="review queue (SQLite) or `review export --format jsonl` file"),
    out: Path = typer.Option(..., "--out", "-o", help="model registry folder, models/NAME"),
    from_model: Optional[Path] = typer.Option(None, "--from", help="start a new registry with this model as v0001 "
                                              "(the current model to beat)"),
    config: Optional[Path] = typer.Option(None, "--config", help="retrain settings (default configs/retrain.toml)"),
    set_: Optional[List[str]] = typer.Option(None, "--set", help="override in the base recipe, e.g. classifier.C=2.0"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="datasets folder (default $JINGWANG_DATA "
                                             "or ../shared/datasets)"),
    no_promote: bool = typer.Option(False, "--no-promote", help="evaluate and keep the challenger, never promote"),
    crawl: Optional[Path] = typer.Option(None, "--crawl", help="the posts the reviews came from (.jsonl/.csv/.parquet; "
                                         "default: every post in the review queue): flag rates are compared on it"),
):
    """Train a challenger on the base data plus reviewed samples, compare it with the current model
    on the same fixed sets, and promote it only if it is not worse beyond the tolerance on any risk."""
    from training.retrain.run import retrain as run

    res = run(base_config, reviewed, out, from_model=from_model, config=config, overrides=set_ or [],
              root=data_root, promote=not no_promote, crawl=crawl, log=lambda m: err.print(m, highlight=False))
    print_comparison(res.comparison)
    if res.promoted:
        err.print(f"[green]PROMOTED[/green] {out}/{res.version} (was {res.current or 'none'}): {res.reason}", highlight=False)
    else:
        err.print(f"[yellow]KEPT[/yellow] {out}/{res.current or '-'} as current; challenger saved as {res.version}: "
                  f"{res.reason}", highlight=False)
        err.print(f"(to use it anyway: jingwang models promote {out} {res.version})", highlight=False)
    err.print(f"report: {res.report} ({res.seconds:.0f} s)", highlight=False)
