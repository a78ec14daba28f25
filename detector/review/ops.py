"""Operations in the review queue (`jingwang review import-operations OPERATIONS --db`): the
output of `jingwang operations` is stored beside the items, so the page can show an operation's
posts, accounts and contacts on one screen and its posts can be reviewed together."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from detector.text.pii import mask_text
from detector.review.db import ReviewDB
from detector.review.privacy import masked_item

MAX_ITEMS = 500  # posts of one operation sent to the page


@dataclass
class OperationsImport:
    operations: int = 0
    linked: int = 0
    not_queued: int = 0
    problems: list[str] = field(default_factory=list)


def _read(path: Path, s: OperationsImport) -> list[dict]:
    ops = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                op = json.loads(line)
            except (ValueError, RecursionError):
                s.problems.append(f"line {n}: not valid JSON")
                continue
            ids = op.get("post_ids") if isinstance(op, dict) else None
            if not isinstance(op, dict) or not isinstance(op.get("operation_id"), str) or not isinstance(ids, list):
                s.problems.append(f"line {n}: not an operation (operation_id and post_ids needed)")
                continue
            ops.append(op)
    return ops


def import_operations(db: ReviewDB, path: str | Path) -> OperationsImport:
    """Store each operation and which queued items belong to it (an operation imported again is
    replaced)."""
    s = OperationsImport()
    ops = _read(Path(path), s)
    with db.connect() as c, db._write(c):
        queued = {r[0] for r in c.execute("SELECT id FROM items")}
        for op in ops:
            oid = op["operation_id"]
            score = op.get("score") if isinstance(op.get("score"), (int, float)) else 0.0
            c.execute("INSERT OR REPLACE INTO operations (id, score, record) VALUES (?,?,?)",
                      (oid, float(score), json.dumps(op, ensure_ascii=False)))
            c.execute("DELETE FROM operation_items WHERE operation_id=?", (oid,))
            ids = {str(i) for i in op["post_ids"]}
            c.executemany("INSERT INTO operation_items VALUES (?,?)", [(oid, i) for i in sorted(ids & queued)])
            s.operations += 1
            s.linked += len(ids & queued)
            s.not_queued += len(ids - queued)
    return s


def _summary(op: dict, mask: bool) -> dict:
    keep = ("operation_id", "size", "score", "authors", "contacts", "campaigns", "linked_by", "risks", "subtypes",
            "first_seen", "last_seen")
    out = {k: op.get(k) for k in keep}
    if mask:
        out["contacts"] = [mask_text(c) if isinstance(c, str) else c for c in op.get("contacts") or []]
    return out


def item_operations(db: ReviewDB, item_id: str) -> list[str]:
    with db.connect() as c:
        return [r[0] for r in c.execute("SELECT operation_id FROM operation_items WHERE item_id=?", (item_id,))]


def list_operations(db: ReviewDB, limit: int = 100) -> list[dict]:
    """Operations by score, each with how many of its posts are queued and pending."""
    with db.connect() as c:
        rows = c.execute("SELECT o.record, count(i.id), sum(i.status = 'pending') FROM operations o "
                         "LEFT JOIN operation_items oi ON oi.operation_id = o.id LEFT JOIN items i ON i.id = oi.item_id "
                         "GROUP BY o.id ORDER BY o.score DESC, o.id LIMIT ?", (limit,)).fetchall()
    return [{**_summary(json.loads(r[0]), True), "queued": r[1], "pending": r[2] or 0} for r in rows]


def get_operation(db: ReviewDB, operation_id: str) -> dict | None:
    """One operation with its queued items (masked), by priority; None if unknown."""
    with db.connect() as c:
        row = c.execute("SELECT record FROM operations WHERE id=?", (operation_id,)).fetchone()
        if row is None:
            return None
        ids = [r[0] for r in c.execute("SELECT i.id FROM operation_items oi JOIN items i ON i.id = oi.item_id "
                                       "WHERE oi.operation_id=? ORDER BY i.priority DESC, i.id LIMIT ?",
                                       (operation_id, MAX_ITEMS))]
    items = [masked_item(db.get_item(i, history=False)) for i in ids]
    return {"operation": _summary(json.loads(row[0]), True), "items": items}
