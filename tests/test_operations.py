"""detector.cases.operations and `jingwang operations`: contact keys across spellings, links by contact,
campaign and author, operation records, bad lines, the HTML report."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from detector.cases.operations import PostInfo, contact_keys, find_operations, link_posts, operations_file


@pytest.mark.parametrize("text", ["薇信 abc123 了解一下", "V: abc 123", "加V：ABC123", "vx abc123",
                                  "加微 abc123", "+v a b c 1 2 3", "微信号：abc123"])
def test_wechat_spellings_share_a_key(text: str) -> None:
    assert contact_keys(text) == {"wechat:abc123"}


@pytest.mark.parametrize("text", ["➕q 12345", "扣扣①②③④⑤", "QQ 一二三四五", "加q12345", "qq:12345 哦",
                                  "扣扣一二三四五", "扣扣：一 二 三 四 五", "扣扣１２３４５"])
def test_qq_spellings_share_a_key(text: str) -> None:
    assert contact_keys(text) == {"qq:12345"}


def test_phone_and_wechat_phone_are_one_key() -> None:
    assert contact_keys("微信同号13812345678") == contact_keys("电话 138 1234 5678") == {"phone:13812345678"}


@pytest.mark.parametrize("text", ["微信 wonderful", "加vip群", "今天天气不错", "价格12345元", "v: abc"])
def test_no_contact(text: str) -> None:
    assert contact_keys(text) == set()


def test_similar_ids_stay_apart() -> None:
    assert contact_keys("薇信 abc123") != contact_keys("薇信 abc124")


def post(i, author=None, keys=(), campaign=None, ts=None, weight=0.8) -> PostInfo:
    return PostInfo(id=f"p{i}", author=author, ts=ts, text=f"text {i}", risks=["paid_posting"], weight=weight,
                    keys=set(keys), campaign=campaign)


def test_link_posts_components() -> None:
    posts = [post(0, "a", ["wechat:x"]), post(1, "b", ["wechat:x"]), post(2, "b"),  # contact, then author
             post(3, campaign="c1"), post(4, campaign="c1"), post(5, "z")]
    groups = sorted(sorted(g) for g in link_posts(posts))
    assert groups == [[0, 1, 2], [3, 4], [5]]


def test_operation_fields_and_order() -> None:
    posts = [post(0, "a", ["wechat:x"], ts=1.7e9), post(1, "b", ["wechat:x"], ts=1.7e9 + 600),
             post(2, "c", ["wechat:x"], ts=1.7e9 + 1200), post(3, "solo", ts=1.7e9), post(4, "solo", ts=1.8e9)]
    ops = find_operations(posts)
    assert [o.post_ids for o in ops] == [["p0", "p1", "p2"], ["p3", "p4"]]
    big, small = ops
    assert big.authors == ["a", "b", "c"] and big.contacts == ["wechat:x"] and big.linked_by == ["contact"]
    assert big.risks == {"paid_posting": 3} and big.subtypes == {} and big.span_seconds == 1200
    assert big.first_seen.startswith("2023-11-15") and big.score > small.score
    assert small.linked_by == ["author"] and small.contacts == []


SCORED = [
    {"id": "a1", "text": "有偿删帖，薇信 abc123", "author": "u1", "flags": ["paid_posting"], "priority": 0.9,
     "created_at": "2024-05-01T10:00:00+08:00"},
    {"id": "a2", "text": "专业删差评 V: abc 123 电话13812345678", "author": "u2", "flags": ["paid_posting"],
     "priority": 0.8, "created_at": "2024-05-01T11:00:00+08:00"},
    "not json {",
    {"id": "a3", "text": "负面信息处理，价格优惠", "author": "u2", "flags": ["paid_posting"], "priority": 0.7},
    {"id": "c1", "text": "这家店太差了大家别去", "flags": ["rumor"], "campaign": {"cluster_id": "camp-1"}},
    {"id": "c2", "text": "这家店太差了大家别去！", "flags": ["rumor"], "campaign": {"cluster_id": "camp-1"}},
    {"id": "n1", "text": "薇信 abc123 也在这里", "author": "u9", "flags": []},  # not flagged: not linked
    {"id": "s1", "text": "一个人的帖子", "author": "u7", "flags": ["harassment"]},
    {"id": "b1", "text": "坏的 flags", "flags": 3},
]


def write_scored(path, rows=SCORED):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_operations_file(tmp_path) -> None:
    scored, out = write_scored(tmp_path / "scored.jsonl"), tmp_path / "ops.jsonl"
    s = operations_file(str(scored), str(out))
    ops = read_jsonl(out)
    assert [sorted(o["post_ids"]) for o in ops] == [["a1", "a2", "a3"], ["c1", "c2"]]
    first = ops[0]
    assert first["authors"] == ["u2", "u1"] and first["contacts"][0] == "wechat:abc123"
    assert "phone:13812345678" in first["contacts"] and first["linked_by"] == ["contact", "author"]
    assert first["first_seen"] == "2024-05-01T10:00:00+08:00" and first["last_seen"] == "2024-05-01T11:00:00+08:00"
    assert set(first) >= {"operation_id", "post_ids", "authors", "contacts", "risks", "subtypes", "first_seen",
                          "last_seen", "score", "representative"}
    assert any("138****5678" in t for t in first["representative"])  # masked by default
    assert ops[1]["campaigns"] == ["camp-1"] and ops[1]["risks"] == {"rumor": 2}
    assert (s.read, s.bad, s.flagged, s.operations) == (9, 2, 6, 2)
    assert [line for line, _ in s.errors] == [3, 9]


def test_no_mask_and_html(tmp_path) -> None:
    scored, out, html = write_scored(tmp_path / "scored.jsonl"), tmp_path / "ops.jsonl", tmp_path / "r.html"
    operations_file(str(scored), str(out), html=str(html), mask=False)
    ops = read_jsonl(out)
    assert any("13812345678" in t for t in ops[0]["representative"])
    page = html.read_text(encoding="utf-8")
    assert ops[0]["operation_id"] in page and "wechat:abc123" in page and "<script" not in page


def test_cli(tmp_path) -> None:
    from detector.cli._app import app

    scored, out = write_scored(tmp_path / "scored.jsonl"), tmp_path / "ops.jsonl"
    r = CliRunner().invoke(app, ["operations", str(scored), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "line 3: malformed JSON" in r.output and "line 9: flags must be" in r.output
    assert "Traceback" not in r.output and len(read_jsonl(out)) == 2


def test_cli_refuses_to_overwrite_input(tmp_path) -> None:
    from detector.cli._app import app

    scored = write_scored(tmp_path / "scored.jsonl")
    before = scored.read_bytes()
    r = CliRunner().invoke(app, ["operations", str(scored), "--out", str(scored)])
    assert r.exit_code == 2 and "is the input file" in r.output and scored.read_bytes() == before
    r = CliRunner().invoke(app, ["operations", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_campaign_does_not_merge_two_contacts() -> None:
    """One script copied by two operations, each with its own contact: two operations; a copy
    without any contact joins the cluster's first operation."""
    posts = [post(0, "a", ["wechat:x"], campaign="c"), post(1, "a"), post(2, "b", ["qq:12345"], campaign="c"),
             post(3, "b"), post(4, "z", campaign="c")]
    groups = sorted(sorted(g) for g in link_posts(posts))
    assert groups == [[0, 1, 4], [2, 3]]


COPIES = [
    {"id": "k1", "text": "专业删除负面帖子，百度贴吧微博全平台，先做事后付款，薇信 abc123", "author": "u1",
     "flags": ["paid_posting"]},
    {"id": "k2", "text": "专业删除负面帖子，百度贴吧微博全平台，先做事后付款！！", "author": "u2", "flags": ["paid_posting"]},
    {"id": "k3", "text": "今天天气不错，出去走走，心情很好呀朋友们", "author": "u3", "flags": ["paid_posting"]},
]


def test_copies_link_a_post_without_the_contact(tmp_path) -> None:
    scored, out = write_scored(tmp_path / "scored.jsonl", COPIES), tmp_path / "ops.jsonl"
    operations_file(str(scored), str(out))
    ops = read_jsonl(out)
    assert [sorted(o["post_ids"]) for o in ops] == [["k1", "k2"]] and ops[0]["linked_by"] == ["copies"]
    operations_file(str(scored), str(out), copies=False)
    assert read_jsonl(out) == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_scored_output(tmp_path, fmt) -> None:
    """CSV / Parquet output of `score`: flags as "a,b" text, campaign as JSON text, score_<risk> columns."""
    from detector.batch.writers import RecordWriter, flat_row

    rows = [r for r in SCORED if isinstance(r, dict) and isinstance(r.get("flags"), list)]
    scored = tmp_path / f"scored.{fmt}"
    w = RecordWriter(str(scored))
    w.write([flat_row({**r, "scores": {"paid_posting": 0.9}}) for r in rows])
    w.close()
    out = tmp_path / "ops.jsonl"
    operations_file(str(scored), str(out))
    ops = read_jsonl(out)
    assert [sorted(o["post_ids"]) for o in ops] == [["a1", "a2", "a3"], ["c1", "c2"]]
    assert ops[1]["campaigns"] == ["camp-1"]


def test_html_report_escapes_post_text(tmp_path) -> None:
    rows = [{"id": f"x{i}", "text": f"<script>alert({i})</script> 薇信 abc123", "author": f"<b>u{i}</b>",
             "flags": ["paid_posting"]} for i in range(2)]
    scored, out, html = write_scored(tmp_path / "s.jsonl", rows), tmp_path / "o.jsonl", tmp_path / "r.html"
    operations_file(str(scored), str(out), html=str(html))
    page = html.read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(" in page and "<script" not in page and "<b>u0" not in page


def test_an_operation_counts_the_subtypes_of_its_posts_flagged_risks(tmp_path) -> None:
    sub = {"paid_posting": {"lure_ad": {"score": 0.9, "evidence": []}}, "rumor": {"health": {"score": 0.8}}}
    recs = [{"id": "p1", "text": "加微信 abc123 领福利", "flags": ["paid_posting"], "subtypes": sub},
            {"id": "p2", "text": "薇信 abc123 私聊", "flags": ["paid_posting"], "subtypes": json.dumps(sub)},
            {"id": "p3", "text": "V: abc 123 马上加", "flags": ["paid_posting"], "subtypes": {"paid_posting": "bad"}}]
    scored, out = tmp_path / "s.jsonl", tmp_path / "ops.jsonl"
    scored.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    operations_file(str(scored), str(out))
    (op,) = read_jsonl(out)
    assert sorted(op["post_ids"]) == ["p1", "p2", "p3"] and op["subtypes"] == {"paid_posting/lure_ad": 2}
