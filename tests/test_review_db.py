"""The review queue (SQLite): import without duplicates, decisions with an append-only audit log,
paging and filters, exports (training JSONL, Label Studio, Argilla) and Label Studio labels back."""
from __future__ import annotations

import json
import sqlite3

import pytest

from detector.batch.io import RecordWriter
from detector.review.db import DecisionConflict, ItemNotFound, ReviewDB
from detector.review.importer import import_file
from detector.review.export import export, import_label_studio

LABELS = ("rumor", "paid_posting", "harassment")


def scored(i: int, text: str | None = None, p=(0.1, 0.2, 0.3), flags=(), priority=None, campaign=None) -> dict:
    rec = {"id": f"p{i:03d}", "text": text or f"帖子{i}：今天天气不错", "author": f"u{i}",
           "scores": dict(zip(LABELS, p)), "flags": list(flags),
           "priority": priority if priority is not None else round(0.01 * i, 4),
           "evidence": {f: [{"term": "天气", "weight": 0.3, "spans": [[len(f"帖子{i}：") + 2, len(f"帖子{i}：") + 4]]}]
                        for f in flags},
           "model": "tiny@1"}
    if campaign:
        rec["campaign"] = {"cluster_id": campaign, "size": 5, "score": 0.8}
    return rec


def write(path, rows):
    w = RecordWriter(str(path))
    w.write(rows)
    w.close()
    return str(path)


@pytest.fixture
def queue(tmp_path):
    rows = [scored(i, flags=("rumor",) if i % 3 == 0 else (), p=(0.6 if i % 3 == 0 else 0.1, 0.2, 0.05 * (i % 10)),
                   campaign="c7" if i % 5 == 0 else None) for i in range(1, 31)]
    db = ReviewDB(tmp_path / "review.sqlite")
    import_file(db, write(tmp_path / "scored.jsonl", rows))
    return db


def test_import_twice_creates_no_duplicates_and_newer_scores_update_pending_items(tmp_path):
    rows = [scored(i) for i in range(5)]
    path = write(tmp_path / "scored.jsonl", rows)
    db = ReviewDB(tmp_path / "q.sqlite")
    s1 = import_file(db, path)
    s2 = import_file(db, path)
    assert (s1.read, s1.inserted) == (5, 5) and (s2.inserted, s2.unchanged, s2.updated) == (0, 5, 0)
    assert db.stats()["total"] == 5
    db.decide("p001", "alice", {"rumor": 1, "paid_posting": 0, "harassment": 0})
    newer = [scored(i, p=(0.9, 0.1, 0.1), flags=("rumor",), priority=0.9) for i in range(5)]
    s3 = import_file(db, write(tmp_path / "rescored.jsonl", newer))
    assert (s3.updated, s3.kept_reviewed, s3.inserted) == (4, 1, 0)
    assert db.get_item("p002")["scores"]["rumor"] == 0.9 and db.get_item("p002")["priority"] == 0.9
    reviewed = db.get_item("p001")
    assert reviewed["scores"]["rumor"] == 0.1 and reviewed["status"] == "reviewed"  # what its reviewer saw


def test_import_reads_csv_and_parquet_scored_output_and_counts_bad_records(tmp_path):
    rows = [scored(i, flags=("harassment",), campaign="c1") for i in range(3)]
    for ext in ("csv", "parquet"):
        db = ReviewDB(tmp_path / f"{ext}.sqlite")
        s = import_file(db, write(tmp_path / f"scored.{ext}", rows))
        assert s.inserted == 3 and s.bad == 0
        it = db.get_item("p001")
        assert it["flags"] == ["harassment"] and it["scores"]["rumor"] == pytest.approx(0.1)
        assert it["evidence"]["harassment"][0]["spans"] == [[6, 8]] and it["campaign"]["cluster_id"] == "c1"
    raw = tmp_path / "mixed.jsonl"
    raw.write_text(json.dumps(scored(1), ensure_ascii=False) + "\n{broken\n"
                   + json.dumps({"id": "x", "text": "没有分数"}, ensure_ascii=False) + "\n", encoding="utf-8")
    s = import_file(ReviewDB(tmp_path / "m.sqlite"), str(raw))
    assert (s.read, s.inserted, s.bad) == (3, 1, 2)
    assert any("malformed JSON" in p for p in s.problems) and any("not scored output" in p for p in s.problems)
    with pytest.raises(FileNotFoundError):
        import_file(tmp_path / "m.sqlite", str(tmp_path / "missing.jsonl"))


def test_queue_uses_wal_and_the_audit_log_is_append_only(queue):
    with queue.connect() as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    queue.decide("p001", "alice", {"rumor": 0, "paid_posting": 0, "harassment": 0}, decision_id="d-00000001")
    with queue.connect() as c:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            c.execute("UPDATE decisions SET reviewer='mallory'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            c.execute("DELETE FROM decisions")


def test_decisions_are_recorded_once_with_history_and_versions(queue):
    labels = {"rumor": 1, "paid_posting": 0, "harassment": 0}
    r1 = queue.decide("p003", "alice", labels, note="转发保平安", decision_id="dec-alice-1", expected_version=1)
    assert r1["status"] == "applied" and r1["item"]["version"] == 2 and r1["item"]["status"] == "reviewed"
    again = queue.decide("p003", "alice", labels, note="转发保平安", decision_id="dec-alice-1", expected_version=1)
    assert again["status"] == "duplicate" and again["item"]["version"] == 2  # a retry, not a second decision
    with pytest.raises(DecisionConflict) as e:
        queue.decide("p003", "bob", {"rumor": 0, "paid_posting": 0, "harassment": 0}, decision_id="dec-bob-1",
                     expected_version=1)
    assert e.value.kind == "version"
    with pytest.raises(DecisionConflict) as e:
        queue.decide("p003", "alice", {"rumor": 0, "paid_posting": 0, "harassment": 0}, decision_id="dec-alice-1")
    assert e.value.kind == "decision_id"
    queue.decide("p003", "bob", {"rumor": 1, "paid_posting": 1, "harassment": 0}, decision_id="dec-bob-2", expected_version=2)
    item = queue.get_item("p003")
    assert [(h["reviewer"], h["labels"]["paid_posting"], h["item_version"]) for h in item["history"]] == \
        [("alice", 0, 2), ("bob", 1, 3)]
    assert item["labels"] == {"rumor": 1, "paid_posting": 1, "harassment": 0} and item["n_decisions"] == 2
    assert item["history"][0]["note"] == "转发保平安" and item["history"][0]["created_at"].endswith("Z")
    with pytest.raises(ItemNotFound):
        queue.decide("nope", "alice", labels)
    for bad in ({"rumor": 1}, {"rumor": 2, "paid_posting": 0, "harassment": 0},
                {"rumor": 1, "paid_posting": 0, "harassment": 0, "spam": 1}):
        with pytest.raises(ValueError):
            queue.decide("p004", "alice", bad)
    with pytest.raises(ValueError):
        queue.decide("p004", "  ", labels)


def test_pages_by_priority_with_filters_cover_each_item_once(queue):
    seen, cursor = [], None
    while True:
        page, cursor = queue.list_items("pending", limit=7, cursor=cursor)
        seen += page
        if cursor is None:
            break
    assert len(seen) == 30 and len({x["id"] for x in seen}) == 30
    assert [x["priority"] for x in seen] == sorted((x["priority"] for x in seen), reverse=True)
    rumor, _ = queue.list_items("pending", risk="rumor", limit=100)
    assert rumor and all(x["flags"] == ["rumor"] for x in rumor) and len(rumor) == 10
    high, _ = queue.list_items("all", min_score=0.35, max_score=0.45, limit=100)
    assert high and all(0.35 <= max(x["scores"].values()) <= 0.45 for x in high)
    camp, _ = queue.list_items("all", campaign="c7", limit=100)
    assert {x["id"] for x in camp} == {f"p{i:03d}" for i in range(5, 31, 5)}
    assert len(queue.list_items("all", campaign="*", limit=100)[0]) == 6
    queue.decide("p030", "alice", {"rumor": 0, "paid_posting": 0, "harassment": 0})
    assert [x["id"] for x in queue.list_items("reviewed")[0]] == ["p030"]
    assert "p030" not in {x["id"] for x in queue.list_items("pending", limit=100)[0]}
    with pytest.raises(ValueError):
        queue.list_items("pending", risk="spam")


def test_exports_and_label_studio_round_trip(queue, tmp_path):
    queue.decide("p003", "alice", {"rumor": 1, "paid_posting": 0, "harassment": 0}, note="谣言")
    queue.decide("p004", "bob", {"rumor": 0, "paid_posting": 0, "harassment": 0})
    assert export(queue, "jsonl", tmp_path / "train.jsonl") == 2
    rows = [json.loads(x) for x in (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert by_id["p003"]["rumor"] == 1 and by_id["p003"]["labels"]["harassment"] == 0
    assert by_id["p003"]["reviewer"] == "alice" and by_id["p003"]["note"] == "谣言" and by_id["p003"]["text"]

    assert export(queue, "argilla", tmp_path / "argilla.jsonl") == 2
    recs = {r["id"]: r for r in map(json.loads, (tmp_path / "argilla.jsonl").read_text(encoding="utf-8").splitlines())}
    assert recs["p003"]["responses"][0] == {"question_name": "risks", "value": ["rumor"], "user": "alice", "status": "submitted"}
    assert recs["p003"]["suggestions"][0]["value"] == ["rumor"] and recs["p003"]["fields"]["text"]

    # Label Studio: pending items out as tasks with our flags as predictions; labels made there come back
    n = export(queue, "label-studio", tmp_path / "ls.json", status="pending")
    tasks = json.loads((tmp_path / "ls.json").read_text(encoding="utf-8"))
    assert n == len(tasks) == 28
    assert "<Choices name=\"risks\"" in (tmp_path / "ls.label_config.xml").read_text()
    t6 = next(t for t in tasks if t["data"]["post_id"] == "p006")
    assert t6["predictions"][0]["result"][0]["value"]["choices"] == ["rumor"]
    # what Label Studio exports after an annotator labeled two tasks (one twice) and cancelled one
    for k, t in enumerate(tasks):
        t["id"] = 100 + k
    t6["annotations"] = [{"id": 1, "completed_by": {"email": "carol@example.org"}, "was_cancelled": False,
                          "created_at": "2026-11-28T10:00:00Z",
                          "result": [{"from_name": "risks", "to_name": "text", "type": "choices",
                                      "value": {"choices": ["rumor", "harassment"]}}]}]
    t7 = next(t for t in tasks if t["data"]["post_id"] == "p007")
    t7["annotations"] = [{"id": 2, "completed_by": 5, "result": [], "created_at": "2026-11-28T10:01:00Z"},
                         {"id": 3, "completed_by": 5, "was_cancelled": True, "result": []}]
    (tmp_path / "ls_export.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    s = import_label_studio(queue, tmp_path / "ls_export.json")
    assert (s.applied, s.duplicates, s.skipped) == (2, 0, 0)
    assert queue.get_item("p006")["labels"] == {"rumor": 1, "paid_posting": 0, "harassment": 1}
    assert queue.get_item("p006")["reviewer"] == "label-studio:carol@example.org"
    assert queue.get_item("p007")["labels"] == {"rumor": 0, "paid_posting": 0, "harassment": 0}
    s2 = import_label_studio(queue, tmp_path / "ls_export.json")
    assert (s2.applied, s2.duplicates) == (0, 2) and queue.stats()["decisions"] == 4


def test_review_cli_import_stats_export_and_labels_back(tmp_path):
    from typer.testing import CliRunner

    import detector.cli.review  # noqa: F401  (registers `review`)
    from detector.cli._app import app

    runner, db = CliRunner(), tmp_path / "q.sqlite"
    scored_file = write(tmp_path / "scored.jsonl", [scored(i, flags=("rumor",)) for i in range(1, 4)])
    r = runner.invoke(app, ["review", "import", scored_file, "--db", str(db)], env={"COLUMNS": "120"})
    assert r.exit_code == 0 and "new items" in r.output and "3" in r.output, r.output
    ReviewDB(db).decide("p001", "alice", {"rumor": 1, "paid_posting": 0, "harassment": 0})
    r = runner.invoke(app, ["review", "stats", "--db", str(db)], env={"COLUMNS": "120"})
    assert r.exit_code == 0 and "1 / 3 reviewed" in r.output and "alice 1" in r.output, r.output
    out = tmp_path / "tasks.json"
    r = runner.invoke(app, ["review", "export", "--db", str(db), "--format", "label-studio", "--out", str(out),
                            "--status", "all"])
    assert r.exit_code == 0 and "3 items written" in r.output, r.output
    tasks = json.loads(out.read_text(encoding="utf-8"))
    tasks[1]["annotations"] = [{"id": 7, "completed_by": 2, "result": [
        {"from_name": "risks", "to_name": "text", "type": "choices", "value": {"choices": ["harassment"]}}]}]
    out.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(app, ["review", "import-labels", str(out), "--db", str(db)])
    assert r.exit_code == 0 and "1 decisions applied" in r.output, r.output
    assert ReviewDB(db).get_item(tasks[1]["data"]["post_id"])["labels"]["harassment"] == 1
    for args in (["review", "import", str(tmp_path / "missing.jsonl"), "--db", str(db)],
                 ["review", "export", "--db", str(tmp_path / "none.sqlite"), "--out", str(out)],
                 ["review", "export", "--db", str(db), "--format", "csv", "--out", str(out)],
                 ["review", "stats", "--db", scored_file]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and "error:" in r.output and "Traceback" not in r.output, (args, r.output)


def test_decide_takes_only_the_integers_0_and_1(queue):
    """Issue 13 row 17, below the API: true, 1.0, "1" and "yes" were stored as 1."""
    for bad in (True, 1.0, "1", "yes", "true", None):
        with pytest.raises(ValueError, match=r"labels\.rumor must be the integer 0 or 1"):
            queue.decide("p004", "alice", {"rumor": bad, "paid_posting": 0, "harassment": 0})
    assert queue.get_item("p004")["n_decisions"] == 0
    assert queue.decide("p004", "alice", {"rumor": 1, "paid_posting": 0, "harassment": 0})["item"]["labels"]["rumor"] == 1


def test_import_checks_the_fields_the_pipeline_writes(tmp_path):
    """Issue 13 row 16: a record's own `campaign` was trusted, `{"size": {"toString": 1}}` stopped the
    queue page, an evidence term that is an object broke the item view, NaN scores broke the API."""
    good = scored(1, flags=("rumor",))
    rows = [good,
            {**scored(2), "campaign": {"size": {"toString": 1}}},                         # dropped, warned
            {**scored(3), "campaign": {"cluster_id": "c-1", "size": 4, "score": 0.5}},    # kept
            {**scored(4, flags=("rumor",)), "evidence": {"rumor": [
                {"term": {"toString": 1}, "spans": [[0, 1]]}, {"term": "天气", "weight": 0.3, "spans": [[1, "x"], [2, 4]]}]}},
            {**scored(5), "scores": {"rumor": "high", "paid_posting": 0.1, "harassment": 0.1}},  # rejected
            {**scored(6), "scores": {"rumor": True, "paid_posting": 0.1, "harassment": 0.1}},    # rejected
            {**scored(7), "scores": {"rumor": 1.5, "paid_posting": 0.1, "harassment": 0.1}},     # rejected
            {**scored(8), "priority": {"x": 1}},                                                # rejected
            {**scored(9), "flags": {"rumor": 1}, "model": {"name": "x"}},                      # both dropped
            {**scored(10), "flags": ["rumor", "spam", 3]},                                      # spam and 3 dropped
            {**scored(11), "id": {"x": 1}}]                                                     # rejected
    path = tmp_path / "scored.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    db = ReviewDB(tmp_path / "q.sqlite")
    s = import_file(db, str(path))
    assert (s.read, s.inserted, s.bad, s.warned) == (11, 6, 5, 4), s
    for line, what in ((2, "campaign"), (4, "evidence"), (5, "scores.rumor"), (6, "scores.rumor"), (7, "scores.rumor"),
                       (8, "priority"), (9, "flags"), (9, "model"), (10, "flags"), (11, "post id")):
        assert any(p.startswith(f"line {line}: ") and what in p for p in s.problems), (line, what, s.problems)
    assert db.get_item("p002")["campaign"] is None
    assert db.get_item("p003")["campaign"] == {"cluster_id": "c-1", "size": 4, "score": 0.5}
    assert db.list_items("all", campaign="*")[0][0]["id"] == "p003"
    assert db.get_item("p004")["evidence"] == {"rumor": [{"term": "天气", "weight": 0.3, "spans": [[2, 4]]}]}
    assert (db.get_item("p009")["flags"], db.get_item("p009")["model"]) == ([], None)
    assert db.get_item("p010")["flags"] == ["rumor"]
    items, _ = db.list_items("all", limit=100)
    json.dumps(items, allow_nan=False)  # strict JSON: what the API sends


def test_import_records_reports_nan_and_repeated_ids(tmp_path):
    db = ReviewDB(tmp_path / "q.sqlite")
    s = db.import_records([scored(1), {**scored(2), "scores": {"rumor": float("nan"), "paid_posting": 0, "harassment": 0}},
                           {**scored(3), "priority": float("inf")}, {**scored(4), "views": float("nan")},
                           scored(1, p=(0.5, 0.5, 0.5))])
    assert (s.read, s.inserted, s.updated, s.bad) == (5, 2, 1, 2), s
    assert any("record 2: scores.rumor" in p for p in s.problems) and any("record 3: priority" in p for p in s.problems)
    assert any("record 4: non-finite" in p for p in s.problems)
    assert any("record 5: post id 'p001' already at record 1: the later record counts" in p for p in s.problems)
    assert db.get_item("p004")["fields"]["views"] is None


def test_an_item_stored_malformed_still_reads_in_shape(queue):
    """A queue filled before the checks: what it reads back is still in the shape the page expects."""
    bad = {"id": "p001", "text": "x", "campaign": {"size": {"toString": 1}}, "scores": {"rumor": 0.1},
           "evidence": {"rumor": [{"term": {"toString": 1}}], "x": "y"}, "views": float("nan")}
    with queue.connect() as c:
        c.execute("UPDATE items SET record=?, scores=?, priority=? WHERE id='p001'",
                  (json.dumps(bad), '{"rumor": NaN, "paid_posting": 0.2}', float("inf")))
    item = queue.get_item("p001")
    assert item["campaign"] is None and item["evidence"] == {"rumor": []} and item["scores"] == {"paid_posting": 0.2}
    assert item["priority"] == 0.0 and item["fields"]["views"] is None
    json.dumps(queue.list_items("all", limit=100)[0], allow_nan=False)


def _label_studio_config(xml: str) -> tuple[str, str, str, list[str]]:
    """(Text name, Choices name, Choices toName, Choice values) of the labeling config we write."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    text, choices = root.find("Text"), root.find("Choices")
    return text.get("name"), choices.get("name"), choices.get("toName"), [c.get("value") for c in choices.findall("Choice")]


def test_label_studio_export_carries_the_reviewers_labels_as_annotations(queue, tmp_path):
    """Label Studio's import format with labels already made (https://labelstud.io/guide/tasks.html,
    "Basic Label Studio JSON format": `"annotations": [{"result": [{"from_name": ..., "to_name": ...,
    "type": "choices", "value": {"choices": [...]}}]}]`, from_name/to_name naming the config's
    Choices and Text tags). Reviewed labels used to sit in `data.reviewed_labels`: Label Studio
    showed those tasks as unlabeled."""
    queue.decide("p003", "alice", {"rumor": 1, "paid_posting": 0, "harassment": 0})
    queue.decide("p004", "bob", {"rumor": 0, "paid_posting": 0, "harassment": 0})
    assert export(queue, "label-studio", tmp_path / "ls.json", status="all") == 30
    text_name, control, to_name, choices = _label_studio_config((tmp_path / "ls.label_config.xml").read_text())
    assert choices == ["rumor", "paid_posting", "harassment", "not_risky"] and to_name == text_name
    tasks = json.loads((tmp_path / "ls.json").read_text(encoding="utf-8"))
    for t in tasks:
        assert isinstance(t["data"][text_name], str) and "reviewed_labels" not in t["data"]
        for ann in t.get("annotations", []) + t.get("predictions", []):
            for r in ann["result"]:
                assert (r["from_name"], r["to_name"], r["type"]) == (control, text_name, "choices")
                assert r["value"]["choices"] and set(r["value"]["choices"]) <= set(choices)
    by_id = {t["data"]["post_id"]: t for t in tasks}
    assert [a["result"][0]["value"]["choices"] for a in by_id["p003"]["annotations"]] == [["rumor"]]
    assert [a["result"][0]["value"]["choices"] for a in by_id["p004"]["annotations"]] == [["not_risky"]]
    assert "annotations" not in by_id["p005"] and by_id["p004"]["data"]["reviewer"] == "bob"
    # the same tasks coming back from Label Studio (ids given there): our own annotations are no new decisions
    for k, t in enumerate(tasks):
        t["id"] = 500 + k
        for a in t.get("annotations", []):
            a.update(id=900 + k, completed_by=1)
    by_id["p005"]["annotations"] = [{"id": 7, "completed_by": 1, "result": [
        {"id": "x", "from_name": "risks", "to_name": "text", "type": "choices", "value": {"choices": ["not_risky"]}}]}]
    (tmp_path / "back.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    s = import_label_studio(queue, tmp_path / "back.json")
    assert (s.applied, s.duplicates, s.skipped) == (1, 2, 0), s
    assert queue.get_item("p003")["reviewer"] == "alice" and queue.stats()["decisions"] == 3
    assert queue.get_item("p005")["labels"] == {"rumor": 0, "paid_posting": 0, "harassment": 0}


def _argilla_accepts(value, options: list[str]) -> bool:
    """Argilla's server check of a multi-label answer (argilla-server, validators/response_values.py,
    MultiLabelSelectionQuestionResponseValueValidator): a list, not empty ("multi label selection
    questions expects a list of values, found empty list"), no duplicates, every label an option."""
    return isinstance(value, list) and len(value) > 0 and len(set(value)) == len(value) and set(value) <= set(options)


def test_argilla_export_says_not_risky_with_a_label_argilla_accepts(queue, tmp_path):
    """A "not risky" decision was `value: []`, which Argilla's server refuses for a multi-label question."""
    queue.decide("p003", "alice", {"rumor": 1, "paid_posting": 0, "harassment": 1})
    queue.decide("p004", "bob", {"rumor": 0, "paid_posting": 0, "harassment": 0})
    assert export(queue, "argilla", tmp_path / "a.jsonl", status="all") == 30
    options = ["rumor", "paid_posting", "harassment", "not_risky"]  # the question's labels (choice_values)
    recs = {r["id"]: r for r in map(json.loads, (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines())}
    for r in recs.values():
        for answer in r.get("responses", []) + r.get("suggestions", []):
            assert answer["question_name"] == "risks" and _argilla_accepts(answer["value"], options), r
        for sug in r.get("suggestions", []):  # Argilla: as many scores as values, or none
            assert sug["score"] is None or len(sug["score"]) == len(sug["value"])
    assert recs["p004"]["responses"][0]["value"] == ["not_risky"]
    assert recs["p003"]["responses"][0]["value"] == ["rumor", "harassment"]
    assert recs["p005"]["suggestions"][0]["value"] == ["not_risky"] and "responses" not in recs["p005"]
    from detector.review.export import choice_values

    assert choice_values(queue.labels) == options


def test_review_import_cli_names_each_dropped_field_with_its_line(tmp_path):
    from typer.testing import CliRunner

    import detector.cli.review  # noqa: F401  (registers `review`)
    from detector.cli._app import app

    path = tmp_path / "scored.jsonl"
    rows = [scored(1), {**scored(2), "campaign": {"size": {"toString": 1}}}, {**scored(3), "evidence": "oops"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    r = CliRunner().invoke(app, ["review", "import", str(path), "--db", str(tmp_path / "q.sqlite")], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    assert "line 2: campaign" in r.output and 'line 3: evidence "oops" dropped: not an object {risk: [entries]}' in r.output
    assert "queued with a warning" in r.output


def test_label_studio_labels_back_skip_malformed_tasks_without_a_traceback(queue, tmp_path):
    tasks = [{"id": 1, "data": {"post_id": "p001"}, "annotations": 5},
             {"id": 2, "data": {"post_id": "p002"}, "annotations": [7, {"result": {"x": 1}}, {"result": [5, {"type": "choices",
              "from_name": "risks", "value": {"choices": ["rumor", {"x": 1}]}}]}]},
             {"id": 3, "data": {"post_id": {"x": 1}}}, "task", {"id": 4, "risks": ["rumor", "not_risky"], "id_": 1,
                                                              "post_id": "p004"}]
    (tmp_path / "ls.json").write_text(json.dumps(tasks), encoding="utf-8")
    s = import_label_studio(queue, tmp_path / "ls.json")
    assert (s.tasks, s.applied) == (5, 2), s  # p002: one annotation without choices (no risk), then one with rumor
    assert queue.get_item("p002")["labels"] == {"rumor": 1, "paid_posting": 0, "harassment": 0}
    assert any("not_risky chosen together with rumor" in p for p in s.problems), s.problems
    assert queue.get_item("p001")["n_decisions"] == 0
    (tmp_path / "latin1.json").write_bytes(b"\xff\xfe[]")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    for name in ("latin1.json", "deep.json"):
        with pytest.raises(ValueError, match=f"{name}: not a Label Studio JSON export"):
            import_label_studio(queue, tmp_path / name)
