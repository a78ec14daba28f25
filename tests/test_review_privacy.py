"""Personal data in the review queue: masked in every API answer and export by default, revealed
per item only on request with the reveal in the audit log; operations imported beside the queue."""
from __future__ import annotations

import json
import sqlite3

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from detector.review.db import ReviewDB
from detector.review.export import export
from detector.review.ops import import_operations
from detector.review.server import create_app

TOKEN = "privacy-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ID = "11010519491231002X"
DOX = f"这个人的电话是13812345678，身份证{ID}，大家去打爆"
AD = "专业删帖，加V：abc123，电话13987654321"


def record(rid, text, flags=("harassment",), priority=0.9, evidence=None, **fields):
    return {"id": rid, "text": text, "scores": {"rumor": 0.01, "paid_posting": 0.2, "harassment": 0.9},
            "flags": list(flags), "priority": priority, "evidence": evidence or {}, "model": "tiny@1", **fields}


@pytest.fixture
def db(tmp_path) -> ReviewDB:
    db = ReviewDB(tmp_path / "review.sqlite")
    ev = {"paid_posting": [{"term": "13987654321", "kind": "contact:phone", "weight": 0.0, "spans": [[15, 26]]}]}
    db.import_records([record("dox", DOX, author="u1"),
                       record("ad1", AD, flags=("paid_posting",), priority=0.8, evidence=ev, author="u2"),
                       record("ad2", "有偿删帖请联系", flags=("paid_posting",), priority=0.7, author="u3"),
                       record("plain", "今天天气不错", flags=(), priority=0.1)])
    return db


@pytest.fixture
def client(db) -> TestClient:
    return TestClient(create_app(db.path, TOKEN))


def test_api_masks_personal_data(client):
    items = {it["id"]: it for it in client.get("/api/items?status=all", headers=AUTH).json()["items"]}
    assert items["dox"]["text"] == "这个人的电话是138****5678，身份证1101**********002X，大家去打爆"
    assert [p["kind"] for p in items["dox"]["pii"]] == ["mobile", "id_card"] and items["dox"]["masked"]
    assert items["ad1"]["evidence"]["paid_posting"][0]["term"] == "139****4321"
    one = client.get("/api/items/dox", headers=AUTH).json()
    assert "13812345678" not in json.dumps(one, ensure_ascii=False) and one["reveals"] == []
    assert items["plain"]["text"] == "今天天气不错" and items["plain"]["pii"] == []


def test_reveal_is_logged_before_the_data_is_sent(client, db):
    assert client.post("/api/items/dox/reveal", json={"reviewer": ""}, headers=AUTH).status_code == 422
    assert client.post("/api/items/nope/reveal", json={"reviewer": "bob"}, headers=AUTH).status_code == 404
    r = client.post("/api/items/dox/reveal", json={"reviewer": "bob"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["text"] == DOX and not r.json()["masked"]
    (rev,) = r.json()["reveals"]
    assert rev["reviewer"] == "bob" and rev["kinds"] == ["id_card", "mobile"] and rev["action"] == "reveal"
    again = client.get("/api/items/dox", headers=AUTH).json()
    assert again["text"] != DOX and len(again["reveals"]) == 1  # the next view is masked again
    with sqlite3.connect(db.path) as c, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        c.execute("DELETE FROM reveals")


def test_decision_answer_is_masked(client):
    r = client.post("/api/items/dox/decision", json={"reviewer": "a", "labels": {"rumor": 0, "paid_posting": 0,
                                                                                 "harassment": 1}}, headers=AUTH)
    assert r.status_code == 200 and "13812345678" not in r.json()["item"]["text"]


@pytest.mark.parametrize("fmt", ["jsonl", "label-studio", "argilla"])
def test_exports_mask_unless_no_mask(db, tmp_path, fmt):
    db.decide("dox", "a", {"rumor": 0, "paid_posting": 0, "harassment": 1})
    out = tmp_path / f"out.{fmt}"
    export(db, fmt, out)
    text = out.read_text(encoding="utf-8")
    assert "138****5678" in text and "13812345678" not in text and ID not in text
    export(db, fmt, out, mask=False)
    assert "13812345678" in out.read_text(encoding="utf-8")


def test_cli_export_no_mask_is_explicit(db, tmp_path):
    from detector.cli._app import app

    db.decide("dox", "a", {"rumor": 0, "paid_posting": 0, "harassment": 1})
    out = tmp_path / "train.jsonl"
    r = CliRunner().invoke(app, ["review", "export", "--db", str(db.path), "--out", str(out)])
    assert r.exit_code == 0 and "13812345678" not in out.read_text(encoding="utf-8")
    r = CliRunner().invoke(app, ["review", "export", "--db", str(db.path), "--out", str(out), "--no-mask"])
    assert r.exit_code == 0 and "NOT masked" in r.output and "13812345678" in out.read_text(encoding="utf-8")


def test_operations_in_the_queue(db, client, tmp_path):
    ops = tmp_path / "operations.jsonl"
    op = {"operation_id": "op-1", "size": 3, "score": 0.7, "post_ids": ["ad1", "ad2", "gone"], "authors": ["u2", "u3"],
          "contacts": ["wechat:abc123", "phone:13987654321"], "risks": {"paid_posting": 2}}
    ops.write_text(json.dumps(op, ensure_ascii=False) + "\nnot json\n", encoding="utf-8")
    s = import_operations(db, ops)
    assert (s.operations, s.linked, s.not_queued) == (1, 2, 1) and s.problems == ["line 2: not valid JSON"]
    listed = client.get("/api/operations", headers=AUTH).json()["operations"]
    assert [(o["operation_id"], o["queued"], o["pending"]) for o in listed] == [("op-1", 2, 2)]
    got = client.get("/api/operations/op-1", headers=AUTH).json()
    assert [it["id"] for it in got["items"]] == ["ad1", "ad2"]
    assert got["operation"]["contacts"] == ["wechat:abc123", "phone:139****4321"]
    assert "13987654321" not in json.dumps(got, ensure_ascii=False)
    assert client.get("/api/items/ad1", headers=AUTH).json()["operations"] == ["op-1"]
    assert client.get("/api/operations/op-9", headers=AUTH).status_code == 404


def test_cli_import_operations(db, tmp_path):
    from detector.cli._app import app

    ops = tmp_path / "operations.jsonl"
    ops.write_text(json.dumps({"operation_id": "op-1", "post_ids": ["ad1", "ad2"]}) + "\n[1]\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["review", "import-operations", str(ops), "--db", str(db.path)])
    assert r.exit_code == 0 and "1 operations: 2 queued posts linked" in r.output and "line 2: not an operation" in r.output
    r = CliRunner().invoke(app, ["review", "import-operations", str(tmp_path / "none.jsonl"), "--db", str(db.path)])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_subtypes_reach_the_page_checked_and_masked(tmp_path):
    """Each flagged risk's subtypes (with their evidence) are queued and sent to the page; a phone
    number in a subtype's evidence is masked like the text; a malformed subtype is dropped."""
    db = ReviewDB(tmp_path / "review.sqlite")
    subs = {"harassment": {"doxxing": {"score": 0.97, "evidence": [{"term": "13812345678", "kind": "pii:mobile",
                                                                    "weight": 1.0, "spans": [[7, 18]]}]},
                           "threat": {"score": "high", "evidence": []}}}
    db.import_records([record("dox", DOX, subtypes=subs)])
    client = TestClient(create_app(db.path, TOKEN))
    it = client.get("/api/items/dox", headers=AUTH).json()
    assert set(it["subtypes"]["harassment"]) == {"doxxing"}            # the malformed "threat" dropped
    assert it["subtypes"]["harassment"]["doxxing"]["score"] == 0.97
    assert it["subtypes"]["harassment"]["doxxing"]["evidence"][0]["term"] == "138****5678"
    assert "subtypes" not in it["fields"]
    r = client.post("/api/items/dox/reveal", json={"reviewer": "bob"}, headers=AUTH).json()
    assert r["subtypes"]["harassment"]["doxxing"]["evidence"][0]["term"] == "13812345678"
