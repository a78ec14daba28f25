"""detector.text.pii: ID numbers, phones, addresses, plates and bank cards with spans; ordinary numbers
that must not match; masking; the doxxing rule."""
from __future__ import annotations

import pytest

from detector.text.pii import doxxing_evidence, find_pii, luhn_ok, mask_text, mask_value, valid_id_number

ID_OK = "11010519491231002X"  # the example of GB 11643-1999 (check character X)
ID_OK2 = "370102199003071238"
CARD_OK = "6222021234567890128"  # 19 digits, Luhn valid
CARD_OK16 = "4111111111111111"


def found(text: str) -> list[tuple[str, str, str]]:
    """(kind, value, text[start:end]) of everything found."""
    return [(p.kind, p.value, text[p.start:p.end]) for p in find_pii(text)]


def test_reference_numbers_are_valid() -> None:
    assert valid_id_number(ID_OK) and valid_id_number(ID_OK2) and valid_id_number(ID_OK.lower())
    assert luhn_ok(CARD_OK) and luhn_ok(CARD_OK16)


@pytest.mark.parametrize("number, why", [
    ("110105194912310021", "check digit wrong (should be X)"),
    ("370102199003071239", "check digit wrong"),
    ("110105194902301234", "30 February"),
    ("110105194913011234", "month 13"),
    ("110105209901011234", "born in the future"),
    ("110105180001011234", "born before 1900"),
    ("990105194912310020", "no province 99"),
    ("11010519491231002", "17 characters"),
])
def test_invalid_id_numbers(number: str, why: str) -> None:
    assert not valid_id_number(number), why
    assert all(p.kind != "id_card" for p in find_pii(f"身份证{number}")), why


def test_luhn_failures() -> None:
    assert not luhn_ok("6222021234567890123") and not luhn_ok("4111111111111112")
    assert found("卡号6222021234567890123") == []


@pytest.mark.parametrize("text, expected", [
    (f"她的身份证{ID_OK}呢", [("id_card", ID_OK, ID_OK)]),
    (f"身份证 {ID_OK2[:6]} {ID_OK2[6:14]} {ID_OK2[14:]}", [("id_card", ID_OK2, "370102 19900307 1238")]),
    ("手机138-1234-5678。", [("mobile", "13812345678", "138-1234-5678")]),
    ("打 +86 139 8765 4321", [("mobile", "13987654321", "+86 139 8765 4321")]),
    ("电话１３８１２３４５６７８", [("mobile", "13812345678", "１３８１２３４５６７８")]),
    ("座机010-62345678，", [("landline", "01062345678", "010-62345678")]),
    ("(0755)87654321", [("landline", "075587654321", "(0755)87654321")]),
    ("家住某某省某某市某某区某某路12号楼下", [("address", "某某省某某市某某区某某路12号", "某某省某某市某某区某某路12号")]),
    ("在北京市朝阳区建国路88号3单元502室，", [("address", "北京市朝阳区建国路88号3单元502室", "北京市朝阳区建国路88号3单元502室")]),
    ("车牌京A12345跑了", [("plate", "京A12345", "京A12345")]),
    ("沪B·AB123", [("plate", "沪BAB123", "沪B·AB123")]),
    ("新能源粤BD12345", [("plate", "粤BD12345", "粤BD12345")]),
    (f"卡号{CARD_OK}", [("bank_card", CARD_OK, CARD_OK)]),
    ("卡 4111 1111 1111 1111 转账", [("bank_card", CARD_OK16, "4111 1111 1111 1111")]),
])
def test_found_with_spans(text: str, expected: list) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "这件衣服13800元，原价15900元",  # prices
    "2024-01-15 12:30:45 发布", "20240115", "2024年1月15日", "1月15号",  # dates and times
    "时间戳1712345678901", "1712345678",  # unix ms / s
    "订单号13812345678", "订单号：6222021234567890128", "快递单号 4111111111111111",  # order / tracking numbers
    f"编号{ID_OK}", "订单202401151234567890",
    "138123456789012",  # a phone-like prefix inside a longer number
    "京A上班去了", "京ABCDEF", "点赞12345次", "房间号1203",
    "我在路上12号到", "第3条路12号线",  # a road and a number without a place
])
def test_ordinary_numbers_do_not_match(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize("kind, raw, masked", [
    ("mobile", "13812345678", "138****5678"),
    ("mobile", "138 1234 5678", "138 **** 5678"),
    ("mobile", "+86 13812345678", "+86 138****5678"),
    ("id_card", "370102199003071234", "3701**********1234"),
    ("bank_card", CARD_OK, "6222***********0128"),
    ("landline", "010-62345678", "010-****5678"),
    ("plate", "京A12345", "京A***45"),
    ("address", "某某省某某市某某区某某路12号", "某某省某某市某某区******"),
])
def test_mask_value(kind: str, raw: str, masked: str) -> None:
    assert mask_value(kind, raw) == masked and len(masked) == len(raw)


@pytest.mark.parametrize("text, raw, masked", [
    ("她电话一三八一二三四五六七八，大家打", "一三八一二三四五六七八", "一三八****五六七八"),
    ("幺三八幺二三四五六七八", "幺三八幺二三四五六七八", "幺三八****五六七八"),
    ("手机①③⑧①②③④⑤⑥⑦⑧", "①③⑧①②③④⑤⑥⑦⑧", "①③⑧****⑤⑥⑦⑧"),
    ("身份证一一零一零五一九四九一二三一零零二X", "一一零一零五一九四九一二三一零零二X", "一一零一**********零零二X"),
])
def test_spelled_out_digits(text: str, raw: str, masked: str) -> None:
    (p,) = find_pii(text)
    assert text[p.start:p.end] == raw and p.masked == masked and masked in mask_text(text)
    assert find_pii(text, deobfuscate=False) == []


@pytest.mark.parametrize("text", ["一二三四五六七八九十，数到十", "订单号一三八一二三四五六七八", "三三两两五六个人"])
def test_spelled_out_ordinary_numbers(text: str) -> None:
    assert find_pii(text) == []


def test_mask_text_keeps_everything_else() -> None:
    text = f"电话13812345678，身份证{ID_OK}，谢谢"
    assert mask_text(text) == "电话138****5678，身份证1101**********002X，谢谢"
    assert mask_text("没有个人信息 12345") == "没有个人信息 12345"


@pytest.mark.parametrize("text, target, kind", [
    ("这个人的电话是13812345678，大家去打爆", "这个人", "pii:mobile"),
    ("她家住在某某省某某市某某区某某路12号", "她家", "pii:address"),
    (f"张三的身份证{ID_OK}", "张三", "pii:id_card"),
    ("他的车牌京A12345，人肉他", "他的", "pii:plate"),
    ("她电话一三八一二三四五六七八，大家打", "她电话", "pii:mobile"),
])
def test_doxxing_evidence(text: str, target: str, kind: str) -> None:
    ev = doxxing_evidence(text)
    assert [(e["target"], e["kind"]) for e in ev] == [(target, kind)]
    (s, e), (ts, te) = ev[0]["spans"]
    assert text[ts:te] == target and "*" in ev[0]["term"] and ev[0]["term"] != text[s:e]


def test_exposure_words_weigh_more() -> None:
    plain = doxxing_evidence("这个人的电话是13812345678")[0]["weight"]
    assert doxxing_evidence("人肉出来了，这个人的电话是13812345678")[0]["weight"] > plain


@pytest.mark.parametrize("text", [
    "加我13812345678咨询，价格优惠",  # an ad's own number: no target
    "这个人太坏了" + "。" * 40 + "客服电话13812345678",  # target far from the number
    "这个人说的对",  # a target, no personal data
])
def test_no_doxxing(text: str) -> None:
    assert doxxing_evidence(text) == []
