"""Tests for detector.text.contacts: kinds, values and spans, on raw and cleaned text."""

from __future__ import annotations

import pytest

from detector.text.cleaning import clean
from detector.text.contacts import Contact, contact_features, extract_contacts


def found(text: str) -> list[tuple[str, str, str]]:
    """(kind, value, text[start:end]) for every contact."""
    return [(c.kind, c.value, text[c.start:c.end]) for c in extract_contacts(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("电话138-1234-5678", [("phone", "13812345678", "138-1234-5678")]),
        ("打 138 1234 5678 咨询", [("phone", "13812345678", "138 1234 5678")]),
        ("+86 139 8765 4321", [("phone", "13987654321", "+86 139 8765 4321")]),
        ("手机15912345678。", [("phone", "15912345678", "15912345678")]),
        ("加QQ:123456789", [("qq", "123456789", "123456789")]),
        ("扣扣 88888 q:55555", [("qq", "88888", "88888"), ("qq", "55555", "55555")]),
        ("企鹅号：1234567", [("qq", "1234567", "1234567")]),
        ("微信：abc_123", [("wechat", "abc_123", "abc_123")]),
        ("加vx aa-bb-cc-1", [("wechat", "aa-bb-cc-1", "aa-bb-cc-1")]),
        ("V信号 hello_world", [("wechat", "hello_world", "hello_world")]),
        ("加微信13812345678", [("wechat", "13812345678", "13812345678")]),
        ("看t.cn/A6abcd", [("url", "t.cn/A6abcd", "t.cn/A6abcd")]),
        ("https://dwz.cn/xyz?a=1，", [("url", "https://dwz.cn/xyz?a=1", "https://dwz.cn/xyz?a=1")]),
        ("邮箱abc.d@qq.com", [("email", "abc.d@qq.com", "abc.d@qq.com")]),
    ],
)
def test_raw_examples(text: str, expected: list) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号12345678901234567890已发货",
        "订单 2023 1381 2345 6789 01",
        "我用微信支付了，微信很方便",
        "微信 wonderful 的体验",
        "版本v1.2.3 和 readme.md",
        "价格12345元，qq音乐不错",
        "",
    ],
)
def test_no_false_contacts(text: str) -> None:
    assert extract_contacts(text) == []


def test_spans_are_exact_and_sorted() -> None:
    text = "vx:abc_123 电话13812345678 QQ 10001 www.a.com"
    cs = extract_contacts(text)
    assert [c.kind for c in cs] == ["wechat", "phone", "qq", "url"]
    assert all(isinstance(c, Contact) for c in cs)
    for c in cs:
        assert text[c.start:c.end].replace("-", "") == c.value
    assert [c.start for c in cs] == sorted(c.start for c in cs)


def test_on_cleaned_text_maps_back() -> None:
    ct = clean("加 薇 信: Abc_123，扣扣①②③④⑤⑥⑦ 看http://t.cn/xyz 电话 一三八一二三四五六七八")
    cs = extract_contacts(ct.text)
    back = [(c.kind, c.value, ct.original[slice(*ct.to_original(c.start, c.end))]) for c in cs]
    assert back == [
        ("wechat", "abc_123", "Abc_123"),
        ("qq", "1234567", "①②③④⑤⑥⑦"),
        ("url", "[URL]", "http://t.cn/xyz"),
        ("phone", "13812345678", "一三八一二三四五六七八"),
    ]


def test_contact_features() -> None:
    text = "加微信abc_123，QQ:12345，电话13812345678，t.cn/x1，a@b.com"
    assert contact_features(text) == {"phone": 1, "qq": 1, "wechat": 1, "url": 1, "email": 1}
    assert contact_features("普通文本") == {"phone": 0, "qq": 0, "wechat": 0, "url": 0, "email": 0}
