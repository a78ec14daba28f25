"""`jingwang` runtime commands (typer). Each command parses its arguments and calls one plain
function; training commands are added by `training.cli`, which is the console entry point."""
from __future__ import annotations

import sys
from functools import wraps
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from detector.scoring import ScoreSummary, score_file

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Jingwang (净网): score Chinese posts for rumor, paid posting and harassment.")
err = Console(stderr=True)


def friendly(fn):
    """Turn expected failures (bad files or arguments, a file that cannot be read or written)
    into one clear sentence, exit 2. Messages are printed as they are (no rich markup)."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, OSError) as e:
            err.print(f"[red]error:[/red] {escape(str(e))}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2)
    return wrapper


def print_summary(s: ScoreSummary) -> None:
    t = Table(title="jingwang score", show_header=False)
    t.add_row("records read", str(s.read))
    t.add_row("scored", str(s.scored))
    t.add_row("bad records", str(s.bad))
    for r, n in s.flagged.items():
        t.add_row(f"flagged {r}", str(n))
    t.add_row("time", f"{s.seconds:.1f} s ({s.posts_per_s:,.0f} posts/s)")
    t.add_row("output", s.out)
    if s.flagged_out:
        t.add_row("flagged items", s.flagged_out)
    if s.errors_out:
        t.add_row("errors", s.errors_out)
    err.print(t)


@app.command()
@friendly
def score(
    input: str = typer.Argument(..., help="posts: .jsonl, .csv or .parquet, or - for JSONL on stdin"),
    model: str = typer.Option("models/default", "--model", "-m", help="model folder"),
    out: str = typer.Option(..., "--out", "-o", help="results: .jsonl, .csv or .parquet (or - for stdout)"),
    flagged: Optional[str] = typer.Option(None, "--flagged", help="flagged items, by review priority"),
    text_field: str = typer.Option("text", help="field holding the post text"),
    id_field: str = typer.Option("id", help="field holding the post id"),
    strict: bool = typer.Option(False, "--strict", help="stop at the first bad record"),
    batch_size: int = typer.Option(256, min=1, help="posts per batch"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar or summary"),
    campaigns: bool = typer.Option(False, "--campaigns", help="cluster near-duplicate posts (copy-paste "
                                   "campaigns): adds a `campaign` field and raises their review priority"),
    evidence: bool = typer.Option(True, "--evidence/--no-evidence", help="explain flagged risks (the "
                                  "transformer's occlusion evidence is slow)"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="scoring processes (CPU); with --engine ray, "
                                "actors"),
    resume: bool = typer.Option(False, "--resume", help="continue an interrupted run from <out>.progress.json"),
    cascade: Optional[str] = typer.Option(None, "--cascade", help="cascade folder (`jingwang model cascade`): "
                                          "--model scores every post, its second model the uncertain band"),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda (transformer models; "
                                         "cuda: bf16 and large batches)"),
    engine: str = typer.Option("local", "--engine", help="local, or ray (Ray Data actor pool)"),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (e.g. "
                                              "ray://head:10001 or auto); default: a local Ray instance"),
    checkpoint_every: float = typer.Option(1.0, "--checkpoint-every", min=0.0, help="seconds between "
                                           "progress checkpoints (0 = after every batch)"),
):
    """Score posts; write one JSON record per post with scores, flags, priority and evidence."""
    s = score_file(input, model, out, flagged=flagged, text_field=text_field, id_field=id_field,
                   strict=strict, batch_size=batch_size, progress=not quiet and sys.stderr.isatty(),
                   campaigns=campaigns, evidence=evidence, workers=workers, engine=engine,
                   ray_address=ray_address, cascade=cascade, device=device, resume=resume,
                   checkpoint_s=checkpoint_every)
    if not quiet:
        if s.resumed_from:
            err.print(f"resumed after {s.resumed_from:,} input records done by the interrupted run")
        print_summary(s)

from detector import cli_campaigns  # noqa: E402,F401  (registers `jingwang campaigns`)
from detector import cli_operations  # noqa: E402,F401  (registers `jingwang operations`)

from detector import cli_review  # noqa: E402,F401  (registers `jingwang review`)
