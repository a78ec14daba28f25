"""Shared fixtures: tiny hand-written datasets in the shared layout, and a fast model trained on them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared" / "datasets"

# Each class has its own texts per split, in the same style: train teaches, dev calibrates and sets
# thresholds, test measures what the model makes of posts it has never seen. The lists without a
# suffix are the test texts (other tests score them as unseen posts). The last dev text of each class
# shares no cue with its class (or shares one with the other class), as real dev data does: a dev set
# the model separates perfectly calibrates to 0/1 scores and thresholds at the extremes.
HARASS = ["你就是个脑残，滚出去", "这种人真恶心，去死吧", "地域黑都是垃圾东西", "女司机就是马路杀手，蠢货",
          "黑鬼滚回非洲", "你全家都是废物"]
SAFE = ["今天天气不错，出去走走", "这家店的面很好吃", "谢谢大家的帮助", "明天开会记得带电脑",
        "周末去爬山了，风景很美", "新出的手机续航挺好"]
RUMOR = ["震惊！喝醋可以治愈新冠，转发保平安", "紧急通知：明天全市停水三天，速囤水", "专家说吃大蒜能防癌，不转不是中国人",
         "某地发生特大地震，死亡上千人，官方隐瞒", "5G基站导致病毒传播，赶紧转发", "银行明天全部倒闭，快去取钱"]
NEWS = ["【国务院常务会议部署稳就业工作】会议指出要加大支持力度", "气象台发布今日天气预报，全市多云转晴",
        "【博物馆新展开幕】展出文物两百余件", "市交通局：地铁五号线今日开通运营", "教育部发布高考报名时间安排",
        "【新华社】我国成功发射一颗通信卫星"]
SPAM = ["兼职刷单日结，加微信xxxxxx", "好评返现五元，联系客服", "【特价】全场一折起，回复TD退订", "贷款秒到账，无抵押，电话xxxxxxxxxxx",
        "有偿删帖，负面处理，加QQxxxxxxx", "招聘水军发帖，日结一百"]
HAM = ["我在路上了马上到", "晚上一起吃饭吗", "这本书写得很好", "下午三点的会议改到四点", "孩子今天考试考得不错", "明天记得带伞"]
TRAIN = {
    "harass": ["脑残东西，赶紧滚", "你这个废物，去死", "恶心的垃圾，滚出去", "蠢货就是蠢货，没救了", "你们全家都是脑残",
               "滚回老家去吧，废物", "真是个垃圾，恶心死了", "去死吧你这个蠢货"],
    "safe": ["今天的天气很好", "这家店的菜很好吃", "谢谢你的帮助", "明天上午记得开会", "周末出去走走，风景不错",
             "这个手机挺好用的", "晚上去看电影", "新开的咖啡店很不错"],
    "rumor": ["震惊！吃香蕉可以治愈癌症，赶紧转发", "紧急通知：明天全市停电，速转", "专家说喝绿茶能防新冠，转发保平安",
              "某地发生大爆炸，官方隐瞒死亡人数", "5G信号导致头痛，转发给家人", "这家银行要倒闭了，赶紧取钱",
              "震惊！自来水有毒，不转不是中国人", "紧急：超市明天全部关门，快去囤货"],
    "news": ["【国务院】会议部署稳经济工作", "气象台发布暴雨预警，市民注意出行", "【新华社】我国成功发射一颗气象卫星",
             "市教育局发布中考报名时间安排", "【博物馆】新馆今日开放，展出文物三百件", "交通局：地铁三号线明日开通运营",
             "【央视新闻】全国铁路迎来客流高峰", "统计局发布上月经济数据"],
    "spam": ["刷单兼职，日结工资，加微信", "好评返现十元，加客服微信", "【优惠】全场五折，回复TD退订", "无抵押贷款，当天到账，电话联系",
             "有偿删帖，加QQ联系", "招聘网络水军，日结", "兼职打字员，日结，加QQ", "【特价】会员充值八折，退订回TD"],
    "ham": ["我马上到了", "晚上一起去吃饭", "这部电影很好看", "会议改到明天下午", "孩子今天很开心", "出门记得带钥匙",
            "我在路上，等我一下", "下午三点见"],
}
DEV = {
    "harass": ["废物一个，滚出去", "这种垃圾真恶心", "脑残蠢货去死", "你就是个废物", "你算哪根葱"],
    "safe": ["天气不错，出去走走吧", "面很好吃，谢谢", "大家周末愉快", "新手机很好用", "垃圾桶满了，记得倒掉"],
    "rumor": ["震惊！喝酒能杀死病毒，转发", "紧急通知：明天停水，速囤水", "专家说吃醋防癌，转发保平安", "官方隐瞒疫情，赶紧转发",
              "听说下个月油价要翻倍"],
    "news": ["【新华社】会议指出要加大支持力度", "气象台：明日全市多云", "教育部发布考试时间安排", "市交通局：公交线路调整",
             "紧急通知：明天停水检修，请市民提前储水"],
    "spam": ["兼职日结，加微信", "返现好评，联系客服", "贷款当天到账，加QQ", "【促销】全场一折，回复TD退订", "亲，需要代写论文吗"],
    "ham": ["我到楼下了", "明天一起吃饭吗", "会议推迟到五点", "记得带伞哦", "客服说钱明天到账"],
}
TEST = {"harass": HARASS, "safe": SAFE, "rumor": RUMOR, "news": NEWS, "spam": SPAM, "ham": HAM}
SPLITS = {"train": TRAIN, "dev": DEV, "test": TEST}


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _split(prefix: str, pos: list[str], neg: list[str], rep: int) -> list[dict]:
    rows = [{"text": t, "label": 1} for t in pos] * rep + [{"text": t, "label": 0} for t in neg] * rep
    return [{"id": f"{prefix}-{i}", **r} for i, r in enumerate(rows)]


def _hashed(prefix: str, split: str, rows: list[dict], fractions: dict[str, float]) -> list[dict]:
    """`rows` with ids that configs/datasets.toml's split_by_hash puts in `split`."""
    from training.data.sources import hash_unit

    bounds, acc = {}, 0.0
    for name, frac in fractions.items():
        bounds[name], acc = (acc, acc + frac), acc + frac
    lo, hi = bounds[split]
    ids = (f"{prefix}-{k}" for k in range(100_000))
    return [{**r, "id": next(i for i in ids if lo <= hash_unit(i) < hi)} for r in rows]


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """Tiny COLD / Weibo21 / SMS-spam lookalikes in the shared folder layout, different texts per split."""
    from training.data.sources import load_specs

    root = tmp_path_factory.mktemp("datasets")
    sms = []
    for split, texts in SPLITS.items():
        _write(root / "cold" / f"{split}.jsonl", _split(f"cold-{split}", texts["harass"], texts["safe"], 2))
        file = {"dev": "val"}.get(split, split)
        _write(root / "weibo21" / f"{file}.jsonl", _split(f"weibo21-{split}", texts["rumor"], texts["news"], 2))
        sms += _hashed("smsspam", split, _split("", texts["spam"], texts["ham"], 4 if split == "train" else 2),
                       load_specs()["sms_spam"].split_by_hash)
    _write(root / "sms_spam_cn_10k" / "all.jsonl", sms)
    return root


def tiny_recipe() -> dict:
    return {
        "model": {"type": "fast", "name": "tiny", "version": "1", "seed": 1},
        "data": {"sources": ["cold", "weibo21", "sms_spam"], "train_split": "train", "dev_split": "dev",
                 "test_split": "test", "cross_negative_weight": 0.3},
        "cleaning": {"evasion": True},
        "featurizer": {"n_features": 2**16},
        "classifier": {"C": 10.0, "max_iter": 200, "solver": "liblinear"},
        "calibration": {"method": "sigmoid"},
        "thresholds": {"rule": "f1"},
    }


@pytest.fixture(scope="session")
def tiny_model(tiny_root, tmp_path_factory) -> Path:
    from training.trainers.fast import train_fast

    out = tmp_path_factory.mktemp("models") / "tiny"
    train_fast(tiny_recipe(), out, root=tiny_root, log=lambda m: None)
    return out


@pytest.fixture(scope="session")
def second_model(tiny_root, tmp_path_factory) -> Path:
    """A second, differently regularised tiny fast model (the cascade's second member in tests)."""
    from training.trainers.fast import train_fast

    recipe = tiny_recipe()
    recipe["model"]["name"] = "tiny2"
    recipe["classifier"]["C"] = 0.05
    out = tmp_path_factory.mktemp("second") / "tiny2"
    train_fast(recipe, out, root=tiny_root, log=lambda m: None)
    return out


def write_toml(path: Path, recipe: dict) -> Path:
    """A recipe of plain tables (strings, numbers, lists) as TOML (JSON values are TOML values here)."""
    path.write_text("".join(f"[{section}]\n" + "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n"
                                                        for k, v in table.items()) + "\n"
                            for section, table in recipe.items()), encoding="utf-8")
    return path
