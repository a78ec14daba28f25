"""Shared fixtures: tiny hand-written datasets in the shared layout, and a fast model trained on them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared" / "datasets"

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


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _split(prefix: str, pos: list[str], neg: list[str], rep: int) -> list[dict]:
    rows = [{"text": t, "label": 1} for t in pos] * rep + [{"text": t, "label": 0} for t in neg] * rep
    return [{"id": f"{prefix}-{i}", **r} for i, r in enumerate(rows)]


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """Tiny COLD / Weibo21 / SMS-spam lookalikes in the shared folder layout."""
    root = tmp_path_factory.mktemp("datasets")
    for split in ("train", "dev", "test"):
        _write(root / "cold" / f"{split}.jsonl", _split(f"cold-{split}", HARASS, SAFE, 2))
    for split, file in (("train", "train"), ("dev", "val"), ("test", "test")):
        _write(root / "weibo21" / f"{file}.jsonl", _split(f"weibo21-{split}", RUMOR, NEWS, 2))
    _write(root / "sms_spam_cn_10k" / "all.jsonl", _split("smsspam", SPAM, HAM, 8))
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
