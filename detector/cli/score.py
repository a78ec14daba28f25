"""`jingwang score`: score a file of posts; its end-of-run summary."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional

import typer

from detector.cli._app import app, err, fit_table, friendly, share

if TYPE_CHECKING:  # imported when a command runs: registering commands stays cheap
    from detector.batch.run import ScoreSummary


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
    from detector.batch.run import score_file

    s = score_file(input, model, out, flagged=flagged, text_field=text_field, id_field=id_field,
                   strict=strict, batch_size=batch_size, progress=not quiet and sys.stderr.isatty(),
                   campaigns=campaigns, evidence=evidence, workers=workers, engine=engine,
                   ray_address=ray_address, cascade=cascade, device=device, resume=resume,
                   checkpoint_s=checkpoint_every)
    if not quiet:
        if s.resumed_from:
            err.print(f"resumed after {s.resumed_from:,} input records done by the interrupted run")
        print_summary(s)
