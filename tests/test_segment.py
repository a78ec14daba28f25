"""Segmentation: the project dictionary keeps domain terms whole; spans index the text."""
from __future__ import annotations

from detector.text.segment import DEFAULT_USERDICT, Segmenter, get_rjieba, get_tokenizer


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


def test_jieba_dictionary_is_cached_in_the_user_cache_folder_not_the_temp_folder(tmp_path, monkeypatch):
    import tempfile

    import detector.text.segment as segment

    text = "有偿删帖找水军控评"
    words = Segmenter(None).cut(text)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(segment, "_TOKENIZERS", {})  # a fresh process: jieba loads its dictionary again
    (tmp_path / "tmp" / "jieba.cache").write_bytes(b"planted")  # jieba's own cache name: never read
    assert Segmenter(None).cut(text) == words
    assert [p.name for p in (tmp_path / "tmp").iterdir()] == ["jieba.cache"]
    assert len(list((tmp_path / "xdg" / "jingwang").glob("jieba-*.marshal"))) == 1
    monkeypatch.setattr(segment, "_TOKENIZERS", {})
    assert Segmenter(None).cut(text) == words  # from the cache file


def test_rjieba_keeps_the_user_dictionary_and_gives_jiebas_spans():
    text = "有偿删帖找水军控评，还有人肉开盒 加 微信"
    fast, ref = Segmenter(DEFAULT_USERDICT, "rjieba"), Segmenter(DEFAULT_USERDICT)
    assert {"有偿删帖", "水军", "控评", "人肉", "开盒"} <= set(fast.cut(text))
    assert fast.cut_spans(text) == ref.cut_spans(text)
    for w, s, e in fast.cut_spans(text):
        assert text[s:e] == w and not w.isspace()
    assert get_rjieba(DEFAULT_USERDICT) is get_rjieba(DEFAULT_USERDICT)


def test_the_segmenter_is_a_featurizer_setting_and_old_models_keep_jieba():
    import pytest

    from detector.scorers.features import Featurizer, FeaturizerConfig

    old = FeaturizerConfig.from_dict({"char_ngram_max": 3})  # a model folder from before the setting
    assert old.segmenter == "jieba" and Featurizer(old).segmenter.kind == "jieba"
    new = FeaturizerConfig.from_dict({"segmenter": "rjieba"})
    assert Featurizer(new, Segmenter(DEFAULT_USERDICT)).segmenter.kind == "rjieba"
    assert Featurizer(new, Segmenter(DEFAULT_USERDICT)).segmenter.userdict == DEFAULT_USERDICT
    assert new.to_dict()["segmenter"] == "rjieba"
    with pytest.raises(ValueError, match="segmenter"):
        FeaturizerConfig.from_dict({"segmenter": "pkuseg"})
