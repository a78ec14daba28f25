"""Subtypes of flagged risks (detector/model/subtypes.py, training/trainers/subtypes.py): tiny real texts."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from detector.text.cleaning import clean
from detector.scorers.features import Featurizer, FeaturizerConfig
from detector.text.segment import Segmenter
from detector.model.subtypes import SUBTYPES, SubtypeHead, chosen, subtypes_for
from training.trainers.subtypes import PAID_CATEGORIES, SubtypeConfig, SubtypeRows, fit_risk

INSULT = ["你就是个脑残", "这种人渣真恶心", "蠢货滚出去", "你全家都是废物", "傻逼一个"]
HATE = ["河南人都是骗子", "黑鬼滚回非洲", "女人就该在家待着", "小日本都该死", "东北人都是混混"]
THREAT = ["我要弄死你", "出门被车撞死吧", "全家死光", "找人弄你", "砍死他"]
DOX = "这个人的电话是13812345678，大家人肉他"


def tiny_head(featurizer) -> SubtypeHead:
    """A harassment head trained on five insults, five slurs and five threats (doxxing and
    defamation have no rows: scored by their intents alone)."""
    texts = [clean(t).text for t in INSULT + HATE + THREAT]
    y = np.zeros((15, 5), np.int8)
    y[:5, 0], y[5:10, 1], y[10:, 2] = 1, 1, 1
    cfg = SubtypeConfig(C=10.0)
    head = SubtypeHead({}, featurizer.config.n_features)
    L = head.intents.matrix(texts, list(SUBTYPES["harassment"]))
    head = SubtypeHead({"harassment": fit_risk("harassment", featurizer.transform(texts), L, y, cfg, 0)},
                       featurizer.config.n_features)
    return head


@pytest.fixture(scope="module")
def featurizer():
    f = Featurizer(FeaturizerConfig(n_features=2**14, extra=("harassment_lexicon",)), Segmenter())
    from detector.scorers.fast import extra_features
    f.extra = extra_features(f.config, {})
    return f.fit([clean(t).text for t in INSULT + HATE + THREAT + ["今天天气不错", "晚上一起吃饭吗"]])


def test_unknown_setting_is_an_error_that_names_it():
    with pytest.raises(ValueError, match="lexicon_wieght"):
        SubtypeConfig.from_dict({"lexicon_wieght": 2.0})


def test_paid_categories_map_onto_paid_subtypes():
    assert set(PAID_CATEGORIES.values()) == set(SUBTYPES["paid_posting"])


def test_head_names_the_subtype_of_its_training_texts(featurizer):
    head = tiny_head(featurizer)
    texts = [clean(t).text for t in ("你这个脑残废物", "河南人都是骗子", "我要弄死你")]
    p = head.proba("harassment", featurizer.transform(texts), texts)
    assert list(p.argmax(1)) == [0, 1, 2]
    assert head.heads["harassment"].trained.tolist() == [True, True, True, False, False]


def test_save_load_round_trip_gives_identical_scores(featurizer, tmp_path):
    head = tiny_head(featurizer)
    head.save(tmp_path)
    back = SubtypeHead.load(tmp_path)
    texts = [clean(t).text for t in ("蠢货", DOX, "你们这些东北人")]
    X = featurizer.transform(texts)
    np.testing.assert_allclose(back.proba("harassment", X, texts), head.proba("harassment", X, texts), rtol=1e-6)
    assert SubtypeHead.load(tmp_path / "nothing") is None


def test_subtypes_only_for_flagged_risks_each_with_score_and_evidence(featurizer):
    head = tiny_head(featurizer)
    cleaned = [clean(t) for t in ("你就是个脑残", "你就是个脑残", "河南人都是骗子")]
    out = subtypes_for(head, featurizer, cleaned, [["harassment"], [], ["rumor"]])
    assert out[1] == {} and out[2] == {}  # not flagged; a risk the head does not know
    subs = out[0]["harassment"]
    assert next(iter(subs)) == "insult"
    for d in subs.values():
        assert 0.0 <= d["score"] <= 1.0 and isinstance(d["evidence"], list)
    terms = [it["term"] for it in subs["insult"]["evidence"]]
    assert "脑残" in terms


def test_doxxing_carries_the_personal_data_next_to_its_target(featurizer):
    head = tiny_head(featurizer)
    ct = clean(DOX)
    subs = subtypes_for(head, featurizer, [ct], [["harassment"]])[0]["harassment"]
    assert "doxxing" in subs
    kinds = [it["kind"] for it in subs["doxxing"]["evidence"]]
    assert "pii:mobile" in kinds
    pii = next(it for it in subs["doxxing"]["evidence"] if it["kind"] == "pii:mobile")
    s, e = pii["spans"][0]
    assert DOX[s:e] == "13812345678" and pii["term"] == "138****5678"


def test_choice_keeps_the_best_subtype_and_those_over_threshold():
    assert chosen(["a", "b", "c"], np.array([0.2, 0.1, 0.3]), np.full(3, 0.5)) == [2]
    assert chosen(["a", "b", "c"], np.array([0.6, 0.1, 0.9]), np.full(3, 0.5)) == [2, 0]


def test_detector_gives_subtypes_when_its_folder_has_a_head(tiny_model, featurizer, tmp_path):
    from detector.model.core import Detector

    old = Detector.from_pretrained(tiny_model)
    texts = ["你就是个脑残，滚出去", "今天天气不错，出去走走"]
    assert all("subtypes" not in r for r in old.score(texts))  # an old folder: no subtypes
    folder = tmp_path / "with-head"
    shutil.copytree(tiny_model, folder)
    tiny_head(old.scorer.featurizer).save(folder)
    det = Detector.from_pretrained(folder)
    res = det.score(texts)
    for r in res:
        assert set(r["subtypes"]) == set(r["flags"]) & set(det.subtype_head.heads)
    assert "harassment" in res[0]["flags"] and res[0]["subtypes"]["harassment"]
    for d in res[0]["subtypes"]["harassment"].values():  # spans index the original text
        for it in d["evidence"]:
            s, e = it["spans"][0]
            assert texts[0][s:e] == it["term"], it
    det.save_pretrained(tmp_path / "again")
    assert SubtypeHead.load(tmp_path / "again") is not None


def test_training_recipe_with_a_subtypes_table_saves_a_head(tiny_root, tmp_path, monkeypatch):
    import training.trainers.subtypes as ts
    from tests.conftest import tiny_recipe
    from detector.model.core import Detector
    from training.trainers.fast import train_fast

    texts = [clean(t).text for t in INSULT + HATE]
    y = np.zeros((10, 5), np.int8)
    y[:5, 0], y[5:, 1] = 1, 1
    rows = SubtypeRows(texts, ["real"] * 10, {r: np.zeros(0, np.int64) for r in SUBTYPES} | {"harassment": np.arange(10)},
                       {r: np.zeros((0, len(s)), np.int8) for r, s in SUBTYPES.items()} | {"harassment": y})
    monkeypatch.setattr(ts, "load_rows", lambda cfg, role, root=None, evasion=True: rows)
    recipe = tiny_recipe() | {"subtypes": {"C": 4.0, "min_positives": 2}}
    train_fast(recipe, tmp_path / "m", root=tiny_root, log=lambda m: None)
    det = Detector.from_pretrained(tmp_path / "m")
    assert det.subtype_head is not None and det.subtype_head.heads["harassment"].trained[:2].all()


def test_a_head_that_cannot_be_read_as_it_is_names_the_file_and_key(featurizer, tmp_path):
    import json

    from detector.scorers.base import ModelFolderError

    tiny_head(featurizer).save(tmp_path)
    cfg = json.loads((tmp_path / "subtypes.json").read_text(encoding="utf-8"))
    cfg["risks"]["harassment"]["subtypes"][0] = "insults"
    (tmp_path / "subtypes.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(ModelFolderError, match="risks.harassment"):
        SubtypeHead.load(tmp_path)
    cfg["risks"]["harassment"]["subtypes"][0] = "insult"
    cfg["lexicons"]["harassment_lexicon.toml"] = "../elsewhere.toml"
    (tmp_path / "subtypes.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(ModelFolderError, match="outside the model folder"):
        SubtypeHead.load(tmp_path)
