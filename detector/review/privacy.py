"""Personal data in the review queue: masked by default, revealed one item at a time.

Every item the API sends has its text, evidence terms (the subtypes' too) and other fields passed through
:func:`detector.text.pii.mask_text` (``138****5678``, ``3701**********1234``): masking keeps the
length, so evidence spans still point at the right characters. `pii` lists what was masked
(kind, span, masked value). A reviewer who needs the data asks for it (`POST
/api/items/{id}/reveal`): the reveal is written to the append-only `reveals` table (who, which
kinds, when) before the unmasked item is sent, and shows in the item's history. Exports mask too
unless `--no-mask` is given (detector/review/export.py)."""
from __future__ import annotations

import json

from detector.text.pii import find_pii, mask_text
from detector.review.db import ItemNotFound, ReviewDB, now_iso

MAX_DEPTH = 20  # nesting of a field value walked for strings to mask (deeper values are dropped)


def mask_strings(value, depth: int = 0):
    """``value`` with every string in it masked (dicts and lists walked)."""
    if isinstance(value, str):
        return mask_text(value)
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, dict):
        return {k: mask_strings(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_strings(v, depth + 1) for v in value]
    return value


def masked_item(item: dict) -> dict:
    """A copy of an API item with its personal data masked and listed in `pii`."""
    found = find_pii(item.get("text") or "")
    out = {**item, "text": mask_text(item.get("text") or ""), "evidence": mask_strings(item.get("evidence")),
           "subtypes": mask_strings(item.get("subtypes") or {}),
           "fields": mask_strings(item.get("fields")), "masked": True,
           "pii": [{"kind": p.kind, "span": [p.start, p.end], "masked": p.masked} for p in found]}
    return out


def unmasked_item(item: dict) -> dict:
    return {**item, "masked": False,
            "pii": [{"kind": p.kind, "span": [p.start, p.end], "masked": p.masked} for p in find_pii(item.get("text") or "")]}


def _reveal(row) -> dict:
    return {"action": "reveal", "item_id": row["item_id"], "reviewer": row["reviewer"],
            "kinds": json.loads(row["kinds"]), "created_at": row["created_at"]}


def reveals(db: ReviewDB, item_id: str) -> list[dict]:
    """Every reveal of an item's personal data, oldest first."""
    with db.connect() as c:
        rows = c.execute("SELECT * FROM reveals WHERE item_id=? ORDER BY seq", (item_id,)).fetchall()
    return [_reveal(r) for r in rows]


def reveal(db: ReviewDB, item_id: str, reviewer: str) -> dict:
    """Log that ``reviewer`` is shown the item unmasked, then return the unmasked item (with its
    history and reveals). Raises ItemNotFound or ValueError (no reviewer name)."""
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise ValueError("revealing personal data needs the reviewer's name")
    item = db.get_item(item_id)
    kinds = sorted({p.kind for p in find_pii(item["text"])})
    with db.connect() as c, db._write(c):
        if c.execute("SELECT 1 FROM items WHERE id=?", (item_id,)).fetchone() is None:
            raise ItemNotFound(item_id)
        c.execute("INSERT INTO reveals (item_id, reviewer, kinds, created_at) VALUES (?,?,?,?)",
                  (item_id, reviewer, json.dumps(kinds), now_iso()))
    return {**unmasked_item(item), "reveals": reveals(db, item_id)}
