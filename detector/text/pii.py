"""Personal data published in a post (个人信息): who is exposed, where, and how to mask it.

Kinds (each found with its ``[start, end)`` span in the text passed in; full-width digits
count as digits, so spans hold for the original text):

``id_card``    18-digit resident ID number (GB 11643): a known province code, a real birth date
               (1900 .. today) and the ISO 7064 MOD 11-2 check character (``X`` = 10).
``mobile``     mainland mobile ``1[3-9]x`` + 8 digits, optional ``+86``, ``-``/space groups.
``landline``   area code (``010``, ``02x``, ``0xxx``) + 7-8 digit number, written with a separator
               or a bracketed area code, or after 电话/座机/固话.
``address``    a home address: province / city / district / county, then a road or street,
               then a house number (``某某省某某市某某区某某路12号``, ``朝阳区建国路88号3单元``).
``plate``      licence plate: province character + letter + 5 characters (``京A12345``,
               ``沪B·AB123``), or the 8-character new-energy plate (``粤BD12345``).
``bank_card``  16-19 digits (groups of 4 allowed) with a card prefix (62, 60, 4, 51-55) that
               pass the Luhn check.

Ordinary numbers do not match: digits are never taken out of a longer digit run, and a number
right after an order / tracking / serial word (订单号, 快递单号, 编号 …) is never personal data.

:func:`mask_text` / :attr:`PII.masked` hide the middle (``138****5678``, ``3701**********1234``)
keeping the length. :func:`doxxing_evidence` is the rule "personal data next to a target
(a name, 这个人, 她家, 他的 …)", evidence for harassment's ``doxxing``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["PII", "KINDS", "find_pii", "mask_text", "mask_value", "doxxing_evidence", "exposes",
           "valid_id_number", "luhn_ok", "find_targets"]

KINDS = ("id_card", "mobile", "landline", "address", "plate", "bank_card")
_PRIORITY = {"id_card": 0, "bank_card": 1, "mobile": 2, "landline": 3, "plate": 4, "address": 5}
_WIDE = str.maketrans("０１２３４５６７８９ＸｘＡＢＣＤＥＦＧＨＪＫＬＭＮＰＱＲＳＴＵＶＷＹＺ－",
                      "0123456789XxABCDEFGHJKLMNPQRSTUVWYZ-")


@dataclass(frozen=True)
class PII:
    """One piece of personal data: ``text[start:end]`` is ``raw``; ``value`` is its canonical form."""

    kind: str
    value: str
    raw: str
    start: int
    end: int

    @property
    def masked(self) -> str:
        return mask_value(self.kind, self.raw)

    def to_dict(self, reveal: bool = False) -> dict:
        return {"kind": self.kind, "value": self.raw if reveal else self.masked, "span": [self.start, self.end]}


# validators ----------

_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
              50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_birth_date(number: str) -> date | None:
    """The birth date in an 18-character ID number, or None if it is not a real past date."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    return born if date(1900, 1, 1) <= born <= date.today() else None


def valid_id_number(number: str) -> bool:
    """A resident ID number: 17 digits + check character, a province code, a real birth date."""
    n = number.upper()
    if len(n) != 18 or not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        return False
    if int(n[:2]) not in _PROVINCES or id_birth_date(n) is None:
        return False
    return _ID_CHECK[sum(int(c) * w for c, w in zip(n, _ID_WEIGHTS)) % 11] == n[17]


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of a card number."""
    if not digits.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


# patterns ----------

_ND = r"(?<![0-9A-Za-z])"  # not inside a longer digit / letter run
_NA = r"(?![0-9A-Za-z])"
_ID_RE = re.compile(_ND + r"[1-8][0-9]{5} ?(?:19|20)[0-9]{2}[01][0-9][0-3][0-9] ?[0-9]{3}[0-9Xx]" + _NA)
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z+])(?:(?:\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])")
_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"
_LANDLINE_RE = re.compile(
    r"(?<![0-9])(?:[(（]" + _AREA + r"[)）] ?|" + _AREA + r"[- ]|(?<=电话|座机|固话|话:|话：)" + _AREA + r")"
    r"[2-9][0-9]{6,7}(?![0-9])")
_CARD_RE = re.compile(_ND + r"(?:62|60|4[0-9]|5[1-5])[0-9]{2}(?:[ -]?[0-9]{4}){2,3}(?:[ -]?[0-9]{1,3})?(?![0-9])")
_PLATE_PROV = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PL = "A-HJ-NP-Z"
_PLATE_RE = re.compile(
    rf"[{_PLATE_PROV}][{_PL}][·•.\- ]?(?:[DF][{_PL}0-9][0-9]{{4}}|[0-9]{{5}}[DF]|[{_PL}0-9]{{4}}[{_PL}0-9挂学警])"
    + r"(?![0-9A-Za-z])")
_SPELLED_DIGITS = re.compile(r"(?:[一二三四五六七八九零〇幺两壹贰叁肆伍陆柒捌玖①-⑳⑴-⒇⒈-⒛❶-❿➀-➓⓪][\s,，.、\-]*){5,}")
_NOT_PERSONAL = re.compile(r"(?:订单|单号|编号|流水|交易号|快递|运单|物流|批次|序列号|工单|案号|货号|型号|条码|券码|验证码)"
                           r"[号码]?[是为]?[:：#]? ?$")

# addresses: admin parts, a road, a number
_NAME = r"[^\W\d_A-Za-z在住是的了到去我你他她家和与从往址于，。、]"
_PROV_NAMES = ("北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|"
               "海南|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆")
_ADMIN = rf"(?:(?:{_PROV_NAMES})(?:省|市|自治区)?|{_NAME}{{2,4}}省|{_NAME}{{1,6}}?(?:市|区|县|旗|州|盟))"
_ROAD = rf"[^\W_A-Za-z在住是的了到去我你他她家和与从往址于，。、]{{1,10}}?(?:大街|大道|胡同|路|街|巷|弄|道|里)"
_NUMBER = rf"[0-9]{{1,5}}(?:-[0-9]{{1,5}})?号(?:(?:{_NAME}{{0,6}}?[0-9]{{1,4}}(?:号楼|栋|幢|单元|层|楼|室|号))*)"
_ADDRESS_RE = re.compile(rf"(?:{_ADMIN}){{1,4}}{_ROAD}{_NUMBER}")


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def _after_order_word(text: str, start: int) -> bool:
    return bool(_NOT_PERSONAL.search(text[max(0, start - 8):start]))


def _candidates(t: str) -> list[PII]:
    """Every match of every kind on the digit-normalised text ``t``, overlaps included."""
    found = []
    for m in _ID_RE.finditer(t):
        v = m.group().replace(" ", "").upper()
        if valid_id_number(v):
            found.append(PII("id_card", v, m.group(), *m.span()))
    for m in _CARD_RE.finditer(t):
        v = _digits(m.group())
        if 16 <= len(v) <= 19 and luhn_ok(v):
            found.append(PII("bank_card", v, m.group(), *m.span()))
    for m in _MOBILE_RE.finditer(t):
        found.append(PII("mobile", _digits(m.group())[-11:], m.group(), *m.span()))
    for m in _LANDLINE_RE.finditer(t):
        found.append(PII("landline", _digits(m.group()), m.group(), *m.span()))
    for m in _PLATE_RE.finditer(t):
        if sum(c.isdigit() for c in m.group()) >= 3:
            found.append(PII("plate", re.sub(r"[·•.\- ]", "", m.group()), m.group(), *m.span()))
    found += [PII("address", m.group(), m.group(), *m.span()) for m in _ADDRESS_RE.finditer(t)]
    return found


def _choose(t: str, kinds: tuple[str, ...]) -> list[PII]:
    """Non-overlapping matches in ``t`` by kind priority (spans and raw into ``t``)."""
    chosen: list[PII] = []
    for p in sorted(_candidates(t), key=lambda p: (_PRIORITY[p.kind], p.start)):
        if p.kind not in kinds or (p.kind != "address" and _after_order_word(t, p.start)):
            continue
        if all(p.end <= o.start or p.start >= o.end for o in chosen):
            chosen.append(p)
    return chosen


def find_pii(text: str, kinds: tuple[str, ...] = KINDS, deobfuscate: bool = True) -> list[PII]:
    """Personal data in ``text``: non-overlapping, sorted by position, spans into ``text``.
    With ``deobfuscate``, numbers written in Chinese numerals or circled digits (一三八…, 幺三八…,
    ①②③) are found too, through :func:`detector.text.cleaning.clean` and its map back to the original."""
    if not isinstance(text, str) or not text:
        return []
    found = [PII(p.kind, p.value, text[p.start:p.end], p.start, p.end)
             for p in _choose(text.translate(_WIDE), kinds)]  # same length: spans hold for ``text``
    if deobfuscate and _SPELLED_DIGITS.search(text):
        from detector.text.cleaning import clean

        ct = clean(text)
        for p in _choose(ct.text, kinds):
            s, e = ct.to_original(p.start, p.end)
            if all(e <= o.start or s >= o.end for o in found):
                found.append(PII(p.kind, p.value, text[s:e], s, e))
    return sorted(found, key=lambda p: p.start)


# masking ----------

_KEEP = {"id_card": (4, 4), "bank_card": (4, 4), "mobile": (3, 4), "landline": (0, 4), "plate": (2, 2)}
_ADMIN_PREFIX = re.compile(rf"(?:{_ADMIN})+")


def _mask_middle(raw: str, head: int, tail: int) -> str:
    """Replace the letters/digits of ``raw`` except the first ``head`` and last ``tail`` by ``*``;
    separators and length are kept. A country code (+86) is kept as written."""
    lead = re.match(r"(?:\+|00)?86[ -]?(?=1[3-9])", raw) if len(_digits(raw)) > 11 else None
    prefix, body = (raw[:lead.end()], raw[lead.end():]) if lead else ("", raw)
    pos = [i for i, c in enumerate(body) if c.isalnum()]
    hidden = set(pos[head:len(pos) - tail])
    return prefix + "".join("*" if i in hidden else c for i, c in enumerate(body))


def mask_value(kind: str, raw: str) -> str:
    """``138****5678``, ``3701**********1234``, ``010-****5678``, ``京A***45``; an address keeps
    its province / city / district and hides road and number."""
    if kind == "address":
        m = _ADMIN_PREFIX.match(raw)
        keep = m.end() if m else 0
        return raw[:keep] + "*" * (len(raw) - keep)
    if kind == "landline":
        area = re.match(r"[(（]?" + _AREA + r"[)）]?[- ]?", raw)
        keep = area.end() if area else 0
        return raw[:keep] + _mask_middle(raw[keep:], 0, 4)
    head, tail = _KEEP[kind]
    return _mask_middle(raw, head, tail)


def mask_text(text: str, kinds: tuple[str, ...] = KINDS) -> str:
    """``text`` with every piece of personal data masked (same length)."""
    out, pos = [], 0
    for p in find_pii(text, kinds):
        out += [text[pos:p.start], p.masked]
        pos = p.end
    return "".join(out) + text[pos:] if out else text


# doxxing ----------

_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_TARGET_RE = re.compile(
    r"这个人|此人|这人|那个人|那人|该男子?|该女子?|这货|这家伙|这[个位]?(?:女的|男的|女人|男人|女生|男生|小三|渣男|渣女|老师|医生)"
    r"|[她他]家|[她他]们家|[她他]的|[她他]住|[她他](?:老公|老婆|爸|妈|父母|孩子|儿子|女儿|单位|公司)"
    r"|[她他](?:电话|手机|身份证|住址|地址|车牌|银行卡|卡号)"
    r"|(?:姓名|名字|真名)[是为:：]? ?[\u4e00-\u9fff]{2,3}|(?:名叫|叫做|[她他]叫)[\u4e00-\u9fff]{2,3}"
    r"|(?<=人肉)[她他]|(?<=开盒)[她他]"
    r"|(?:司机|店主|老板|博主|主播|网红|女的|男的|大妈|大爷|小三|老师|医生)的?(?:住址|地址|电话|手机号?|身份证|家)"
    rf"|[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}?(?=的(?:电话|手机|身份证|住址|地址|家|车|银行卡|号码)|家住|住在|身份证|电话|手机号)")
_EXPOSE_RE = re.compile(r"人肉|开盒|扒出|扒一扒|曝光|公开|大家去|去找[她他]|打爆|轰炸|上门|挂出来|挂一下|扩散")


def find_targets(text: str) -> list[tuple[str, int, int]]:
    """Mentions of a person the post points at: (term, start, end)."""
    return [(m.group(), *m.span()) for m in _TARGET_RE.finditer(text)]


def doxxing_evidence(text: str, window: int = 20) -> list[dict]:
    """Personal data within ``window`` characters of a target mention: one evidence item each,
    in the shape of the scorers' evidence (``term`` masked, ``kind`` ``pii:<kind>``, spans of
    the data and the target; ``weight`` higher when an exposure word such as 人肉/开盒/曝光 is
    in the post). Empty when the post names no target or has no personal data."""
    found = find_pii(text)
    targets = find_targets(text) if found else []
    if not targets:
        return []
    weight = 1.0 if _EXPOSE_RE.search(text) else 0.6
    out = []
    for p in found:
        near = [t for t in targets if t[1] - window <= p.end and p.start - window <= t[2]]
        if near:
            term, s, e = min(near, key=lambda t: min(abs(t[1] - p.end), abs(p.start - t[2])))
            out.append({"term": p.masked, "kind": f"pii:{p.kind}", "weight": weight,
                        "spans": [[p.start, p.end], [s, e]], "target": term})
    return out


def exposes(text: str) -> bool:
    """The doxxing rule: personal data next to a target in a post with an exposure word (人肉,
    开盒, 曝光, 扩散 …), i.e. `doxxing_evidence` at full weight."""
    return any(d["weight"] >= 1.0 for d in doxxing_evidence(text))
