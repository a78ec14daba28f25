"""Tests for detector.text.cleaning: cleaned text, exact offset maps, watermarks, evasions."""

from __future__ import annotations

import random
import unicodedata

import pytest

from detector.text.cleaning import CleanText, clean, normalize_for_match


def check_map(ct: CleanText) -> None:
    """Structural invariants of the offset map."""
    n, olen = len(ct.text), len(ct.original)
    assert len(ct.offsets) == n + 1
    assert ct.offsets[-1] == olen
    assert all(0 <= o < olen for o in ct.offsets[:-1])
    assert all(a <= b for a, b in zip(ct.offsets, ct.offsets[1:]))
    assert len(ct.ends) == n and all(a <= b for a, b in zip(ct.ends, ct.ends[1:]))
    assert all(s < e <= olen for s, e in zip(ct.offsets, ct.ends))
    for i in range(n):
        s, e = ct.to_original(i, i + 1)
        assert 0 <= s < e <= olen
    if n:
        s, e = ct.to_original(0, n)
        assert (s, e) == (ct.offsets[0], max(ct.ends))


def source_of(ct: CleanText, word: str, occurrence: int = 0) -> str:
    """Original slice behind the ``occurrence``-th ``word`` in the cleaned text."""
    pos = -1
    for _ in range(occurrence + 1):
        pos = ct.text.index(word, pos + 1)
    s, e = ct.to_original(pos, pos + len(word))
    return ct.original[s:e]


def plain_relates(ct: CleanText) -> None:
    """Every cleaned char (no rewrites) is in the NFKC form of its source char."""
    for i, c in enumerate(ct.text):
        s, e = ct.to_original(i, i + 1)
        src = unicodedata.normalize("NFKC", ct.original[s:e])
        assert c == " " or c in src, (i, c, ct.original[s:e])


# --- step 1: NFKC, entities, tags, invisible chars -------------------------------

@pytest.mark.parametrize(
    "raw, expected",
    [
        ("０１２３ＡＢＣ，你好", "0123abc,你好"),
        ("①②③号", "123号"),
        ("a&amp;b &lt;3 &#x4e2d;&#22269;", "a&b <3 中国"),
        ("第一段<br>第二段<p>第三段</p><span>内联</span>", "第一段 第二段 第三段 内联"),
        ("刷\u200b单", "刷单"),
        ("\ufeff你\u200d好\x00\x07\u00ad啊", "你好啊"),
        ("行一\r\n行二\t\t行三  ", "行一 行二 行三"),
        ("<script>alert(1)</script>正文", "正文"),
        ("1<2 且 3>2, <不是标签>", "1<2 且 3>2, <不是标签>"),
    ],
)
def test_step1_examples(raw: str, expected: str) -> None:
    ct = clean(raw)
    assert ct.text == expected
    check_map(ct)


def test_plain_chars_map_to_their_sources() -> None:
    ct = clean("ＡＢＣ 全角　空格 ①② Hello 世界", evasion=False)
    assert ct.text == "ABC 全角 空格 12 Hello 世界"
    plain_relates(ct)
    check_map(ct)


def test_entity_maps_back_to_whole_entity() -> None:
    ct = clean("x &#x4e2d; y")
    assert ct.text == "x 中 y"
    assert source_of(ct, "中") == "&#x4e2d;"


def test_nfkc_expansion_maps_to_one_char() -> None:
    ct = clean("㎏单位", evasion=False)
    assert ct.text == "kg单位"
    assert ct.offsets[:2] == [0, 0]
    assert source_of(ct, "kg") == "㎏"


def test_evasion_off_keeps_case_and_variants() -> None:
    ct = clean("加 薇 信 VX 東", evasion=False)
    assert ct.text == "加 薇 信 VX 東"


# --- step 2: placeholders --------------------------------------------------------

def test_url_placeholder_covers_whole_url() -> None:
    ct = clean("快看http://t.cn/AbC12，还有 www.example.com/p?q=1 结束")
    assert ct.text == "快看[URL],还有 [URL] 结束"
    assert source_of(ct, "[URL]") == "http://t.cn/AbC12"
    assert source_of(ct, "[URL]", 1) == "www.example.com/p?q=1"
    s, e = ct.to_original(ct.text.index("[URL]") + 1, ct.text.index("[URL]") + 2)
    assert ct.original[s:e] == "http://t.cn/AbC12"
    check_map(ct)


def test_mention_topic_email() -> None:
    ct = clean("回复@张三_Z:你好 #热点 话题# 邮箱 abc@163.com C# and F#")
    assert ct.text == "回复[AT]:你好 热点 话题 邮箱 abc@163.com c# and f#"
    assert source_of(ct, "[AT]") == "@张三_Z"
    assert source_of(ct, "热点") == "热点"
    check_map(ct)


# --- step 3: watermarks ----------------------------------------------------------

def nfkc(s: str) -> str:
    """Plain NFKC (what cleaning does to these news paragraphs)."""
    return unicodedata.normalize("NFKC", s)


NEWS = [
    "本报讯，昨日市政府召开新闻发布会，通报了今年以来全市经济运行情况。",
    "会上，有关负责人介绍，一季度全市地区生产总值同比增长百分之五点二。",
    "据悉，下一步将继续加大对中小企业的扶持力度，稳定就业。",
    "发布会还回答了记者关心的房地产市场、教育资源等热点问题。",
]


def test_watermark_suffix_removed() -> None:
    raw = "\n".join(p + "新浪新闻网" for p in NEWS)
    ct = clean(raw)
    assert "新浪新闻网" not in ct.text
    assert ct.text == nfkc(" ".join(NEWS))
    check_map(ct)
    assert source_of(ct, "稳定就业。") == "稳定就业。"


def test_watermark_prefix_and_html_paragraphs() -> None:
    raw = "".join(f"<p>（新浪微博）{p}</p>" for p in NEWS)
    assert clean(raw).text == nfkc(" ".join(NEWS))
    kept = clean(raw, strip_watermark=False).text
    assert kept.count("(新浪微博)") == 4


def test_watermark_needs_three_lines_and_distinct_content() -> None:
    two = "\n".join(p + "新浪新闻网" for p in NEWS[:2])
    assert clean(two).text.count("新浪新闻网") == 2
    same = "\n".join(["兼职刷单日结加微信"] * 4)
    assert clean(same).text.count("兼职刷单日结加微信") == 4
    spam = "\n".join(f"第{i}条兼职刷单日结加微信领红包" for i in range(4))
    assert clean(spam).text.count("兼职刷单日结") == 4


def test_single_line_keeps_repeated_words() -> None:
    raw = "好好好，真的好，太好了好好好"
    assert clean(raw).text == "好好好,真的好,太好了好好好"


def test_ordinary_lines_ending_alike_are_kept() -> None:
    raw = "我今天很开心了。\n你今天怎么样了。\n他说他也好了。\n大家都好了。"
    assert clean(raw).text.count("了。") == 4


# --- step 4: evasions ------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, expected",
    [
        ("加 薇 信", "加微信"),
        ("➕V:abc123", "加微信:abc123"),
        ("扣扣①②③④⑤⑥⑦", "QQ1234567"),
        ("東北人", "东北人"),
        ("加-微-信", "加微信"),
        ("加.薇.信", "加微信"),
        ("加丶薇丶信", "加微信"),
        ("我想刷*单赚钱", "我想刷单赚钱"),
        ("微 信", "微信"),
        ("VX:abc_888", "微信:abc_888"),
        ("wx12345678 weixin wechat", "微信12345678 微信 微信"),
        ("Q Q 12345 企鹅号:888888", "QQ 12345 QQ号:888888"),
        ("电话一三八一二三四五六七八", "电话13812345678"),
        ("⑴⑵⑶❶❷ 1️⃣2️⃣", "12312 12"),
        ("🅰🅱 🇦 ⓐ", "ab a a"),
        ("jz rj 日结, sd卡", "兼职 日结 日结, sd卡"),
        ("招jz宝妈", "招兼职宝妈"),
        # pinyin written for characters, decoded with the characters around it
        ("jia微xin领红包", "加微信领红包"),
        ("ni好", "你好"),
        ("你这个sha逼", "你这个傻逼"),
        ("添加企鹅jiubaqi六五四san二yi", "添加企鹅987654321"),
    ],
)
def test_evasion_examples(raw: str, expected: str) -> None:
    ct = clean(raw)
    assert ct.text == expected
    check_map(ct)


@pytest.mark.parametrize(
    "raw",
    [
        "一二三四 普通文本",  # numerals: run of < 5 stays
        "今天 天气 很好",  # spaces between multi-char words stay
        "迈克尔·杰克逊",  # name separator stays
        "好开心😊今天",  # emoji between words stays
        "树立威信很重要",  # 威信 = prestige
        "扣扣子",  # to button up
        "advx zfbx xsd",  # letters around pinyin / vx
        "微芯片",  # microchip
        "hello world iphone",  # no Chinese next to it: never decoded
        "我的id是kaogong_2026",  # ids, not pinyin
        "用wifi上网",  # not pinyin
    ],
)
def test_no_false_evasions(raw: str) -> None:
    assert clean(raw).text == raw


def test_evasion_spans_map_back() -> None:
    ct = clean("快加 薇 信：abc123")
    assert ct.text == "快加微信:abc123"
    assert source_of(ct, "微信") == "薇 信"
    assert source_of(ct, "abc123") == "abc123"
    ct = clean("联系扣扣①②③④⑤⑥⑦")
    assert source_of(ct, "QQ") == "扣扣"
    assert source_of(ct, "1234567") == "①②③④⑤⑥⑦"
    assert source_of(ct, "34") == "③④"
    ct = clean("加v：abc")
    assert source_of(ct, "加微信") == "加v"
    ct = clean("加 wei xin：abc")
    assert ct.text == "加微信:abc"
    assert source_of(ct, "微") == "wei" and source_of(ct, "信") == "xin"
    ct = clean("东北 東北人")
    assert source_of(ct, "东北人") == "東北人"


def test_normalize_for_match() -> None:
    assert normalize_for_match("加 薇 信  ＡＢＣ") == normalize_for_match("加微信 abc")


# --- robustness ------------------------------------------------------------------

_POOL = list("加微信薇扣QQqvxVX東北人刷单一二三四五六七八九零幺①②⑴❶０１ＡＢ，。！ abc123-_.*/|·~@#&;<>:") + [
    "\n", "\t", "\r", "\u200b", "\ufeff", "\x00", "\x85", "\u2028", "😀", "🅰", "🇦", "1\ufe0f\u20e3",
    "&amp;", "&#x4e2d;", "&lt;", "&#0;", "&#xD800;", "<br>", "<p>", "</a>", "http://t.cn/ab",
    "www.x.com", "\ud800", "\udfff", "𠀀", "\u0301", "㎏", "㈠", "#话题#", "@用户 ", "新浪新闻网\n",
]


@pytest.mark.parametrize("evasion", [True, False])
def test_fuzz_offsets(evasion: bool) -> None:
    rng = random.Random(20240601)
    for _ in range(300):
        raw = "".join(rng.choice(_POOL) for _ in range(rng.randint(0, 60)))
        ct = clean(raw, evasion=evasion)
        assert ct.original == raw
        if raw:
            check_map(ct)
        for _ in range(3):
            a = rng.randint(0, len(ct.text))
            b = rng.randint(a, len(ct.text))
            s, e = ct.to_original(a, b)
            assert (s < e) if raw else (s, e) == (0, 0)
            if b > a:
                assert s == ct.offsets[a] and e >= ct.offsets[b - 1] + 1


def test_edge_inputs() -> None:
    assert clean("").text == "" and clean("").offsets == [0]
    assert clean("").to_original(0, 0) == (0, 0)
    assert clean(" \u200b\n ").text == ""
    ct = clean("abc")
    assert ct.to_original(-5, 99) == (0, 3)
    assert ct.to_original(2, 1) == (2, 3)
    big = "加 薇 信\u200b" * 20000 + "新浪新闻网\n" * 5000
    ct = clean(big)
    assert len(ct.offsets) == len(ct.text) + 1
    check_map(clean("\ud800\udfff\x01" * 1000))


def test_pure_and_frozen() -> None:
    raw = "加 薇 信 東北 http://a.cn/x"
    a, b = clean(raw), clean(raw)
    assert a == b
    with pytest.raises(AttributeError):
        a.text = "x"  # type: ignore[misc]


def test_split_pinyin_needs_whole_syllables() -> None:
    from detector.text.phonetic import split_pinyin

    assert split_pinyin("shabi") == ("sha", "bi")
    assert split_pinyin("zhuangxiu") == ("zhuang", "xiu")
    assert split_pinyin("wifi") is None and split_pinyin("iphone") is None


def test_disk_cache_loads_what_it_built_and_rebuilds_a_broken_file(tmp_path, monkeypatch) -> None:
    from detector.text.phonetic import disk_cached

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls = []

    def build():
        calls.append(1)
        return {"sha": "沙", "n": [1, 2]}

    assert disk_cached("t", "k1", build) == {"sha": "沙", "n": [1, 2]} and len(calls) == 1
    assert disk_cached("t", "k1", build) == {"sha": "沙", "n": [1, 2]} and len(calls) == 1  # from disk
    (path,) = (tmp_path / "jingwang").glob("t-*.marshal")
    path.write_bytes(b"\x00garbage")
    assert disk_cached("t", "k1", build) == {"sha": "沙", "n": [1, 2]} and len(calls) == 2
    disk_cached("t", "k2", build)  # other inputs: another file
    assert len(calls) == 3 and len(list((tmp_path / "jingwang").glob("t-*.marshal"))) == 2
