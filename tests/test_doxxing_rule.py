"""The doxxing rule: personal data next to a target, with an exposure word, is a harassment flag
whatever the model says; the same data without a target or an exposure word is not."""
import json

import numpy as np

from detector.model.core import DOXXING_FLOOR, Detector
from detector.text.pii import exposes

DOXXING = [
    "大家人肉他，他叫张伟，身份证110101199003074573，住在朝阳区望京花园3号楼",
    "开盒了，这女的手机号13987654321，家住海淀区学院路20号",
    "这是那个打人司机的住址和电话，扩散：长沙市岳麓区麓山南路8号，13700001111",
]
NOT_DOXXING = [
    "加我微信abc123，电话13812345678，好评返现",      # an ad's own contact: no target
    "我家住海淀区学院路20号，欢迎来玩",                # one's own address
    "老板的电话13800001111，订餐请拨打",               # a target, no exposure word
    "大家去人肉他吧，太过分了",                        # an exposure word, no personal data
]


def test_the_rule_fires_on_doxxing_only():
    assert all(exposes(t) for t in DOXXING)
    assert not any(exposes(t) for t in NOT_DOXXING)


def test_doxxing_posts_are_harassment_flags(tiny_model, tmp_path):
    det = Detector.from_pretrained(tiny_model)
    j = det.labels.index("harassment")
    p = det.predict_proba(DOXXING + NOT_DOXXING)
    assert (p[:len(DOXXING), j] >= max(DOXXING_FLOOR, det.thresholds["harassment"])).all()
    for res in det.score(DOXXING):
        assert "harassment" in res["flags"]
    # switched off in config.json: the model's own scores
    cfg_path = next(tiny_model.rglob("config.json")) if not (tiny_model / "config.json").exists() else tiny_model / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    off = Detector(det.scorer, det.thresholds, cfg | {"doxxing_rule": False})
    raw = off.predict_proba(DOXXING + NOT_DOXXING)
    assert np.allclose(raw[len(DOXXING):], p[len(DOXXING):])   # other posts untouched
    assert (raw[:len(DOXXING), j] < p[:len(DOXXING), j]).any()


def test_evaluate_sees_the_doxxing_floor_as_scoring_does(tiny_model):
    """evaluate's one-pass probabilities (calibrated and not) pass through the Detector's gate."""
    from training.trainers.calibrate import proba_and_uncalibrated

    det = Detector.from_pretrained(tiny_model)
    j = det.labels.index("harassment")
    texts = DOXXING + NOT_DOXXING + ["[捂脸][捂脸]", "哈哈哈"]
    cal, unc = proba_and_uncalibrated(det, texts, "harassment")
    assert np.allclose(cal, det.predict_proba(texts)[:, j])
    assert (unc[:len(DOXXING)] >= DOXXING_FLOOR).all()
