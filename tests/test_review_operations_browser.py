"""In a real browser (Playwright + Debian chromium, as tests/test_review_browser.py): personal data
is masked until a reviewer reveals it, the reveal shows in the item's history and the audit log,
and an operation is shown on one screen (accounts, contacts, posts) and reviewed together."""
from __future__ import annotations

import json

from detector.review.db import ReviewDB
from detector.review.ops import import_operations
from detector.review.privacy import reveals
from tests.test_review_browser import TOKEN, Server, _launch, pytestmark, sync_playwright  # noqa: F401
from tests.test_review_privacy import AD, DOX, record


def _queue(tmp_path):
    db = ReviewDB(tmp_path / "review.sqlite")
    db.import_records([record("dox", DOX, author="u1"),
                       record("ad1", AD, flags=("paid_posting",), priority=0.8, author="u2"),
                       record("ad2", "有偿删帖请联系，价格好说", flags=("paid_posting",), priority=0.7, author="u3"),
                       record("plain", "今天天气不错", flags=(), priority=0.1)])
    ops = tmp_path / "operations.jsonl"
    ops.write_text(json.dumps({"operation_id": "op-1", "size": 2, "score": 0.7, "post_ids": ["ad1", "ad2"],
                               "authors": ["u2", "u3"], "contacts": ["wechat:abc123", "phone:13987654321"],
                               "risks": {"paid_posting": 2}, "linked_by": ["contact", "author"]}) + "\n",
                   encoding="utf-8")
    import_operations(db, ops)
    return db


def test_masked_until_revealed_and_operation_view(tmp_path):
    db = _queue(tmp_path)
    with Server(db.path) as url, sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page()
            page.goto(f"{url}#token={TOKEN}")
            page.wait_for_selector("#queue li.selected[data-id='dox']")
            # masked in the post and in the queue; the raw number is nowhere on the page
            assert "138****5678" in page.text_content("#post-text")
            assert "13812345678" not in page.content() and "1101**********002X" in page.text_content("#post-text")
            assert page.is_visible("#reveal")

            # a reveal needs a name, is logged, and then shows the data with the reveal in the history
            page.click("#reveal")
            page.wait_for_selector("#save-status.err:has-text('your name')")
            assert reveals(db, "dox") == []
            page.fill("#reviewer", "bob")
            page.click("#reveal")
            page.wait_for_selector("#history li.reveal:has-text('bob')")
            assert page.text_content("#post-text") == DOX and page.is_hidden("#reveal")
            assert "revealed personal data (id_card, mobile)" in page.text_content("#history")
            assert [r["reviewer"] for r in reveals(db, "dox")] == ["bob"]

            # the operation: accounts and contacts (masked phone) above its posts, reviewed together
            page.fill("#f-operation", "op-1")
            page.wait_for_selector("#op-panel h2:has-text('op-1')")
            panel = page.text_content("#op-panel")
            assert "u2, u3" in panel and "wechat:abc123" in panel and "phone:139****4321" in panel
            page.wait_for_selector("#queue li[data-id='ad2']")
            assert [page.get_attribute(li, "data-id") for li in ["#queue li >> nth=0", "#queue li >> nth=1"]] == \
                ["ad1", "ad2"] and page.locator("#queue li").count() == 2
            assert "139****4321" in page.text_content("#post-text")
            page.click("#op-confirm")
            page.wait_for_selector("#save-status.ok:has-text('Confirmed 2 posts of op-1')")
            for rid in ("ad1", "ad2"):
                item = db.get_item(rid)
                assert item["status"] == "reviewed" and item["labels"]["paid_posting"] == 1
                assert item["history"][0]["note"] == "operation op-1"
            page.wait_for_selector("#op-panel button:has-text('its 0 pending posts')")

            # from an item, its operation is one click away
            page.fill("#f-operation", "")
            page.select_option("#f-status", "all")
            page.wait_for_selector("#queue li[data-id='plain']")  # the whole queue again
            assert page.is_hidden("#op-panel")
            page.click("#queue li[data-id='ad1']")
            page.wait_for_selector("#item-meta a.op-link:has-text('operation op-1')")
        finally:
            browser.close()
