"""`jingwang` runtime commands (typer). Each command parses its arguments and calls one plain
function; training commands are added by `training.cli`, which is the console entry point."""
from __future__ import annotations

import sys
from functools import wraps
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # imported when a command runs: registering commands stays cheap
    from detector.scoring import ScoreSummary


class Group(typer.core.TyperGroup):
    """A command group whose help lists each command with its whole summary (the docstring's
    first paragraph), wrapped to the terminal: click would cut it at the terminal's width."""

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, " ".join((cmd.help or "").split("\n\n")[0].split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def sub_app(help: str, **kwargs) -> typer.Typer:
    """A `jingwang` command or group of commands. Help is click's plain layout: at any terminal
    width (80 columns too) option names and values are never cut, only help text is wrapped."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, cls=Group, **kwargs)


app = sub_app("Jingwang (净网): score Chinese posts for rumor, paid posting and harassment.", add_completion=False)
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


def fit_table(title: str, columns: tuple[str, ...] = (), names: int = 1, right: tuple[str, ...] = (),
              **kwargs) -> Table:
    """A table for an 80-column terminal that cuts nothing: its first `names` columns (risk,
    set, field names) are never wrapped, the others wrap and fold words longer than their width
    (rich would end them with '…')."""
    t = Table(title=title, **kwargs)
    for i, col in enumerate(columns):
        t.add_column(col, no_wrap=i < names, overflow="fold", justify="right" if col in right else "left")
    return t


def share(n: int, of: int) -> str:
    """`n` with its percentage of `of`: '1,234 (5.6%)'; 0.01% steps below 1%."""
    if not of:
        return f"{n:,}"
    pct = 100 * n / of
    return f"{n:,} ({pct:.2f}%)" if 0 < pct < 1 else f"{n:,} ({pct:.1f}%)"


def summary_rows(s: ScoreSummary) -> list[tuple[str, str]]:
    """The end-of-run summary of `jingwang score` as (what, value) rows: counts with their share
    of the records read (scored, bad) or of the posts scored (flags, campaigns)."""
    rows = [("records read", f"{s.read:,}"), ("scored", share(s.scored, s.read)), ("bad records", share(s.bad, s.read))]
    if s.resumed_from:  # posts with any flag are counted by this run only
        rows.append(("any flag (this run)", share(s.any_flag_now, s.scored_now)))
    else:
        rows.append(("posts with any flag", share(s.any_flag_now, s.scored)))
    rows += [(f"  {r}", share(n, s.scored)) for r, n in s.flagged.items()]
    if s.campaign_clusters is not None:
        rows.append(("campaign clusters", f"{s.campaign_clusters:,}, holding {share(s.campaign_posts, s.scored)} posts"))
    rows.append(("time", f"{s.seconds:,.1f} s ({s.posts_per_s:,.0f} posts/s)"))
    rows += [(k, v) for k, v in (("output", s.out), ("flagged items", s.flagged_out), ("errors", s.errors_out)) if v]
    return rows


def print_summary(s: ScoreSummary) -> None:
    t = fit_table("jingwang score", ("", ""), show_header=False)
    for what, value in summary_rows(s):
        t.add_row(what, value)
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
    from detector.scoring import score_file

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
