"""A self-contained HTML page of operations (`jingwang operations --html`): one card per
operation, by score, with its accounts, contacts, risks, time span and representative texts."""
from __future__ import annotations

from html import escape
from typing import Iterable

MAX_CARDS = 500
MAX_IDS = 30

_STYLE = """body{font:14px/1.5 system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
.op{border:1px solid #ccc;border-radius:6px;padding:.8em 1em;margin:1em 0}
.op h2{font-size:1.05em;margin:0 0 .4em}.score{color:#a40}.k{color:#666;min-width:7em;display:inline-block}
.t{background:#f6f6f6;padding:.3em .6em;margin:.3em 0;white-space:pre-wrap}code{font-size:.95em}"""


def _row(name: str, values: Iterable[str], limit: int = MAX_IDS) -> str:
    vals = list(values)
    more = f" … and {len(vals) - limit} more" if len(vals) > limit else ""
    shown = ", ".join(f"<code>{escape(str(v))}</code>" for v in vals[:limit]) or "–"
    return f"<div><span class=k>{escape(name)}</span> {shown}{escape(more)}</div>"


def card(op) -> str:
    risks = [f"{r} × {n}" for r, n in op.risks.items()]
    when = f"{op.first_seen or '?'} → {op.last_seen or '?'}"
    texts = "".join(f"<div class=t>{escape(t)}</div>" for t in op.representative)
    return (f"<section class=op id='{escape(op.operation_id)}'><h2>{escape(op.operation_id)} · "
            f"<span class=score>score {op.score:.2f}</span> · {op.size} posts · {len(op.authors)} accounts</h2>"
            + _row("linked by", op.linked_by) + _row("contacts", op.contacts) + _row("accounts", op.authors)
            + _row("campaigns", op.campaigns) + _row("risks", risks) + _row("seen", [when])
            + _row("posts", op.post_ids) + texts + "</section>")


def render(ops: list, summary) -> str:
    head = (f"<p>{summary.read:,} records read, {summary.flagged:,} flagged, {summary.bad:,} bad; "
            f"{len(ops):,} operations holding {sum(o.size for o in ops):,} posts"
            + (f" (the first {MAX_CARDS} shown)" if len(ops) > MAX_CARDS else "") + ".</p>")
    cards = "\n".join(card(o) for o in ops[:MAX_CARDS])
    return (f"<!doctype html><html lang=zh><meta charset=utf-8><title>jingwang operations</title>"
            f"<style>{_STYLE}</style><h1>Operations</h1>{head}\n{cards}\n</html>\n")


def write_report(path: str, ops: list, summary) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(ops, summary))
