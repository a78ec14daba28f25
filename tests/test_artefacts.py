"""Features without artefacts: placeholders and emoji codes are atoms (never cut into character
n-grams), mentions give no feature, and posts without words are never flagged for rumor or
harassment (paid posting only with a contact)."""
from __future__ import annotations

import numpy as np
import pytest

from detector.text.cleaning import clean
from detector.text.content import content_mask, has_words
from detector.scorers.features import Featurizer, FeaturizerConfig
from detector.text.segment import Segmenter

TEXT = "@偏未晚 你好 http://t.cn/A6xyz [捂脸] #热搜# 6996"


def names(cfg: FeaturizerConfig, raw: str) -> list[str]:
    text = clean(raw).text
    return [f for f, _, _ in Featurizer(cfg, Segmenter(None)).features_with_spans(text)]


def test_placeholders_are_atoms_never_character_ngrams():
    feats = names(FeaturizerConfig(atomic_placeholders=True, text_only=True, pinyin_ngram_max=3), TEXT)
    assert "a:[URL]" in feats and "a:[捂脸]" in feats and "a:[AT]" in feats
    fragments = [f for f in feats if not f.startswith("a:") and any(ch in f for ch in "[]")]
    assert fragments == []
    assert not any(f in ("c:AT", "c:URL", "c:A", "c:T", "c:U") for f in feats)
    # without atoms the old behaviour cuts the placeholder into n-grams (what the setting fixes)
    old = names(FeaturizerConfig(), TEXT)
    assert any("AT]" in f for f in old)


def test_silent_atoms_give_no_feature_and_leave_the_rest():
    cfg = FeaturizerConfig(atomic_placeholders=True, text_only=True, silent_atoms=("[AT]",))
    feats = names(cfg, TEXT)
    assert "a:[AT]" not in feats and "a:[URL]" in feats and "c:你好" in feats
    assert names(cfg, "@甲 @乙") == []
    assert FeaturizerConfig.from_dict(cfg.to_dict()) == cfg


def test_digits_are_a_length_class_and_punctuation_no_feature():
    feats = names(FeaturizerConfig(atomic_placeholders=True, text_only=True), "6996，！！")
    assert feats and all(f.startswith("d:") for f in feats)
    assert names(FeaturizerConfig(atomic_placeholders=True, text_only=True), "1234") == feats


@pytest.mark.parametrize("raw", ["@偏未晚", "6996", "，", "90/7=12.857", "[捂脸][捂脸]", "@a @b !!! [赞]"])
def test_posts_without_words_cannot_be_flagged_for_rumor_or_harassment(raw):
    cleaned = clean(raw).text
    assert not has_words(cleaned)
    m = content_mask([cleaned], ["rumor", "paid_posting", "harassment"])
    assert m[0, 0] == 0 and m[0, 2] == 0 and m[0, 1] == 0


def test_a_contact_or_a_link_alone_can_still_be_paid_posting_and_words_pass():
    texts = [clean(t).text for t in ("13812345678", "这家店的东西真的很好用", "sb", "http://x.cn/1")]
    m = content_mask(texts, ["rumor", "paid_posting", "harassment"])
    assert m[1].tolist() == [1, 1, 1] and m[2].tolist() == [1, 0, 1]
    assert m[[0, 1, 3], 1].tolist() == [1, 1, 1] and m[0, 0] == 0 and m[3, 2] == 0


def test_a_short_post_is_paid_posting_only_with_a_contact():
    texts = [clean(t).text for t in ("武汉欢迎您", "看下私信", "加微信 abc12345", "欢迎大家来店里看看新款")]
    m = content_mask(texts, ["rumor", "paid_posting", "harassment"])
    assert m[:, 1].tolist() == [0, 0, 1, 1]
    assert m[:, 0].tolist() == [1, 1, 1, 1]  # rumor and harassment only need words
