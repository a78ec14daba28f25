"""Evidence as a reviewer reads it: features over the same word merge into one item per span of
the original text, with its share of the score and the views that fired; no placeholders,
punctuation or pinyin stand-ins; at most k items; read off the batch's one pass."""
from __future__ import annotations

import numpy as np
import pytest

from detector.scorers.calibration import Calibrator
from detector.text.cleaning import clean
from detector.scorers.evidence import unit_ids, with_contacts
from detector.scorers.features import Featurizer, FeaturizerConfig, feature_index
from detector.scorers.fast import FastScorer, extra_features
from detector.text.segment import DEFAULT_USERDICT, Segmenter

N = 2**16
CFG = FeaturizerConfig(n_features=N, skeleton=True, pinyin_ngram_max=3, atomic_placeholders=True,
                       text_only=True, silent_atoms=("[AT]",), extra=("harassment_lexicon", "contacts"))


def scorer(weights: dict[str, float]) -> FastScorer:
    """A one-risk fast scorer whose only non-zero coefficients are `weights` (feature -> weight)."""
    feat = Featurizer(CFG, Segmenter(DEFAULT_USERDICT), extra=extra_features(CFG, {}), idf=np.ones(N, np.float32))
    coef = np.zeros((1, N), np.float32)
    for f, w in weights.items():
        coef[0, feature_index(f, N)] = w
    return FastScorer(["harassment"], feat, coef, np.zeros(1), [Calibrator("identity")])


def explain(sc: FastScorer, raw: str, k: int = 5) -> list[dict]:
    return sc.explain(clean(raw), "harassment", k)


EXIN = {"c:恶": 1.0, "c:心": 1.0, "c:恶心": 2.0, "w:恶心": 2.0, "p:e": 1.0, "p:xin": 0.5, "p:e xin": 2.0}


def test_units_are_words_and_a_phrase_joins_the_words_it_touches():
    # words [0,2) [2,3) [4,6); character 3 is outside every word
    ids = unit_ids(6, np.array([0, 2, 4]), np.array([2, 3, 6]), [])
    assert ids.tolist() == [0, 0, 1, 2, 3, 3]
    joined = unit_ids(6, np.array([0, 2, 4]), np.array([2, 3, 6]), [(1, 3)])
    assert joined.tolist() == [0, 0, 0, 1, 2, 2]


def test_features_of_one_word_are_one_item_with_every_view():
    (item,) = explain(scorer(EXIN), "真恶心")
    assert item["term"] == "恶心" and item["spans"] == [[1, 3]]
    assert item["views"] == ["word", "chars", "pinyin"]
    assert item["share"] == pytest.approx(1.0)


def test_share_is_the_items_part_of_the_positive_contributions():
    items = explain(scorer({**EXIN, "w:日本": 3.0}), "日本人真恶心")
    by_term = {it["term"]: it for it in items}
    assert set(by_term) == {"恶心", "日本"}
    total = sum(it["weight"] for it in items)  # here every positive contribution sits in an item
    for it in items:
        assert it["share"] == pytest.approx(it["weight"] / total, abs=2e-3)
    # a feature against the risk lowers its word's weight and share, and is not a view that fired
    against = {it["term"]: it for it in explain(scorer({**EXIN, "w:日本": 3.0, "c:日": -0.5}), "日本人真恶心")}
    assert against["日本"]["weight"] < by_term["日本"]["weight"]
    assert against["日本"]["share"] < by_term["日本"]["share"]
    assert against["日本"]["views"] == ["word"] and by_term["恶心"]["views"] == ["word", "chars", "pinyin"]
    assert sum(it["share"] for it in against.values()) <= 1.0 + 1e-9


def test_a_repeated_word_is_one_item_with_both_spans():
    (item,) = explain(scorer(EXIN), "恶心，太恶心")
    assert item["term"] == "恶心" and item["spans"] == [[0, 2], [4, 6]]


def test_pinyin_evasion_shows_the_posts_own_text():
    items = explain(scorer({"p:sha bi": 3.0, "p:sha": 1.0}), "你是sha逼吧")
    assert [it["term"] for it in items] == ["sha逼"]
    assert items[0]["views"] == ["pinyin"]


def test_placeholders_and_punctuation_are_never_terms():
    text = "看 http://t.cn/xyz ～～ [捂脸]"
    items = explain(scorer({"a:[URL]": 2.0, "s:～": 5.0, "a:[捂脸]": 1.0, "c:看": 1.0}), text)
    terms = [it["term"] for it in items]
    assert "http://t.cn/xyz" in terms and "[捂脸]" in terms and "看" in terms
    assert not any("URL" in t or not any(ch.isalnum() for ch in t) for t in terms), terms
    for it in items:
        for s, e in it["spans"]:
            assert text[s:e] == it["term"]


def test_at_most_k_items_best_first():
    weights = {f"w:{w}": float(i + 1) for i, w in enumerate("我 你 他 她 它 好 坏".split())}
    items = explain(scorer(weights), "我，你，他，她，它，好，坏", k=3)
    assert [it["term"] for it in items] == ["坏", "好", "它"]
    assert explain(scorer(weights), "我你他", k=0) == []


def test_a_lexicon_hit_across_words_is_one_item():
    items = explain(scorer({"hlex:insult": 4.0, "c:男": 1.0}), "那男人就是垃圾")
    hit = [it for it in items if "lexicon" in it["views"]]
    assert hit and len(hit) == 1
    assert not any(s < e2 and s2 < e for it in items for it2 in items if it is not it2
                   for s, e in it["spans"] for s2, e2 in it2["spans"])


def test_evidence_of_a_batch_is_that_of_each_post_alone():
    sc = scorer({**EXIN, "w:日本": 3.0, "c:滚": 1.5, "p:gun": 1.0})
    texts = [clean(t) for t in ("滚，恶心", "日本人", "", "今天天气不错", "恶心恶心，日本滚")]
    batch = sc.analyze(texts)
    for i, ct in enumerate(texts):
        assert sc.batch_evidence(batch, i, ct, ["harassment"], 5)["harassment"] == explain(sc, ct.original)
    np.testing.assert_array_equal(sc.batch_proba(batch), sc.predict_proba(texts))


def test_contacts_mark_their_item_or_join_the_list_within_k():
    text = "加微信abc_12345 日结"
    items = [{"term": "abc_12345", "share": 0.5, "weight": 1.0, "views": ["chars"], "spans": [[3, 12]]},
             {"term": "日结", "share": 0.2, "weight": 0.4, "views": ["word"], "spans": [[13, 15]]}]
    inside = [{"term": "abc_12345", "kind": "contact:wechat", "weight": 0.0, "spans": [[3, 12]]}]
    out = with_contacts(text, items, inside, 5)
    assert len(out) == 2 and out[0]["kind"] == "contact:wechat" and out[0]["views"] == ["chars", "contact"]
    apart = [{"term": "13812345678", "kind": "contact:phone", "weight": 0.0, "spans": [[0, 2]]}]
    out = with_contacts(text, items, apart, 2)
    assert len(out) == 2 and out[-1]["term"] == text[0:2] and out[-1]["value"] == "13812345678"
