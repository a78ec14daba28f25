"""`jingwang operations`: flagged posts linked into operations by shared contact, campaign or author.

Importing this module registers the command on `detector.cli._app.app`."""
from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from detector.cli._app import app, err, friendly
from detector.cases.operations import OperationsSummary, operations_file

MAX_ERRORS_SHOWN = 20


def print_operations_summary(s: OperationsSummary) -> None:
    t = Table(title="jingwang operations", show_header=False)
    t.add_row("records read", str(s.read))
    t.add_row("bad records", str(s.bad))
    t.add_row("flagged posts", str(s.flagged))
    t.add_row("operations", f"{s.operations} ({s.linked_posts} posts)")
    t.add_row("time", f"{s.seconds:.1f} s")
    t.add_row("output", escape(s.out))
    if s.html:
        t.add_row("report", escape(s.html))
    err.print(t)
    if s.top:
        top = Table(title="top operations")
        for col in ("operation", "posts", "accounts", "score", "contacts", "text"):
            top.add_column(col)
        for o in s.top:
            top.add_row(o["operation_id"], str(o["size"]), str(o["authors"]), f"{o['score']:.2f}",
                        escape(o["contacts"]), escape(o["text"]))
        err.print(top)


def print_errors(s: OperationsSummary) -> None:
    for line, reason in s.errors[:MAX_ERRORS_SHOWN]:
        err.print(f"line {line}: {reason} (skipped)", markup=False, highlight=False)
    if len(s.errors) > MAX_ERRORS_SHOWN:
        err.print(f"... and {len(s.errors) - MAX_ERRORS_SHOWN} more bad lines", markup=False)


@app.command()
@friendly
def operations(
    scored: str = typer.Argument(..., help="output of `jingwang score`: .jsonl, .csv or .parquet"),
    out: str = typer.Option(..., "--out", "-o", help="operations, one record each by score: .jsonl, .csv or .parquet"),
    html: Optional[str] = typer.Option(None, "--html", help="also write an HTML report of the operations"),
    min_size: int = typer.Option(2, min=2, help="min posts per operation"),
    text_field: str = typer.Option("text", help="field holding the post text"),
    id_field: str = typer.Option("id", help="field holding the post id"),
    author_field: Optional[str] = typer.Option(None, help="field holding the author (default: the first of "
                                               "author, user, user_id, author_id, uid, screen_name, nickname)"),
    time_field: Optional[str] = typer.Option(None, help="field holding the post time (default: created_at, "
                                             "time, timestamp, date, published_at)"),
    all_posts: bool = typer.Option(False, "--all", help="link every post, not only flagged ones"),
    copies: bool = typer.Option(True, "--copies/--no-copies", help="also link near-identical texts (contacts "
                                "taken out), not only `score --campaigns` clusters"),
    mask: bool = typer.Option(True, "--mask/--no-mask", help="mask personal data in representative texts"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary"),
):
    """Link flagged posts into operations: the same contact in any spelling, campaign cluster or author."""
    s = operations_file(scored, out, html=html, min_size=min_size, text_field=text_field, id_field=id_field,
                        author_field=author_field, time_field=time_field, all_posts=all_posts, mask=mask,
                        copies=copies)
    print_errors(s)
    if not quiet:
        print_operations_summary(s)
