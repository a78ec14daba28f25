"""The review queue: one SQLite file (WAL mode) holding the scored items and an append-only audit
table of reviewer decisions.

- `items`: one row per post id, with the scored record, its review status, the latest labels and
  a `version` that grows with every decision (optimistic concurrency: a client may send the
  version it saw, and a decision made on a stale view is refused instead of silently winning).
- `decisions`: every decision ever made, never updated or deleted (triggers forbid it). Each has
  a unique `decision_id` chosen by the client: a retried POST with the same id is recognised and
  not applied twice.

Every method opens its own connection and closes it, so one `ReviewDB` can be shared by the
threads of a web server (one connection per request)."""
from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from detector.review.records import RESULT_KEYS, ImportSummary, accept, check_labels, clean_result, json_safe
from detector.review.schema import ITEM_COLUMNS, SCHEMA, SCHEMA_VERSION
from detector.risks import RISKS

BATCH = 2000  # imported records per write transaction (reviewers' decisions interleave between)

class ItemNotFound(KeyError):
    def __str__(self) -> str:
        return f"no item with id {self.args[0]!r}"


class DecisionConflict(Exception):
    """A decision that cannot be applied: made on a stale version of the item ("version"), or a
    decision id already used for a different decision ("decision_id"). `item` is the current item."""

    def __init__(self, kind: str, message: str, item: dict | None = None):
        super().__init__(message)
        self.kind, self.item = kind, item


def _record_body(rec: dict) -> tuple[str, str]:
    """A record as stored (canonical JSON) and its sha256, which tells an unchanged re-import."""
    body = json.dumps(rec, ensure_ascii=False, sort_keys=True)
    return body, hashlib.sha256(body.encode("utf-8")).hexdigest()


def _loads(text, default):
    try:
        return json.loads(text) if text else default
    except (TypeError, ValueError):
        return default


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _flags_col(flags: list[str]) -> str:
    return "," + "".join(f"{f}," for f in flags)


class ReviewDB:
    """The review queue in one SQLite file (created on first use unless `create=False`)."""

    def __init__(self, path: str | Path, create: bool = True, timeout: float = 15.0):
        self.path = Path(path)
        self.timeout = timeout
        if not self.path.is_file():
            if not create:
                raise FileNotFoundError(f"no review queue at {self.path}: create it with "
                                        f"`jingwang review import SCORED --db {self.path}`")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.connect() as c:
                c.execute("PRAGMA journal_mode=WAL")
                c.executescript(SCHEMA)  # every statement is IF NOT EXISTS: creates or completes the schema
                c.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                self._labels = self._read_labels(c)
        except sqlite3.DatabaseError as e:
            raise ValueError(f"{self.path} is not a review queue (SQLite): {e}") from None

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A new connection in autocommit mode (transactions are explicit), closed on exit."""
        try:
            c = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as e:
            raise FileNotFoundError(f"cannot open the review queue {self.path}: {e}") from None
        try:
            c.row_factory = sqlite3.Row
            c.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            c.execute("PRAGMA foreign_keys=ON")
            c.execute("PRAGMA synchronous=NORMAL")
            yield c
        finally:
            c.close()

    @contextmanager
    def _write(self, c: sqlite3.Connection):
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    # -- labels ------------------------------------------------------------------------------

    @staticmethod
    def _read_labels(c) -> list[str] | None:
        row = c.execute("SELECT value FROM meta WHERE key='labels'").fetchone()
        return json.loads(row[0]) if row else None

    @property
    def labels(self) -> list[str]:
        """The risks reviewers label: those of the first imported records (default: all risks)."""
        if self._labels is None:
            with self.connect() as c:
                self._labels = self._read_labels(c)
        return list(self._labels or RISKS)

    def _fix_labels(self, c, scores: dict) -> None:
        if self._read_labels(c) is None:
            known = [r for r in RISKS if r in scores] + [r for r in scores if r not in RISKS]
            c.execute("INSERT OR IGNORE INTO meta VALUES ('labels', ?)", (json.dumps(known),))
            self._labels = known

    # -- import ------------------------------------------------------------------------------

    def import_records(self, records: Iterable[dict], id_field: str = "id", text_field: str = "text",
                       summary: ImportSummary | None = None) -> ImportSummary:
        """Queue scored records by post id: a new id is inserted; the same record again changes
        nothing; a different (newer) score of a pending item replaces it; a reviewed item keeps
        what its reviewer saw. Records are checked first (detector/review/records.py)."""
        s = summary or ImportSummary()

        def checked():
            for n, rec in enumerate(records, 1):
                s.read += 1
                ok = accept(rec, f"record {n}", text_field, id_field, s)
                if ok is not None:
                    yield ok

        self.queue_accepted(checked(), text_field, s)
        return s

    def queue_accepted(self, accepted: Iterable[tuple[dict, str, str]], text_field: str, s: ImportSummary) -> None:
        """Write records that `records.accept` passed, in batches; an id seen twice is warned of."""
        batch: list[tuple[dict, str]] = []
        seen: dict[str, str] = {}
        for rec, rid, where in accepted:
            if rid in seen:
                s.warn(where, [f"post id {rid!r} already at {seen[rid]}: the later record counts"])
            seen.setdefault(rid, where)
            batch.append((rec, rid))
            if len(batch) >= BATCH:
                self._upsert(batch, text_field, s)
                batch = []
        if batch:
            self._upsert(batch, text_field, s)

    def _upsert(self, batch: list[tuple[dict, str]], text_field: str, s: ImportSummary) -> None:
        now = now_iso()
        with self.connect() as c, self._write(c):
            self._fix_labels(c, batch[0][0]["scores"])
            for rec, rid in batch:
                body, sha = _record_body(rec)
                old = c.execute("SELECT record_sha, status FROM items WHERE id=?", (rid,)).fetchone()
                if old is not None and old["record_sha"] == sha:
                    s.unchanged += 1
                    continue
                if old is not None and old["status"] == "reviewed":
                    s.kept_reviewed += 1
                    continue
                scores = rec["scores"]
                camp = rec.get("campaign")
                values = (rec[text_field], body, sha, json.dumps(scores), max(scores.values(), default=0.0),
                          _flags_col(rec["flags"]), rec["priority"],
                          str(camp.get("cluster_id")) if isinstance(camp, dict) and camp.get("cluster_id") is not None else None,
                          rec.get("model"), now)
                if old is None:
                    c.execute("INSERT INTO items (text, record, record_sha, scores, top_score, flags, priority, campaign, "
                              "model, updated_at, imported_at, id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                              values + (now, rid))
                    s.inserted += 1
                else:
                    c.execute("UPDATE items SET text=?, record=?, record_sha=?, scores=?, top_score=?, flags=?, "
                              "priority=?, campaign=?, model=?, updated_at=? WHERE id=? AND status='pending'",
                              values + (rid,))
                    s.updated += 1

    def ensure_item(self, item_id: str, text: str) -> bool:
        """Queue a post known only by id and text (labels coming from outside); True if it was new."""
        rec = {"id": item_id, "text": text, "scores": {}, "flags": [], "priority": 0.0, "evidence": {}}
        body, sha = _record_body(rec)
        now = now_iso()
        with self.connect() as c, self._write(c):
            cur = c.execute("INSERT OR IGNORE INTO items (id, text, record, record_sha, updated_at, imported_at) "
                            "VALUES (?,?,?,?,?,?)", (item_id, text, body, sha, now, now))
            return cur.rowcount == 1

    # -- reading -----------------------------------------------------------------------------

    def _item(self, row: sqlite3.Row) -> dict:
        """An item for the API: result fields in the shape the page expects, whatever was stored."""
        try:
            rec = json.loads(row["record"])
        except (TypeError, ValueError):
            rec = {}
        rec = rec if isinstance(rec, dict) else {}
        result = clean_result({**rec, "scores": _loads(row["scores"], {}), "flags": row["flags"].split(",")})
        fields = json_safe({k: v for k, v in rec.items() if k not in RESULT_KEYS and k not in ("id", "text")})
        prio = row["priority"] if isinstance(row["priority"], float) and math.isfinite(row["priority"]) else 0.0
        return {"id": row["id"], "text": row["text"], "scores": result["scores"], "flags": result["flags"],
                "priority": prio, "evidence": result["evidence"], "subtypes": result["subtypes"],
                "campaign": result["campaign"],
                "model": row["model"] if isinstance(row["model"], str) else None, "fields": fields,
                "status": row["status"], "labels": _loads(row["labels"], None),
                "reviewer": row["reviewer"], "note": row["note"], "decided_at": row["decided_at"],
                "n_decisions": row["n_decisions"], "version": row["version"],
                "imported_at": row["imported_at"], "updated_at": row["updated_at"]}

    def list_items(self, status: str | None = "pending", risk: str | None = None,
                   min_score: float | None = None, max_score: float | None = None,
                   campaign: str | None = None, limit: int = 50, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of the queue by priority (highest first). `risk`: only items flagged for it
        (the score range then applies to its score, else to the item's highest score);
        `campaign`: a cluster id, or "*" for any campaign. Returns the page and the cursor of the next."""
        where, args = [], []
        if status not in (None, "", "all"):
            if status not in ("pending", "reviewed"):
                raise ValueError(f"status must be pending, reviewed or all, not {status!r}")
            where.append("status = ?")
            args.append(status)
        score_expr = "top_score"
        if risk:
            if risk not in self.labels:
                raise ValueError(f"unknown risk {risk!r}; choose one of: {', '.join(self.labels)}")
            where.append("instr(flags, ?) > 0")
            args.append(f",{risk},")
            score_expr = "json_extract(scores, ?)"
        for bound, op in ((min_score, ">="), (max_score, "<=")):
            if bound is not None:
                where.append(f"{score_expr} {op} ?")
                args += ([f'$."{risk}"'] if risk else []) + [float(bound)]
        if campaign:
            if campaign == "*":
                where.append("campaign IS NOT NULL")
            else:
                where.append("campaign = ?")
                args.append(campaign)
        if cursor:
            try:
                p, cid = cursor.split("|", 1)
                p = float(p)
            except ValueError:
                raise ValueError(f"bad cursor {cursor!r}") from None
            where.append("(priority < ? OR (priority = ? AND id > ?))")
            args += [p, p, cid]
        limit = max(1, min(int(limit), 500))
        sql = (f"SELECT {ITEM_COLUMNS} FROM items {'WHERE ' + ' AND '.join(where) if where else ''} "
               f"ORDER BY priority DESC, id ASC LIMIT ?")
        with self.connect() as c:
            rows = c.execute(sql, args + [limit + 1]).fetchall()
        items = [self._item(r) for r in rows[:limit]]
        nxt = f"{items[-1]['priority']!r}|{items[-1]['id']}" if len(rows) > limit else None
        return items, nxt

    def get_item(self, item_id: str, history: bool = True) -> dict:
        with self.connect() as c:
            row = c.execute(f"SELECT {ITEM_COLUMNS} FROM items WHERE id=?", (item_id,)).fetchone()
            if row is None:
                raise ItemNotFound(item_id)
            item = self._item(row)
            if history:
                item["history"] = self._history(c, item_id)
        return item

    @staticmethod
    def _decision(row) -> dict:
        return {"decision_id": row["decision_id"], "item_id": row["item_id"], "reviewer": row["reviewer"],
                "labels": json.loads(row["labels"]), "note": row["note"], "source": row["source"],
                "item_version": row["item_version"], "created_at": row["created_at"]}

    def _history(self, c, item_id: str) -> list[dict]:
        rows = c.execute("SELECT * FROM decisions WHERE item_id=? ORDER BY seq", (item_id,)).fetchall()
        return [self._decision(r) for r in rows]

    def history(self, item_id: str) -> list[dict]:
        with self.connect() as c:
            return self._history(c, item_id)

    def iter_items(self, status: str | None = "reviewed") -> Iterator[dict]:
        """Every item (of one status, or all), by priority, without history."""
        where = "" if status in (None, "all") else "WHERE status = ?"
        with self.connect() as c:
            for row in c.execute(f"SELECT {ITEM_COLUMNS} FROM items {where} ORDER BY priority DESC, id",
                                 () if not where else (status,)):
                yield self._item(row)

    # -- decisions ---------------------------------------------------------------------------

    def decide(self, item_id: str, reviewer: str, labels: dict, note: str = "", decision_id: str | None = None,
               expected_version: int | None = None, source: str = "api") -> dict:
        """Record one decision and make it the item's current labels, atomically.

        Returns {"status": "applied" | "duplicate", "item": ..., "decision": ...}: a decision id
        seen before with the same content is a retry and changes nothing. Raises ItemNotFound,
        DecisionConflict (stale `expected_version`, or a reused decision id) or ValueError."""
        reviewer = (reviewer or "").strip()
        if not reviewer:
            raise ValueError("a decision needs the reviewer's name")
        labels = check_labels(labels, self.labels)
        note = note or ""
        did = decision_id or uuid.uuid4().hex
        with self.connect() as c:
            with self._write(c):
                old = c.execute("SELECT * FROM decisions WHERE decision_id=?", (did,)).fetchone()
                if old is not None:
                    same = (old["item_id"] == item_id and old["reviewer"] == reviewer
                            and json.loads(old["labels"]) == labels and old["note"] == note)
                    if not same:
                        raise DecisionConflict("decision_id", f"decision id {did!r} was already used for "
                                               f"another decision (item {old['item_id']!r})")
                    status, decision = "duplicate", self._decision(old)
                else:
                    row = c.execute("SELECT version FROM items WHERE id=?", (item_id,)).fetchone()
                    if row is None:
                        raise ItemNotFound(item_id)
                    if expected_version is not None and int(expected_version) != row["version"]:
                        raise DecisionConflict(
                            "version", f"item {item_id!r} changed since you loaded it (version {expected_version} -> "
                            f"{row['version']}): someone else decided it; reload and decide again")
                    version, now, body = row["version"] + 1, now_iso(), json.dumps(labels)
                    c.execute("INSERT INTO decisions (decision_id, item_id, reviewer, labels, note, source, "
                              "item_version, created_at) VALUES (?,?,?,?,?,?,?,?)",
                              (did, item_id, reviewer, body, note, source, version, now))
                    c.execute("UPDATE items SET status='reviewed', labels=?, reviewer=?, note=?, decided_at=?, "
                              "version=?, n_decisions=n_decisions+1, updated_at=? WHERE id=?",
                              (body, reviewer, note, now, version, now, item_id))
                    status = "applied"
                    decision = {"decision_id": did, "item_id": item_id, "reviewer": reviewer, "labels": labels,
                                "note": note, "source": source, "item_version": version, "created_at": now}
            item = self._item(c.execute(f"SELECT {ITEM_COLUMNS} FROM items WHERE id=?", (item_id,)).fetchone())
        return {"status": status, "item": item, "decision": decision}

    def conflict_item(self, item_id: str) -> dict | None:
        try:
            return self.get_item(item_id)
        except ItemNotFound:
            return None

    # -- stats -------------------------------------------------------------------------------

    def stats(self) -> dict:
        """Queue progress, decisions per reviewer, and per risk how reviewers judged the model's flags."""
        labels = self.labels
        with self.connect() as c:
            counts = dict(c.execute("SELECT status, count(*) FROM items GROUP BY status").fetchall())
            reviewers = dict(c.execute("SELECT reviewer, count(*) FROM decisions GROUP BY reviewer "
                                       "ORDER BY count(*) DESC, reviewer").fetchall())
            n_dec, last = c.execute("SELECT count(*), max(created_at) FROM decisions").fetchone()
            risks = {}
            for r in labels:
                path, flag = f'$."{r}"', f",{r},"
                pos, flagged, confirmed, missed = c.execute(
                    "SELECT coalesce(sum(json_extract(labels, ?) = 1), 0), coalesce(sum(instr(flags, ?) > 0), 0), "
                    "coalesce(sum(instr(flags, ?) > 0 AND json_extract(labels, ?) = 1), 0), "
                    "coalesce(sum(instr(flags, ?) = 0 AND json_extract(labels, ?) = 1), 0) "
                    "FROM items WHERE status='reviewed'", (path, flag, flag, path, flag, path)).fetchone()
                risks[r] = {"reviewed_positive": pos, "flagged_reviewed": flagged, "confirmed": confirmed,
                            "missed": missed, "flag_precision": round(confirmed / flagged, 4) if flagged else None}
        pending, reviewed = counts.get("pending", 0), counts.get("reviewed", 0)
        return {"total": pending + reviewed, "pending": pending, "reviewed": reviewed, "decisions": n_dec,
                "last_decision_at": last, "reviewers": reviewers, "labels": labels, "risks": risks}
