"""The review queue's SQLite schema: items, an append-only audit log of decisions, and meta."""
from __future__ import annotations

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id          TEXT PRIMARY KEY,
    text        TEXT NOT NULL,
    record      TEXT NOT NULL,                -- the scored record (JSON)
    record_sha  TEXT NOT NULL,
    scores      TEXT NOT NULL DEFAULT '{}',   -- {risk: probability} (JSON)
    top_score   REAL NOT NULL DEFAULT 0,
    flags       TEXT NOT NULL DEFAULT ',',    -- ",rumor,harassment," (searchable with instr)
    priority    REAL NOT NULL DEFAULT 0,
    campaign    TEXT,                         -- cluster id, if the post is in a campaign
    model       TEXT,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'reviewed')),
    labels      TEXT,                         -- latest decision {risk: 0|1} (JSON)
    reviewer    TEXT,
    note        TEXT,
    decided_at  TEXT,
    n_decisions INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL DEFAULT 1,
    imported_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_queue ON items (status, priority DESC, id);
CREATE INDEX IF NOT EXISTS items_priority ON items (priority DESC, id);
CREATE INDEX IF NOT EXISTS items_campaign ON items (campaign, priority DESC, id) WHERE campaign IS NOT NULL;
CREATE TABLE IF NOT EXISTS decisions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id  TEXT NOT NULL UNIQUE,        -- idempotency key
    item_id      TEXT NOT NULL REFERENCES items (id),
    reviewer     TEXT NOT NULL,
    labels       TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT 'api',
    item_version INTEGER NOT NULL,            -- the item's version this decision produced
    created_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_item ON decisions (item_id, seq);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are an append-only audit log'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are an append-only audit log'); END;
CREATE TABLE IF NOT EXISTS reveals (          -- who was shown an item's personal data unmasked
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id    TEXT NOT NULL REFERENCES items (id),
    reviewer   TEXT NOT NULL,
    kinds      TEXT NOT NULL,                 -- the kinds of personal data shown (JSON list)
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reveals_item ON reveals (item_id, seq);
CREATE TRIGGER IF NOT EXISTS reveals_no_update BEFORE UPDATE ON reveals
    BEGIN SELECT RAISE(ABORT, 'reveals are an append-only audit log'); END;
CREATE TRIGGER IF NOT EXISTS reveals_no_delete BEFORE DELETE ON reveals
    BEGIN SELECT RAISE(ABORT, 'reveals are an append-only audit log'); END;
CREATE TABLE IF NOT EXISTS operations (       -- `jingwang operations` output, one row per operation
    id     TEXT PRIMARY KEY,
    score  REAL NOT NULL DEFAULT 0,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operation_items (
    operation_id TEXT NOT NULL REFERENCES operations (id),
    item_id      TEXT NOT NULL,
    PRIMARY KEY (operation_id, item_id)
);
CREATE INDEX IF NOT EXISTS operation_items_item ON operation_items (item_id);
"""

ITEM_COLUMNS = ("id, text, record, scores, flags, priority, campaign, model, status, labels, reviewer, note, "
                "decided_at, n_decisions, version, imported_at, updated_at")
