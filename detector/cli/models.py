"""`jingwang models list|promote|rollback`: the model registry (numbered versions, the current one)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from detector.cli._app import err, fit_table, friendly, models_app


def metric_lines(metrics: dict) -> str:
    """Each risk on its line, each of its test sets indented below it (narrow enough for 80 columns)."""
    lines = []
    for risk, m in metrics.items():
        if isinstance(m, dict):
            lines += [risk, *(f"  {s} {x:.3f}" for s, x in m.items())]
        else:
            lines.append(f"{risk} {m:.3f}")
    return "\n".join(lines)


@models_app.command("list")
@friendly
def models_list(root: Path = typer.Argument(..., help="model registry folder, models/NAME")):
    """The versions of a model with their test metrics and data; * marks the current one."""
    from detector.registry import list_versions

    rows = list_versions(root)
    t = fit_table(f"{root}", ("", "version", "created", "test macro-F1", "data", "retrain"), names=4)
    for v in rows:
        data = ", ".join(v["sources"]) + (f" + {v['reviewed']} reviewed" if v["reviewed"] is not None else "")
        t.add_row("*" if v["current"] else "", f"{v['version']}\n{v['model']}", v["created_at"][:16].replace("T", "\n"),
                  metric_lines(v["metrics"]), data, v["decision"])
    err.print(t)
    if not rows:
        err.print("no versions yet", highlight=False)
    elif not any(v["current"] for v in rows):
        err.print(f"no current version: `jingwang score --model {root}` cannot load it until one is made current "
                  f"(jingwang models promote {root} VERSION)", highlight=False)


@models_app.command("promote")
@friendly
def models_promote(
    root: Path = typer.Argument(..., help="model registry folder, models/NAME"),
    version: str = typer.Argument(..., help="version to make current: 3, v3 or v0003"),
    reason: str = typer.Option("", "--reason", help="why (kept in history.jsonl)"),
):
    """Make a version current (atomic switch of the `current` link)."""
    from detector.registry import Registry

    old, new = Registry(root).promote(version, reason=reason)
    err.print(f"{root}: current {old or 'none'} -> {new}", highlight=False)


@models_app.command("rollback")
@friendly
def models_rollback(
    root: Path = typer.Argument(..., help="model registry folder, models/NAME"),
    to: Optional[str] = typer.Option(None, "--to", help="version to go back to (default: the one current before)"),
    reason: str = typer.Option("", "--reason", help="why (kept in history.jsonl)"),
):
    """Go back to the version that was current before the last promotion."""
    from detector.registry import Registry

    old, new = Registry(root).rollback(to, reason=reason)
    err.print(f"{root}: current {old or 'none'} -> {new}", highlight=False)
