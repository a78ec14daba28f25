"""Tests for detector.text.lexicon (paid-posting intent lexicon)."""

import time

import pytest

from detector.text.lexicon import Hit, default_lexicon, load_lexicon

CATEGORIES = ("recruit", "engagement_selling", "deletion", "extortion", "contact_lure")


@pytest.fixture(scope="module")
def lex():
    return load_lexicon()


def _by_cat(hits):
    out = {}
    for h in hits:
        out.setdefault(h.category, []).append(h)
    return out


def test_default_lexicon_loads(lex):
    assert lex.categories == CATEGORIES
    assert len(lex.entries) > 150
    assert all(0.0 <= e.weight <= 1.0 for e in lex.entries)
    assert default_lexicon() is default_lexicon()


def test_recruit_and_contact_spans(lex):
    text = "回复@小明:兼职发帖日结，一条5元，加v：abc12345"
    hits = lex.match(text)
    cats = _by_cat(hits)
    assert set(cats) == {"recruit", "contact_lure"}
    spans = {h.term: text[h.start:h.end] for h in hits}
    assert spans["兼职发帖"] == "兼职发帖"
    assert spans["日结"] == "日结"
    assert spans["pay_per_post"] == "一条5元"
    assert spans["wechat_id"] == "加v：abc12345"
    assert [h.start for h in hits] == sorted(h.start for h in hits)
    assert all(isinstance(h, Hit) for h in hits)


def test_longest_term_wins_and_categories(lex):
    text = "专业删帖，有偿删帖，负面处理，不成功不收费"
    hits = lex.match(text)
    assert {h.category for h in hits} == {"deletion"}
    terms = [h.term for h in hits]
    assert "有偿删帖" in terms and "专业删帖" in terms
    assert "删帖" not in terms  # the shorter term is swallowed by the longer ones
    assert max(h.weight for h in hits) >= 0.9


def test_engagement_and_extortion(lex):
    f = lex.features("1000粉只要30元，掉粉包补")
    assert f["engagement_selling_max"] >= 0.9 and f["engagement_selling_count"] == 2
    text = "再不给钱，明天就把你们店的事发到网上"
    hits = lex.match(text)
    assert hits[0].category == "extortion" and hits[0].start == 0
    assert max(h.weight for h in hits) >= 0.9


def test_evasive_contacts(lex):
    for text in ["加 薇 信 了解一下", "扣扣①②③④⑤⑥", "v❤：xiaomei_520", "➕q 3345678901"]:
        f = lex.features(text)
        assert f["contact_lure_max"] >= 0.5, text


def test_bare_wechat_is_low_weight(lex):
    for text in ["我微信上跟他说了明天见", "照片我发你微信了", "我的QQ号用了十几年", "有事私信我"]:
        f = lex.features(text)
        assert f["contact_lure_max"] <= 0.2, (text, f)
        assert f["total_max"] <= 0.2, (text, f)


@pytest.mark.parametrize("text", [
    "今天天气不错，带孩子去公园",
    "这家火锅真的好吃，下次还来",
    "video123 and http://example.com/abc is fine",
    "",
])
def test_quiet_on_ordinary_text(lex, text):
    assert lex.match(text) == []
    assert lex.features(text)["total_count"] == 0.0


def test_feature_keys_fixed(lex):
    keys = lex.feature_names()
    assert keys == list(lex.features("").keys()) == list(lex.features("刷单").keys())
    for cat in CATEGORIES:
        assert f"{cat}_count" in keys and f"{cat}_max" in keys
    assert keys[-3:] == ["total_count", "total_max", "total_weight"]


def test_case_insensitive_ascii(lex):
    assert {h.term for h in lex.match("加VX同号")} >= {"加vx", "同号"}


def test_custom_file_and_validation(tmp_path):
    good = tmp_path / "lex.toml"
    good.write_text(
        'version = 2\ncategory_order = ["a"]\n[categories.a]\n'
        'terms = [{ term = "水军", weight = 0.5 }]\n'
        "patterns = [{ name = \"num\", regex = '[0-9]{3}', weight = 0.7 }]\n",
        encoding="utf-8",
    )
    lex = load_lexicon(good)
    assert lex.version == 2
    assert [(h.term, h.start, h.end) for h in lex.match("x水军123")] == [("水军", 1, 3), ("num", 3, 6)]
    bad_weight = tmp_path / "bad1.toml"
    bad_weight.write_text('[categories.a]\nterms = [{ term = "x", weight = 1.5 }]\n', encoding="utf-8")
    with pytest.raises(ValueError):
        load_lexicon(bad_weight)
    bad_group = tmp_path / "bad2.toml"
    bad_group.write_text(
        "[categories.a]\npatterns = [{ name = \"g\", regex = '(ab)', weight = 0.5 }]\n", encoding="utf-8"
    )
    with pytest.raises(ValueError):
        load_lexicon(bad_group)


def test_throughput_sanity(lex):
    texts = ["今天天气不错，去公园走走，顺便买了杯奶茶。", "兼职发帖日结，加v：abc12345，有偿删帖"] * 1000
    t0 = time.perf_counter()
    for t in texts:
        lex.features(t)
    rate = len(texts) / (time.perf_counter() - t0)
    assert rate > 2000  # ~60k/s on one idle core; loose bound for shared CI machines
