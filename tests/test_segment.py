"""Segmentation: the project dictionary keeps domain terms whole; spans index the text."""
from __future__ import annotations

from detector.segment import DEFAULT_USERDICT, Segmenter, get_tokenizer


def test_userdict_terms_stay_whole():
    text = "有偿删帖找水军控评，还有人肉开盒"
    words = Segmenter(DEFAULT_USERDICT).cut(text)
    assert {"有偿删帖", "水军", "控评", "人肉", "开盒"} <= set(words), words
    assert "水军" not in Segmenter(None).cut(text)  # jieba alone cuts 找水|军控: the dictionary matters


def test_spans_point_into_the_text_and_skip_spaces():
    text = "加 微信  刷单日结"
    for w, s, e in Segmenter(DEFAULT_USERDICT).cut_spans(text):
        assert text[s:e] == w and not w.isspace()


def test_tokenizer_is_initialised_once_per_dictionary():
    assert get_tokenizer(DEFAULT_USERDICT) is get_tokenizer(DEFAULT_USERDICT)
    assert get_tokenizer(None) is not get_tokenizer(DEFAULT_USERDICT)
