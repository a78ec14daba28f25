"""`jingwang campaigns`: clusters of coordinated near-identical posts (copy-paste water army).

Importing this module registers the command on `detector.cli._app.app`."""
from __future__ import annotations

import typer

from detector.cases.campaigns import CampaignSummary, campaigns_file
from detector.cli._app import app, err, fit_table, friendly, share


def print_campaign_summary(s: CampaignSummary) -> None:
    t = fit_table("jingwang campaigns", ("", ""), show_header=False)
    t.add_row("records read", f"{s.read:,}")
    t.add_row("bad records", share(s.bad, s.read))
    t.add_row("too short to compare", share(s.short, s.read))
    t.add_row("clusters", f"{s.clusters:,}, holding {share(s.clustered_posts, s.read)} posts")
    t.add_row("time", f"{s.seconds:.1f} s")
    t.add_row("output", s.out)
    err.print(t)
    if s.top:
        top = fit_table("biggest clusters", ("cluster", "size", "authors", "score", "text"),
                        right=("size", "authors", "score"))
        for c in s.top:
            authors = "-" if c["distinct_authors"] is None else str(c["distinct_authors"])
            top.add_row(c["cluster_id"], str(c["size"]), authors, f"{c['score']:.2f}", c["representative"])
        err.print(top)


@app.command()
@friendly
def campaigns(
    input: str = typer.Argument(..., help="posts: .jsonl, .csv or .parquet, or - for JSONL on stdin"),
    out: str = typer.Option(..., "--out", "-o", help="clusters, one record each by score: .jsonl, .csv or .parquet"),
    threshold: float = typer.Option(0.7, min=0.05, max=1.0, help="min estimated Jaccard of 3-gram sets"),
    min_size: int = typer.Option(3, min=2, help="min posts per cluster"),
    text_field: str = typer.Option("text", help="field holding the post text"),
    id_field: str = typer.Option("id", help="field holding the post id"),
    author_field: str = typer.Option("author", help="field holding the author"),
    time_field: str = typer.Option("created_at", help="field holding the post time"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary"),
):
    """Find campaigns: clusters of near-identical posts, scored by distinct authors and burstiness."""
    s = campaigns_file(input, out, text_field=text_field, id_field=id_field, author_field=author_field,
                       time_field=time_field, threshold=threshold, min_size=min_size)
    if not quiet:
        print_campaign_summary(s)
