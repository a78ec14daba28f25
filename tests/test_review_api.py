"""The review API (FastAPI TestClient): token auth, the queue by priority, decisions (idempotent,
optimistic versions), several reviewers at once, stats, and the page's safety headers."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from detector.review.db import ReviewDB
from detector.review.importer import import_file
from detector.review.server import create_app
from tests.test_review_db import scored, write

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NO = {"rumor": 0, "paid_posting": 0, "harassment": 0}


@pytest.fixture
def db_path(tmp_path):
    rows = [scored(i, flags=("paid_posting",) if i % 2 else (), p=(0.1, 0.9 if i % 2 else 0.2, 0.1))
            for i in range(1, 41)]
    rows.append(scored(99, text="点赞员招募中<script>alert(1)</script>一单一结", flags=("paid_posting",),
                       p=(0.1, 0.97, 0.1), priority=0.97))
    path = tmp_path / "review.sqlite"
    import_file(ReviewDB(path), write(tmp_path / "scored.jsonl", rows))
    return path


@pytest.fixture
def client(db_path):
    c = TestClient(create_app(db_path, TOKEN))
    c.app_state_db = db_path
    return c


def test_every_api_call_needs_the_token(client):
    calls = [("get", "/api/items", None), ("get", "/api/stats", None), ("get", "/api/meta", None),
             ("get", "/api/items/p001", None), ("post", "/api/items/p001/decision", {"reviewer": "a", "labels": NO})]
    for method, url, body in calls:
        for headers in ({}, {"Authorization": "Bearer wrong-token-xxxx"}, {"Authorization": TOKEN},
                        {"Authorization": "Basic " + TOKEN}):
            r = client.request(method, url, json=body, headers=headers)
            assert r.status_code == 401, (method, url, headers)
            assert r.headers["www-authenticate"] == "Bearer"
        assert client.request(method, url, json=body, headers=AUTH).status_code == 200, (method, url)
    # the decision above was applied once per accepted call only
    assert client.get("/api/stats", headers=AUTH).json()["decisions"] == 1


def test_page_is_served_without_data_and_with_a_strict_csp(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text and "p001" not in r.text  # no inline script, no queue data
    for name in ("common.js", "item.js", "app.js"):
        js = client.get(f"/static/{name}")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert unsafe not in js.text, (name, unsafe)
        assert f'src="/static/{name}"' in r.text
    assert client.get("/static/index.html").status_code == 404  # only the files the page loads
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/../db.py").status_code == 404


def test_items_come_by_priority_in_pages_with_filters(client):
    r = client.get("/api/items", params={"limit": 10}, headers=AUTH).json()
    assert len(r["items"]) == 10 and r["next_cursor"]
    assert r["items"][0]["id"] == "p099" and "<script>" in r["items"][0]["text"]  # stored as given, shown as text
    prios = [x["priority"] for x in r["items"]]
    assert prios == sorted(prios, reverse=True)
    rest = client.get("/api/items", params={"limit": 500, "cursor": r["next_cursor"]}, headers=AUTH).json()
    assert len(r["items"]) + len(rest["items"]) == 41 and rest["next_cursor"] is None
    paid = client.get("/api/items", params={"risk": "paid_posting", "min_score": 0.95}, headers=AUTH).json()["items"]
    assert [x["id"] for x in paid] == ["p099"]
    assert client.get("/api/items", params={"risk": "spam"}, headers=AUTH).status_code == 422
    assert client.get("/api/items", params={"status": "done"}, headers=AUTH).status_code == 422
    assert client.get("/api/items", params={"limit": 0}, headers=AUTH).status_code == 422


def test_decisions_validate_retry_once_and_refuse_stale_versions(client):
    url = "/api/items/p002/decision"
    body = {"reviewer": "alice", "labels": {"rumor": 0, "paid_posting": 1, "harassment": 0}, "note": "刷单",
            "decision_id": "alice-0001", "expected_version": 1}
    r = client.post(url, json=body, headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "applied" and r.json()["item"]["version"] == 2
    retry = client.post(url, json=body, headers=AUTH)  # e.g. the response was lost and the page sent it again
    assert retry.status_code == 200 and retry.json()["status"] == "duplicate"
    stale = client.post(url, json={**body, "decision_id": "bob-0001", "reviewer": "bob"}, headers=AUTH)
    assert stale.status_code == 409 and stale.json()["conflict"] == "version"
    assert stale.json()["item"]["reviewer"] == "alice"  # the page shows who decided meanwhile
    reused = client.post(url, json={**body, "labels": NO, "expected_version": None}, headers=AUTH)
    assert reused.status_code == 409 and reused.json()["conflict"] == "decision_id"
    by_header = client.post("/api/items/p004/decision", json={"reviewer": "carol", "labels": NO},
                            headers={**AUTH, "Idempotency-Key": "carol-key-1"})
    again = client.post("/api/items/p004/decision", json={"reviewer": "carol", "labels": NO},
                        headers={**AUTH, "Idempotency-Key": "carol-key-1"})
    assert (by_header.json()["status"], again.json()["status"]) == ("applied", "duplicate")
    item = client.get("/api/items/p002", headers=AUTH).json()
    assert [(h["reviewer"], h["decision_id"]) for h in item["history"]] == [("alice", "alice-0001")]
    assert item["labels"]["paid_posting"] == 1 and item["note"] == "刷单"
    for bad in ({"reviewer": "a", "labels": {"rumor": 1}},
                {"reviewer": "a", "labels": {"rumor": 3, "paid_posting": 0, "harassment": 0}},
                {"reviewer": "", "labels": NO}, {"labels": NO}, {"reviewer": "a"}):
        assert client.post("/api/items/p006/decision", json=bad, headers=AUTH).status_code == 422, bad
    assert client.post("/api/items/nope/decision", json={"reviewer": "a", "labels": NO}, headers=AUTH).status_code == 404
    ReviewDB(client.app_state_db).ensure_item("weibo/123?x=1", "帖子 id 里有斜杠")  # ids are free text
    quoted = "/api/items/weibo%2F123%3Fx%3D1"
    assert client.post(f"{quoted}/decision", json={"reviewer": "a", "labels": NO}, headers=AUTH).status_code == 200
    assert client.get(quoted, headers=AUTH).json()["reviewer"] == "a"
    assert client.get("/api/items/nope", headers=AUTH).status_code == 404
    assert client.get("/api/stats", headers=AUTH).json()["decisions"] == 3


def test_several_reviewers_at_once_lose_nothing_and_apply_nothing_twice(db_path):
    app = create_app(db_path, TOKEN)
    reviewers, items = [f"r{k}" for k in range(8)], [f"p{i:03d}" for i in range(1, 11)]
    statuses: list[int] = []
    lock = threading.Lock()

    def work(reviewer: str) -> None:
        c = TestClient(app)
        for it in items:
            body = {"reviewer": reviewer, "labels": {"rumor": 0, "paid_posting": int(reviewer[-1]) % 2, "harassment": 0},
                    "decision_id": f"{reviewer}-{it}"}
            for _ in range(2):  # every POST is sent twice, as a client retrying after a timeout would
                r = c.post(f"/api/items/{it}/decision", json=body, headers=AUTH)
                with lock:
                    statuses.append(r.status_code)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, reviewers))
    assert statuses.count(200) == 160
    db = ReviewDB(db_path, create=False)
    assert db.stats()["decisions"] == 80  # 8 reviewers x 10 items, each once
    for it in items:
        item = db.get_item(it)
        assert item["n_decisions"] == 8 and item["version"] == 9
        assert sorted(h["reviewer"] for h in item["history"]) == reviewers
        assert sorted(h["item_version"] for h in item["history"]) == list(range(2, 10))

    # the same item, the same starting version, 8 reviewers: exactly one wins, 7 are told to reload
    def race(reviewer: str) -> int:
        return TestClient(app).post("/api/items/p020/decision", headers=AUTH, json={
            "reviewer": reviewer, "labels": NO, "decision_id": f"race-{reviewer}", "expected_version": 1}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(race, reviewers))
    assert sorted(codes) == [200] + [409] * 7
    assert db.get_item("p020")["n_decisions"] == 1


def test_stats_count_progress_reviewers_and_flag_precision(client):
    def decide(item, reviewer, paid):
        r = client.post(f"/api/items/{item}/decision", headers=AUTH,
                        json={"reviewer": reviewer, "labels": {"rumor": 0, "paid_posting": paid, "harassment": 0}})
        assert r.status_code == 200

    decide("p001", "alice", 1)   # flagged paid_posting, confirmed
    decide("p003", "alice", 0)   # flagged, rejected
    decide("p002", "bob", 1)     # not flagged, missed by the model
    decide("p002", "alice", 1)   # second opinion on the same item
    s = client.get("/api/stats", headers=AUTH).json()
    assert (s["total"], s["reviewed"], s["pending"], s["decisions"]) == (41, 3, 38, 4)
    assert s["reviewers"] == {"alice": 3, "bob": 1}
    paid = s["risks"]["paid_posting"]
    assert (paid["flagged_reviewed"], paid["confirmed"], paid["missed"], paid["reviewed_positive"]) == (2, 1, 1, 2)
    assert paid["flag_precision"] == 0.5 and s["risks"]["rumor"]["flag_precision"] is None
    assert s["last_decision_at"].endswith("Z")


def test_create_app_refuses_a_missing_queue_or_a_weak_token(tmp_path, db_path):
    with pytest.raises(FileNotFoundError, match="jingwang review import"):
        create_app(tmp_path / "none.sqlite", TOKEN)
    with pytest.raises(ValueError):
        create_app(db_path, "short")


def _asgi_post(app, path: str, headers: dict, chunks: list[bytes]) -> tuple[int, int, bytes]:
    """POST straight through the ASGI interface: (status, body bytes the app pulled in, response body).
    Counting what `receive` hands out shows whether the body was read before the answer."""
    import asyncio

    pending, pulled, status, out = list(chunks), [0], [0], []

    async def receive():
        if pending:
            chunk = pending.pop(0)
            pulled[0] += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        elif message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    return status[0], pulled[0], b"".join(out)


def test_the_token_is_checked_before_the_body_and_bodies_are_limited(db_path):
    """Issue 13 row 15: an unauthenticated 300 MB POST was read whole before the 401."""
    app = create_app(db_path, TOKEN, max_body=4096)
    url, json_type = "/api/items/p001/decision", {"content-type": "application/json"}
    huge = [b"x" * 100_000] * 3000  # 300 MB offered (one 100 kB chunk, repeated)
    status, pulled, body = _asgi_post(app, url, {**json_type, "content-length": "300000000"}, huge)
    assert (status, pulled) == (401, 0) and b"access token" in body
    status, pulled, body = _asgi_post(app, url, {**json_type, **AUTH, "content-length": "300000000"}, huge)
    assert (status, pulled) == (413, 0) and b"4096 bytes" in body
    # no Content-Length (chunked): read only until the limit is passed
    status, pulled, body = _asgi_post(app, url, {**json_type, **AUTH}, [b"x" * 1000] * 1000)
    assert status == 413 and pulled <= 5000
    c = TestClient(app)
    assert c.post(url, json={"reviewer": "a", "labels": NO, "note": "长" * 3000}, headers=AUTH).status_code == 413
    r = c.post(url, json={"reviewer": "a", "labels": NO, "note": "ok"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["item"]["note"] == "ok"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert TestClient(create_app(db_path, TOKEN)).post(  # the default limit (1 MiB) lets a normal decision in
        url, json={"reviewer": "b", "labels": NO}, headers=AUTH).status_code == 200
    with pytest.raises(ValueError, match="max_body"):
        create_app(db_path, TOKEN, max_body=0)


def test_decision_labels_are_the_integers_0_or_1_only(client):
    """Issue 13 row 17: "yes", "true", "1", 1.0 and true were all stored as 1."""
    url = "/api/items/p005/decision"
    for bad in ("yes", "true", "1", "0", 1.0, 0.0, True, False, 2, -1, None, [1], {"v": 1}):
        r = client.post(url, json={"reviewer": "a", "labels": {**NO, "harassment": bad}}, headers=AUTH)
        assert r.status_code == 422, bad
        detail = r.json()["detail"]
        assert isinstance(detail, str) and "harassment" in detail and "0 or 1" in detail, (bad, detail)
    item = client.get("/api/items/p005", headers=AUTH).json()
    assert (item["status"], item["n_decisions"]) == ("pending", 0)
    r = client.post(url, json={"reviewer": "a", "labels": {**NO, "harassment": 1}}, headers=AUTH)
    assert r.status_code == 200 and r.json()["item"]["labels"]["harassment"] == 1
    # other malformed bodies also get one readable sentence naming the field
    r = client.post(url, json={"labels": NO}, headers=AUTH)
    assert r.status_code == 422 and "reviewer" in r.json()["detail"]
