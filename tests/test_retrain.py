"""Retraining with reviewed samples (tiny data, seconds): overrides and duplicates, the fixed
held-out slice, the promotion rule, the registry outcome, and the whole review loop
score -> import -> 20 decisions through the API -> export -> retrain -> promote or refuse."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import detector.cli.review  # noqa: F401  (registers `review`)
import training.cli.retrain  # noqa: F401  (registers `retrain`)
import detector.cli  # noqa: F401  (registers the runtime commands, `models` among them)
from detector.cli._app import app
from detector.model.core import Detector
from detector.registry import Registry
from detector.review.db import ReviewDB
from detector.review.server import create_app
from tests.conftest import HAM, HARASS, NEWS, RUMOR, SAFE, SPAM, tiny_recipe, write_toml
from training.retrain.run import (EvalSet, ReviewedSample, build_splits, compare, is_heldout, load_retrain_config,
                              retrain)

runner = CliRunner()
RISKS3 = ("rumor", "paid_posting", "harassment")
ONLY_TRAIN = "这条评论只在训练集里出现过"


def lab(r=0, p=0, h=0) -> dict:
    return {"rumor": r, "paid_posting": p, "harassment": h}


@pytest.fixture(scope="module")
def root(tiny_root, tmp_path_factory) -> Path:
    """The tiny datasets plus one COLD training row that appears in no other split."""
    root = tmp_path_factory.mktemp("data") / "datasets"
    shutil.copytree(tiny_root, root)
    with open(root / "cold" / "train.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "cold-only", "text": ONLY_TRAIN, "label": 1}, ensure_ascii=False) + "\n")
    return root


@pytest.fixture
def cfg_path(tmp_path) -> Path:
    p = tmp_path / "retrain.toml"
    p.write_text("[reviewed]\nheldout_share = 0.25\n[promotion]\nmin_n = 5\n", encoding="utf-8")
    return p


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_reviewed_labels_override_duplicates_go_and_test_texts_are_not_trained(root):
    samples = [ReviewedSample("a", ONLY_TRAIN, lab(), "2026-11-28T01"),               # overrides a base train row
               ReviewedSample("b", "加微信刷单，日结", lab(), "2026-11-28T01"),
               ReviewedSample("b", "加微信刷单，日结", lab(p=1), "2026-11-28T03"),       # b decided again: the latest counts
               ReviewedSample("b2", "加微信刷单，日结", lab(p=1), "2026-11-28T02"),      # the same post crawled twice
               ReviewedSample("c", "加薇信刷单，日结", lab(p=1), "2026-11-28T02"),       # another post, equal once cleaned
               ReviewedSample("m1", "@偏未晚", lab(), "2026-11-28T02"),                  # mention-only posts clean alike
               ReviewedSample("m2", "@张三", lab(), "2026-11-28T02"),                    # ... and stay apart
               ReviewedSample("d", HARASS[0], lab(h=1), "2026-11-28T01")]             # in the COLD test set: not used
    cfg = load_retrain_config(None, {"reviewed": {"heldout_share": 0.0}})
    splits, train_r, held_r, counts = build_splits(tiny_recipe(), samples, cfg, root, log=lambda m: None)
    assert counts == {"reviewed": 8, "duplicates_removed": 2, "in_test_sets_not_trained": 1, "heldout": 0, "train": 5,
                      "base_train_rows_overridden": 1, "base_dev_rows_overridden": 0}
    assert {s.id for s in train_r} == {"a", "b", "c", "m1", "m2"}
    assert next(s for s in train_r if s.id == "b").labels == lab(p=1)
    tr = splits["train"]
    rows = [i for i, t in enumerate(tr.texts) if t == ONLY_TRAIN]
    assert len(rows) == 1 and tr.source[rows[0]] == "reviewed" and tr.y[rows[0]].tolist() == [0, 0, 0]


def test_the_heldout_slice_is_fixed_by_post_id():
    ids = [f"post-{i}" for i in range(2000)]
    picked = [is_heldout(i, 0.2, "s") for i in ids]
    assert 0.17 < np.mean(picked) < 0.23
    assert picked == [is_heldout(i, 0.2, "s") for i in ids]  # the same items every time
    assert not any(is_heldout(i, 0.0, "s") for i in ids)
    assert picked != [is_heldout(i, 0.2, "other salt") for i in ids]


def test_promotion_rule():
    cfg = load_retrain_config(None, {"promotion": {"min_n": 4, "tolerance": {"rumor": 0.02, "paid_posting": 0.0,
                                                                               "harassment": 0.0}}})
    sets = [EvalSet("rumor", "weibo21", ["x"] * 6, np.array([0, 1, 0, 1, 0, 1])),
            EvalSet("harassment", "reviewed-heldout", ["y"] * 3, np.array([0, 1, 1]))]
    m = lambda f: {"macro_f1": f}  # noqa: E731
    rows, ok, why = compare(sets, [m(0.90), m(0.9)], [m(0.885), m(0.1)], cfg)
    assert ok and "smallest change -0.0150 on rumor/weibo21" in why
    assert rows[1]["gates"] is False and "too small" in rows[1]["note"]  # 3 items do not decide
    rows, ok, why = compare(sets, [m(0.90), m(0.9)], [m(0.87), m(0.9)], cfg)
    assert not ok and "rumor on weibo21: macro-F1 0.9000 -> 0.8700" in why
    rows, ok, why = compare(sets, None, [m(0.5), m(0.5)], cfg)
    assert ok and "no current model" in why
    rows, ok, why = compare(sets[1:], [m(0.9)], [m(0.9)], cfg)
    assert not ok and "no evaluation set is large enough" in why


def reviewed_rows(n: int = 12) -> list[dict]:
    base = [("你这种废物赶紧滚出去", lab(h=1)), ("专家说喝醋能治病，转发保平安", lab(r=1)),
            ("加微信刷单返利，日结", lab(p=1)), ("今天的晚饭很好吃，下次再来", lab())]
    return [{"id": f"rv-{i}", "text": f"{base[i % 4][0]}（{i}）", "labels": base[i % 4][1]} for i in range(n)]


def test_retrain_promotes_a_challenger_that_is_not_worse(root, tiny_model, tmp_path, cfg_path):
    src = write_jsonl(tmp_path / "reviewed.jsonl", reviewed_rows(8))
    out = tmp_path / "models" / "tiny"
    res = retrain(tiny_recipe(), src, out, from_model=tiny_model, config=cfg_path, root=root, log=lambda m: None)
    reg = Registry(out)
    assert res.promoted and res.version == "v0002" and res.current == "v0001" and reg.current() == "v0002"
    assert "not worse beyond the tolerance" in res.reason
    det = Detector.from_pretrained(out)
    assert det.model_id == "tiny@2" and det.config["reviewed"]["n_train"] == res.counts["train"]
    report = json.loads((out / "v0002" / "retrain_report.json").read_text(encoding="utf-8"))
    assert report["promoted"] and report["current"] == "v0001" and report["counts"]["reviewed"] == 8
    sets = {(r["risk"], r["set"]) for r in report["comparison"]}
    assert sets == {("harassment", "cold"), ("rumor", "weibo21"), ("paid_posting", "sms_spam"),
                    ("harassment", "reviewed-heldout"), ("rumor", "reviewed-heldout"),
                    ("paid_posting", "reviewed-heldout"),  # and the crawl: here the reviewed posts themselves
                    ("harassment", "crawl (8 posts)"), ("rumor", "crawl (8 posts)"), ("paid_posting", "crawl (8 posts)")}
    assert len(report["heldout_ids"]) == res.counts["heldout"]
    assert [e["to"] for e in reg.history()] == ["v0001", "v0002"]


def test_retrain_keeps_the_current_model_when_the_challenger_is_worse(root, tiny_model, tmp_path):
    # a tolerance below zero demands a strictly better challenger on every set: refused, with the reason
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[promotion]\nmin_n = 5\n[promotion.tolerance]\nrumor = -0.5\npaid_posting = -0.5\n"
                   "harassment = -0.5\n", encoding="utf-8")
    db = ReviewDB(tmp_path / "review.sqlite")
    db.import_records({"id": r["id"], "text": r["text"], "scores": {k: 0.5 for k in RISKS3}, "flags": [],
                       "priority": 0.4} for r in reviewed_rows(6))
    for r in reviewed_rows(6):
        db.decide(r["id"], "alice", r["labels"])
    out = tmp_path / "models" / "tiny"
    res = retrain(tiny_recipe(), db.path, out, from_model=tiny_model, config=cfg, root=root, log=lambda m: None)
    assert not res.promoted and Registry(out).current() == "v0001" and res.version == "v0002"
    assert "worse beyond the tolerance" in res.reason and "tolerance -0.5" in res.reason
    assert Detector.from_pretrained(out).model_id == Detector.from_pretrained(tiny_model).model_id
    with pytest.raises(ValueError, match="--from only starts a new registry"):
        retrain(tiny_recipe(), db.path, out, from_model=tiny_model, config=cfg, root=root, log=lambda m: None)
    with pytest.raises(ValueError, match="plain model folder"):
        retrain(tiny_recipe(), db.path, tiny_model, config=cfg, root=root, log=lambda m: None)


def test_the_whole_review_loop(root, tiny_model, tmp_path, cfg_path):
    """score -> import -> 20 decisions through the API -> export -> retrain -> promote or refuse, with why."""
    truth = {t: lab(h=1) for t in HARASS} | {t: lab(r=1) for t in RUMOR} | {t: lab(p=1) for t in SPAM}
    truth |= {t: lab() for t in SAFE + NEWS + HAM}
    texts = [f"{t}！" for t in truth]  # new posts, like (but not equal to) the training texts
    posts = write_jsonl(tmp_path / "posts.jsonl", [{"id": f"post-{i:02d}", "text": t} for i, t in enumerate(texts)])
    scored, flagged, db = tmp_path / "scored.jsonl", tmp_path / "flagged.jsonl", tmp_path / "review.sqlite"
    r = runner.invoke(app, ["score", str(posts), "--model", str(tiny_model), "--out", str(scored), "--flagged",
                            str(flagged), "-q"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["review", "import", str(scored), "--db", str(db)])
    assert r.exit_code == 0 and "new items" in r.output, r.output

    client, auth = TestClient(create_app(db, "loop-token-123")), {"Authorization": "Bearer loop-token-123"}
    queue = client.get("/api/items", params={"limit": 20}, headers=auth).json()["items"]
    assert len(queue) == 20
    for item in queue:
        labels = truth[item["text"][:-1]]
        res = client.post(f"/api/items/{item['id']}/decision", headers=auth,
                          json={"reviewer": "analyst", "labels": labels, "decision_id": f"loop-{item['id']}",
                                "expected_version": item["version"]})
        assert res.status_code == 200 and res.json()["status"] == "applied"
    stats = client.get("/api/stats", headers=auth).json()
    assert (stats["reviewed"], stats["decisions"], stats["pending"]) == (20, 20, len(texts) - 20)

    export = tmp_path / "reviewed.jsonl"
    r = runner.invoke(app, ["review", "export", "--db", str(db), "--format", "jsonl", "--out", str(export)])
    assert r.exit_code == 0 and "20 items" in r.output, r.output
    recipe = tmp_path / "tiny.toml"
    write_toml(recipe, tiny_recipe())
    out = tmp_path / "models" / "loop"
    r = runner.invoke(app, ["retrain", "--base-config", str(recipe), "--reviewed", str(export), "--out", str(out),
                            "--from", str(tiny_model), "--config", str(cfg_path), "--data-root", str(root)],
                      env={"COLUMNS": "160"})
    assert r.exit_code == 0, r.output
    assert "challenger vs current" in r.output and "reviewed-heldout" in r.output
    report = json.loads((out / "v0002" / "retrain_report.json").read_text(encoding="utf-8"))
    assert report["counts"]["reviewed"] == 20 and report["reason"]
    if report["promoted"]:
        assert "PROMOTED" in r.output and Registry(out).current() == "v0002"
    else:
        assert "KEPT" in r.output and Registry(out).current() == "v0001"
    assert " ".join(report["reason"].split())[:40] in " ".join(r.output.split())


def test_the_gate_refuses_a_challenger_that_raises_flags_reviewers_rejected(tiny_model):
    from training.retrain.gate import crawl_rows

    cfg = load_retrain_config(None, {"promotion": {"min_rejected_flags": 3}})
    current, challenger = Detector.from_pretrained(tiny_model), Detector.from_pretrained(tiny_model)
    crawl = RUMOR + NEWS + SAFE + HAM
    p = current.predict_proba(crawl)[:, current.labels.index("rumor")]
    current.thresholds["rumor"] = float(np.sort(p)[-4])            # the current model flags 4 posts
    challenger.thresholds["rumor"] = float(np.sort(p)[-8])         # the challenger flags 8
    flagged = [t for t, v in zip(crawl, p) if v >= current.thresholds["rumor"]]
    reviews = [ReviewedSample(f"r{i}", t, lab(), "2026-12-01") for i, t in enumerate(flagged)]  # all rejected
    rows = {r["risk"]: r for r in crawl_rows(current, challenger, reviews, crawl, cfg)}
    r = rows["rumor"]
    assert r["gates"] and r["ok"] is False and r["flags_reviewed"] == 4 and r["flags_rejected"] == 4
    assert "reviewers rejected 4 of the current model's 4 rumor flags" in r["why"] and "->" in r["why"]
    challenger.thresholds["rumor"] = 1.1                           # a challenger that flags less is let through
    r = {x["risk"]: x for x in crawl_rows(current, challenger, reviews, crawl, cfg)}["rumor"]
    assert r["gates"] and r["ok"] is True
    reviews = [ReviewedSample(f"r{i}", t, lab(r=1), "2026-12-01") for i, t in enumerate(flagged)]  # all confirmed
    challenger.thresholds["rumor"] = float(np.sort(p)[-8])
    r = {x["risk"]: x for x in crawl_rows(current, challenger, reviews, crawl, cfg)}["rumor"]
    assert not r["gates"] and "did not mostly reject" in r["note"]


def test_real_comment_and_heldout_precision_rules():
    cfg = load_retrain_config(None, {"promotion": {"min_n": 4, "min_flags": 2}})
    sets = [EvalSet("harassment", "real comments (team dev)", ["x"] * 6, np.array([0, 0, 0, 0, 0, 1]), "real"),
            EvalSet("harassment", "reviewed-heldout", ["y"] * 6, np.array([0, 1, 1, 0, 1, 0]), "heldout")]
    m = lambda ff, prec, flags=5: {"false_flags_per_1000": ff, "precision": prec, "flags": flags}  # noqa: E731
    rows, ok, why = compare(sets, [m(10.0, 0.8), m(10.0, 0.8)], [m(14.0, 0.8), m(14.0, 0.79)], cfg)
    assert ok, why
    rows, ok, why = compare(sets, [m(10.0, 0.8), m(10.0, 0.8)], [m(16.0, 0.8), m(10.0, 0.7)], cfg)
    assert not ok and "false flags per 1,000 posts 10.0000 -> 16.0000" in why and "flag precision 0.8000 -> 0.7000" in why
    rows, ok, why = compare(sets[1:], [m(0, 0.8, flags=1)], [m(0, 0.1, flags=1)], cfg)
    assert rows[0]["gates"] is False and "fewer than 2 flags" in rows[0]["note"]


@pytest.mark.parametrize("where", ["switch", "training"])
def test_retrain_from_resumes_after_a_crash_and_never_leaves_the_registry_without_current(
        root, tiny_model, tmp_path, cfg_path, monkeypatch, where):
    """Issue 13 row 22: a crash inside `retrain --from` (at the first switch, or while training the
    challenger) leaves v0001 current or resumable; the same command run again finishes the job."""
    import training.retrain.run as retrain_mod

    src = write_jsonl(tmp_path / "reviewed.jsonl", reviewed_rows(8))
    out = tmp_path / "models" / "tiny"
    args = dict(from_model=tiny_model, config=cfg_path, root=root, log=lambda m: None)
    with monkeypatch.context() as m:
        if where == "switch":  # the process dies between the copy and the switch of `current`
            m.setattr(Registry, "_switch", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
        else:
            m.setattr(retrain_mod, "build_splits", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            retrain(tiny_recipe(), src, out, **args)
    reg = Registry(out)
    assert reg.versions() == ["v0001"] and reg.current() == ("v0001" if where == "training" else None)
    res = retrain(tiny_recipe(), src, out, **args)  # run again: resumed, not refused
    assert res.current == "v0001" and res.version == "v0002" and reg.current() in ("v0001", "v0002")
    assert [e["to"] for e in reg.history()][0] == "v0001"
    with pytest.raises(ValueError, match="run without --from"):
        retrain(tiny_recipe(), src, out, **args)
