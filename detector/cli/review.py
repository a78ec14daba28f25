"""`jingwang review import|serve|export|import-labels|import-operations|stats`: the human review queue.

Importing this module registers the `review` command group on `detector.cli._app.app`."""
from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Optional

import typer

from detector.cli._app import err, fit_table, friendly, review_app

DB_HELP = "review queue (SQLite file)"


@review_app.command("import")
@friendly
def review_import(
    scored: str = typer.Argument(..., help="scored or flagged output of `jingwang score` (.jsonl, .csv, .parquet)"),
    db: Path = typer.Option(Path("review.sqlite"), "--db", help=DB_HELP + "; created if missing"),
    text_field: str = typer.Option("text", help="field holding the post text"),
    id_field: str = typer.Option("id", help="field holding the post id"),
    sample: Optional[str] = typer.Option(None, "--sample", help="queue only --n posts: uncertain (nearest each "
                                         "risk's threshold), diverse (near-threshold, spread over clusters) or random"),
    n: int = typer.Option(200, "--n", min=1, help="with --sample: how many posts to queue"),
    seed: int = typer.Option(0, "--seed", help="with --sample random/diverse: the random seed"),
):
    """Queue every record of SCORED by post id (re-importing is safe: no duplicates; newer scores
    replace pending items, reviewed items keep theirs); with --sample, the N posts whose review
    teaches the model most."""
    from detector.review.importer import import_file

    s = import_file(db, scored, text_field=text_field, id_field=id_field, sample=sample, n=n, seed=seed)
    t = fit_table("jingwang review import", ("", ""), show_header=False)
    if sample:
        t.add_row(f"sampled ({sample})", f"{s.inserted + s.updated + s.unchanged + s.kept_reviewed} of {s.sampled_from}")
    for k, v in (("records read", s.read), ("new items", s.inserted), ("updated (newer scores)", s.updated),
                 ("unchanged", s.unchanged), ("kept (already reviewed)", s.kept_reviewed), ("bad records (not queued)", s.bad),
                 ("queued with a warning", s.warned),
                 ("time", f"{s.seconds:.1f} s"), ("queue", str(db))):
        t.add_row(k, str(v))
    err.print(t)
    for p in s.problems[:10]:
        err.print(f"  {p}", highlight=False, markup=False)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@review_app.command("serve")
@friendly
def review_serve(
    db: Path = typer.Option(Path("review.sqlite"), "--db", help=DB_HELP),
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8765, min=1, max=65535, help="port"),
    token: str = typer.Option(None, "--token", envvar="JINGWANG_REVIEW_TOKEN",
                              help="access token (default: a new random one, printed at start)"),
    max_body: int = typer.Option(1 << 20, "--max-body", min=1024, help="largest request body accepted, in bytes "
                                 "(bigger ones are refused unread with 413)"),
):
    """Serve the review page and its JSON API; every API call needs the access token."""
    import uvicorn

    from detector.review.server import create_app

    token = token or secrets.token_urlsafe(24)
    application = create_app(db, token, max_body=max_body)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    err.print(f"review queue {db}: open http://{shown}:{port}/ and enter the access token", highlight=False)
    err.print(f"  token: {token}", highlight=False)
    err.print(f"  or open http://{shown}:{port}/#token={token}", highlight=False)
    if not _is_loopback(host):
        err.print("[yellow]warning:[/yellow] listening beyond this machine over plain HTTP: the token and the posts "
                  "travel unencrypted; put it behind HTTPS", highlight=False)
    uvicorn.run(application, host=host, port=port, log_level="warning")


@review_app.command("export")
@friendly
def review_export(
    db: Path = typer.Option(Path("review.sqlite"), "--db", help=DB_HELP),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl (training data) | label-studio | argilla"),
    out: Path = typer.Option(..., "--out", "-o", help="file to write"),
    status: str = typer.Option("reviewed", "--status",
                               help="reviewed (default) | pending | all: which items (jsonl: reviewed only)"),
    no_mask: bool = typer.Option(False, "--no-mask", help="write personal data (ID numbers, phones, addresses, "
                                 "plates, bank cards) unmasked; masked by default (138****5678)"),
):
    """Export reviewed items as training data (jsonl), Label Studio tasks (our flags as predictions,
    reviewers' labels as annotations), or Argilla records; both offer a `not_risky` choice."""
    from detector.review.export import export

    if status not in ("reviewed", "pending", "all"):
        raise ValueError(f"--status must be reviewed, pending or all, not {status!r}")
    n = export(db, fmt, out, status=status, mask=not no_mask)
    err.print(f"{n} items written to {out}" + (" (personal data NOT masked: --no-mask)" if no_mask else ""),
              highlight=False)
    if fmt == "label-studio":
        err.print(f"labeling config: {out.with_name(out.stem + '.label_config.xml')}", highlight=False)
    if fmt == "argilla":
        from detector.review.db import ReviewDB
        from detector.review.export import CONTROL, choice_values

        err.print(f"Argilla dataset: a TextField 'text' and a MultiLabelQuestion {CONTROL!r} with the labels "
                  f"{', '.join(choice_values(ReviewDB(db, create=False).labels))}", highlight=False)


@review_app.command("import-labels")
@friendly
def review_import_labels(
    export_file: Path = typer.Argument(..., help="Label Studio export (JSON or JSON-MIN) of tasks from `review export`"),
    db: Path = typer.Option(Path("review.sqlite"), "--db", help=DB_HELP),
):
    """Read labels made in Label Studio back into the queue (each annotation once, however often imported)."""
    from detector.review.export import import_label_studio

    s = import_label_studio(db, export_file)
    err.print(f"{s.tasks} tasks, {s.annotations} annotations: {s.applied} decisions applied, "
              f"{s.duplicates} already imported, {s.new_items} new items, {s.skipped} skipped", highlight=False)
    for p in s.problems[:10]:
        err.print(f"  {p}", highlight=False, markup=False)


@review_app.command("import-operations")
@friendly
def review_import_operations(
    operations_file: Path = typer.Argument(..., help="output of `jingwang operations` (JSONL)"),
    db: Path = typer.Option(Path("review.sqlite"), "--db", help=DB_HELP),
):
    """Store operations beside the queue: the page shows an operation's posts, accounts and contacts together."""
    from detector.review.db import ReviewDB
    from detector.review.ops import import_operations

    s = import_operations(ReviewDB(db, create=False), operations_file)
    err.print(f"{s.operations} operations: {s.linked} queued posts linked, {s.not_queued} posts not in the queue",
              highlight=False)
    for p in s.problems[:10]:
        err.print(f"  {p}", highlight=False, markup=False)


@review_app.command("stats")
@friendly
def review_stats(db: Path = typer.Option(Path("review.sqlite"), "--db", help=DB_HELP)):
    """Progress of the queue, decisions per reviewer, and how reviewers judged the model's flags."""
    from detector.review.db import ReviewDB

    s = ReviewDB(db, create=False).stats()
    err.print(f"{s['reviewed']} / {s['total']} reviewed, {s['pending']} pending, {s['decisions']} decisions "
              f"(last {s['last_decision_at'] or '-'})", highlight=False)
    t = fit_table("per risk (reviewed items)", ("risk", "reviewers said yes", "model flagged", "confirmed",
                                                "flag precision", "missed by model"),
                  right=("reviewers said yes", "model flagged", "confirmed", "flag precision", "missed by model"))
    for r, m in s["risks"].items():
        prec = "-" if m["flag_precision"] is None else f"{m['flag_precision']:.2f}"
        t.add_row(r, str(m["reviewed_positive"]), str(m["flagged_reviewed"]), str(m["confirmed"]), prec, str(m["missed"]))
    err.print(t)
    if s["reviewers"]:
        err.print("decisions by reviewer: " + ", ".join(f"{k} {v}" for k, v in s["reviewers"].items()), highlight=False)
