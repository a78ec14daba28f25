"""Fast scorer: features, training on a few rows, save -> load round trip, evidence spans."""
from __future__ import annotations

import json

import numpy as np
import pytest

from detector.model.core import Detector, ModelNotFoundError
from detector.scorers.features import Featurizer, FeaturizerConfig, feature_index
from detector.model.flagging import priority
from detector.text.segment import Segmenter
import scipy.sparse as sp

from training.recipe import Classifier
from training.data.splits import group_scale
from training.trainers.fast import fit_risk, nb_ratio, risk_weights


def test_feature_index_matches_sklearn_hasher():
    feat = Featurizer(FeaturizerConfig(n_features=2**12), Segmenter(None))
    text = "加微信刷单日结"
    X = feat.counts([text])
    expected = sorted({feature_index(f, 2**12) for f in feat.features(text)})
    assert sorted(X.indices.tolist()) == expected


def test_feature_spans_point_at_their_text():
    feat = Featurizer(FeaturizerConfig(), Segmenter(None))
    text = "有偿删帖 加微信"
    for f, s, e in feat.features_with_spans(text):
        kind, gram = f.split(":", 1)
        assert text[s:e].replace(" ", "") == gram.replace(" ", "")


def test_phonetic_view_gives_pinyin_and_characters_the_same_features():
    feat = Featurizer(FeaturizerConfig(pinyin_ngram_max=2, skeleton=True), Segmenter())
    sounds = lambda t: sorted(f for f in feat.features(t) if f.startswith("p:"))  # noqa: E731
    assert sounds("你是傻逼") == sounds("你是sha逼") == sounds("你是 sha bi") == sounds("尼是沙比")
    assert "p:sha bi" in sounds("你是傻逼")
    assert not any(f.startswith("p:") for f in Featurizer(FeaturizerConfig(), Segmenter()).features("你是傻逼"))


def test_tfidf_rows_are_unit_length():
    feat = Featurizer(FeaturizerConfig(n_features=2**14), Segmenter(None)).fit(["一二三", "三四五六", "七八"])
    X = feat.transform(["一二三四", "七八九"])
    assert np.allclose(np.sqrt(X.multiply(X).sum(axis=1)).A.ravel(), 1.0, atol=1e-5)


def test_cross_source_rows_become_weighted_negatives():
    y = np.array([1, 0, 0, np.nan, np.nan])
    target, weight, keep = risk_weights(y, 0.5)
    assert keep.all() and target.tolist() == [1, 0, 0, 0, 0]
    assert weight[3:].sum() == pytest.approx(0.5 * weight[1:3].sum())
    target, weight, keep = risk_weights(y, 0.0)
    assert keep.tolist() == [True, True, True, False, False]


def test_class_weight_balanced_weighs_each_class_half_and_none_weighs_rows_alike():
    y = np.array([1, 0, 0, 0, np.nan])
    _, balanced, _ = risk_weights(y, 0.0, balanced=True)
    assert balanced[0] == pytest.approx(balanced[1:4].sum()) == pytest.approx(2.0)
    _, plain, _ = risk_weights(y, 0.0, balanced=False)
    assert plain[:4].tolist() == [1.0, 1.0, 1.0, 1.0]
    rng = np.random.default_rng(1)
    X = sp.csr_matrix(rng.random((40, 6)))
    y = (rng.random(40) < 0.2).astype(float)
    a, b = (fit_risk(X, y, Classifier(class_weight=w), 0.0, 13) for w in ("balanced", "none"))
    assert a.intercept_[0] > b.intercept_[0]  # balancing lifts the rare positive class


def test_nb_ratio_favours_features_of_the_positive_class():
    # feature 0 only in positives, feature 1 only in negatives, feature 2 everywhere
    X = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1], [0, 0, 1]], float))
    y = np.array([1, 1, 0, 0, np.nan])  # the last row does not annotate the risk: ignored
    r = nb_ratio(X, y)
    assert r[0] > 0 > r[1] and abs(r[2]) < 1e-9


def test_group_cap_lets_one_campaign_weigh_as_much_as_cap_rows():
    y = np.array([1, 1, 1, 1, 0, 1, 1, np.nan])
    source = np.array(["real"] * 5 + ["team", "real", "real"])
    group = np.array(["雨姐", "雨姐", "雨姐", "雨姐", "雨姐", "雨姐", "", "other"], object)
    scale = group_scale(y, source, group, {"real": {"paid_posting": 2}}, "paid_posting")
    # four positives of one incident share 2 rows' weight; its negative, another source's row,
    # a row without incident and an unannotated row keep theirs
    assert scale.tolist() == [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert (group_scale(y, source, group, {"real": {"paid_posting": 2}}, "rumor") == 1).all()


def test_rows_added_to_a_split_keep_the_capped_campaigns_of_the_rows_before():
    from training.data.splits import Split

    base = Split(["a", "b"], np.array([[1.0], [1.0]]), np.array(["real", "real"]), np.array(["雨姐", "雨姐"], object))
    out = base.extend(["c"], np.array([[1.0]]), "reviewed")
    assert out.texts == ["a", "b", "c"] and out.source.tolist() == ["real", "real", "reviewed"]
    assert out.groups().tolist() == ["雨姐", "雨姐", ""]
    scale = group_scale(out.y[:, 0], out.source, out.groups(), {"real": 1}, "paid_posting")
    assert scale.tolist() == [0.5, 0.5, 1.0]


def test_a_capped_campaign_no_longer_makes_its_topic_word_a_feature():
    # columns: 0 the campaign's topic word (a name), 1 its slogan, 2 a contact lure, 3 everyday words
    campaign = [[1, 1, 0, 0]] * 30                       # 30 copies of one incident's PR line
    lures = [[0, 0, 1, 0]] * 10 + [[0, 1, 1, 0]] * 3      # ads, each from its own incident
    negatives = [[1, 0, 0, 1]] * 10 + [[0, 0, 0, 1]] * 90 # the incident's ordinary comments, others
    X = sp.csr_matrix(np.array(campaign + lures + negatives, float))
    y = np.array([1.0] * 43 + [0.0] * 100)
    group = np.array(["雨姐"] * 30 + [f"ad{i}" for i in range(13)] + ["雨姐"] * 10 + ["x"] * 90, object)
    counts = group_scale(y, np.array(["real"] * len(y)), group, {"real": 3}, "paid_posting")
    cfg = Classifier(C=4.0, nb_scale=0.5)
    plain, capped = fit_risk(X, y, cfg, 0.0, 13), fit_risk(X, y, cfg, 0.0, 13, counts=counts)
    name, slogan, lure = (sp.csr_matrix(np.eye(4)[[k]]) for k in range(3))
    assert capped.coef_[0, 0] < plain.coef_[0, 0] / 2
    assert capped.predict_proba(name)[0, 1] < plain.predict_proba(name)[0, 1] - 0.15
    assert min(m.predict_proba(slogan)[0, 1] for m in (plain, capped)) > 0.9  # the slogan is still learned
    assert capped.predict_proba(lure)[0, 1] > 0.95


def test_nb_scaled_model_scores_unscaled_features_like_a_model_fit_on_scaled_ones():
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(rng.random((60, 8)) * (rng.random((60, 8)) > 0.5))
    y = (X[:, 0].toarray().ravel() > 0).astype(float)
    clf = fit_risk(X, y, Classifier(C=4.0, nb_scale=0.5), 0.0, 13)
    d = np.abs(nb_ratio(X, y)) ** 0.5
    ref = fit_risk((X @ sp.diags(d)).tocsr(), y, Classifier(C=4.0), 0.0, 13)
    np.testing.assert_allclose(clf.decision_function(X), ref.decision_function((X @ sp.diags(d)).tocsr()), atol=1e-9)
    plain = fit_risk(X, y, Classifier(C=4.0), 0.0, 13)
    assert not np.allclose(plain.coef_, clf.coef_)


def test_trained_tiny_model_separates_posts_it_has_not_seen(tiny_model):
    from sklearn.metrics import roc_auc_score

    from tests.conftest import TEST, TRAIN
    from training.evaluation.metrics import binary_metrics

    det = Detector.from_pretrained(tiny_model)
    assert det.labels == ["rumor", "paid_posting", "harassment"]
    for risk, (pos, neg) in {"harassment": ("harass", "safe"), "rumor": ("rumor", "news"),
                             "paid_posting": ("spam", "ham")}.items():
        texts = TEST[pos] + TEST[neg]
        assert not set(texts) & set(TRAIN[pos] + TRAIN[neg])  # the test split's own texts
        y = np.array([1] * len(TEST[pos]) + [0] * len(TEST[neg]))
        p = det.predict_proba(texts)[:, det.labels.index(risk)]
        assert roc_auc_score(y, p) >= 0.9, risk  # new posts of a class rank above the other class's
        # at the threshold chosen on 10 dev posts, most of the 12 test posts land on their side
        assert binary_metrics(y, p, det.thresholds[risk])["macro_f1"] >= 0.7, risk


def test_save_load_round_trip_gives_identical_scores(tiny_model, tmp_path):
    det = Detector.from_pretrained(tiny_model)
    texts = ["震惊！喝醋可以治愈新冠，转发保平安", "兼职刷单日结，加微信", "你全家都是废物", "这本书写得很好"]
    before = det.score(texts)
    det.save_pretrained(tmp_path / "copy")
    after = Detector.from_pretrained(tmp_path / "copy").score(texts)
    assert [r["scores"] for r in before] == [r["scores"] for r in after]
    assert [r["evidence"] for r in before] == [r["evidence"] for r in after]


def test_model_folder_describes_itself(tiny_model):
    cfg = json.loads((tiny_model / "config.json").read_text())
    assert cfg["model_type"] == "fast" and set(cfg["thresholds"]) == set(cfg["labels"])
    assert "scikit-learn" in cfg["library_versions"] and cfg["recipe"]["classifier"]["C"] == 10.0
    assert set(cfg["data_sha256"]) == {"cold", "weibo21", "sms_spam"}
    metrics = json.loads((tiny_model / "metrics.json").read_text())
    assert set(metrics["test"]) == set(cfg["labels"])
    assert not list(tiny_model.glob("*.pkl")) and (tiny_model / "fast.safetensors").is_file()


def test_evidence_spans_index_the_original_text(tiny_model):
    det = Detector.from_pretrained(tiny_model)
    det.thresholds = {r: 0.0 for r in det.labels}  # flag everything so every risk has evidence
    text = "  你就是个&amp;脑残\u200b，滚出去 @某人 https://t.cn/abc  "
    (res,) = det.score([text])
    assert res["flags"]
    for risk, items in res["evidence"].items():
        for item in items:
            for s, e in item["spans"]:
                assert 0 <= s < e <= len(text)
                assert text[s:e].strip()


def test_priority_puts_flagged_above_unflagged():
    thr = {"a": 0.8, "b": 0.3}
    flagged = priority({"a": 0.1, "b": 0.31}, thr)
    unflagged = priority({"a": 0.79, "b": 0.29}, thr)
    assert flagged >= 0.5 > unflagged
    assert priority({"a": 0.95, "b": 0.0}, thr) > priority({"a": 0.85, "b": 0.0}, thr)


def test_unknown_model_path_says_so(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no model at"):
        Detector.from_pretrained(tmp_path / "nope")


def test_contacts_are_extracted_with_original_spans(tiny_model):
    det = Detector.from_pretrained(tiny_model)
    text = "兼职刷单日结，加 薇 信：abc_12345，或扣扣①②③④⑤⑥⑦，详情 https://t.cn/xyz"
    (res,) = det.score([text])
    kinds = {c["kind"] for c in res["contacts"]}
    assert {"contact:wechat", "contact:qq", "contact:url"} <= kinds, res["contacts"]
    for c in res["contacts"]:
        (s, e), = c["spans"]
        assert text[s:e].strip()
    qq = next(c for c in res["contacts"] if c["kind"] == "contact:qq")
    assert "①" in text[qq["spans"][0][0]:qq["spans"][0][1]]
    det.thresholds = {r: 0.0 for r in det.labels}
    (res,) = det.score([text])
    assert any(it.get("kind", "").startswith("contact:") for it in res["evidence"]["paid_posting"])


def test_evidence_terms_are_never_punctuation_only(tiny_model):
    det = Detector.from_pretrained(tiny_model)
    det.thresholds = {r: 0.0 for r in det.labels}
    (res,) = det.score(["！！！你就是个脑残，，，滚出去！！！"])
    terms = [it["term"] for items in res["evidence"].values() for it in items]
    assert terms and all(any(ch.isalnum() for ch in t) for t in terms), terms


# the featurizer before the one-pass refactor (issue 14), on these texts: sha256 of every text's
# sorted (feature, start, end) list, for the recipe's featurizer and for the plain default one
GOLDEN_TEXTS = ["你-就-是 sha逼!!", "加🔥微🔥信 abc_12345，日结 http://t.cn/xyz", "@某人 [捂脸] 可怕，可怕 123 ①②", "",
                "ＯＫ 好的～～ 尼玛", "有偿删帖找水军控评 v：wx888888"]
GOLDEN = {"recipe": ("14fde28ef5a8e4df34b97a6220382b9ec2bc2758d828edf86a9445878e1ac68d", 201),
          "plain": ("1f6db0917010db3d152bea8e802ed21790a552c5a95a70cfb623510556e04811", 301)}


def test_features_and_spans_are_those_of_the_featurizer_before_the_one_pass_refactor():
    import hashlib
    import tomllib
    from pathlib import Path

    from detector.text.cleaning import clean
    from detector.scorers.fast import extra_features
    from detector.text.segment import DEFAULT_USERDICT

    recipe = tomllib.loads((Path(__file__).parent.parent / "configs" / "fast.toml").read_text())["featurizer"]
    fcfg = FeaturizerConfig.from_dict({**recipe, "segmenter": "jieba"})
    feats = {"recipe": Featurizer(fcfg, Segmenter(DEFAULT_USERDICT), extra=extra_features(fcfg, {})),
             "plain": Featurizer(FeaturizerConfig(), Segmenter(None))}
    for name, feat in feats.items():
        items = [sorted(feat.features_with_spans(clean(t).text)) for t in GOLDEN_TEXTS]
        digest = hashlib.sha256(json.dumps(items, ensure_ascii=False).encode()).hexdigest()
        assert (digest, sum(map(len, items))) == GOLDEN[name], name


def test_one_pass_counts_are_the_hashers_counts_of_each_texts_features():
    from sklearn.feature_extraction import FeatureHasher

    feat = Featurizer(FeaturizerConfig(n_features=2**12, skeleton=True, pinyin_ngram_max=3, text_only=True,
                                       atomic_placeholders=True), Segmenter(None))
    texts = ["加微信刷单日结", "", "[URL] 你好 你好", "哈哈哈哈哈哈", "sha逼 123"]
    ref = FeatureHasher(n_features=2**12, input_type="string", alternate_sign=False).transform(
        feat.features(t) for t in texts)
    batch = feat.analyze(texts)
    assert (feat.batch_counts(batch) != ref).nnz == 0 and (feat.counts(texts) != ref).nnz == 0
    assert batch.indptr.tolist() == np.cumsum([0] + [len(feat.features(t)) for t in texts]).tolist()
    spans = [(int(s), int(e)) for s, e in zip(batch.starts, batch.ends)]
    assert spans == [(s, e) for t in texts for _, s, e in feat.features_with_spans(t)]


def test_scores_of_the_one_pass_equal_predict_proba(tiny_model):
    det = Detector.from_pretrained(tiny_model)
    texts = ["震惊！喝醋可以治愈新冠，转发保平安", "兼职刷单日结，加微信", "你全家都是废物", "", "这本书写得很好"] * 3
    p = det.predict_proba(texts)
    cleaned = det.clean(texts)
    np.testing.assert_array_equal(det.gate(det.scorer.batch_proba(det.scorer.analyze(cleaned)), cleaned), p)
    for res, row in zip(det.score(texts), p):
        assert res["scores"] == {r: round(float(x), 4) for r, x in zip(det.labels, row)}


def test_numpy_murmurhash_is_sklearns_on_any_text():
    import random

    from sklearn.utils import murmurhash3_32

    from detector.scorers.hashing import hashed_columns, murmur3_32

    rng = random.Random(0)
    alphabet = "ab z你好恶心🔥①é\u3000[]:\x00"
    names = ["", "a", "ab", "abc", "abcd", "abcde", "w:加 微信"]
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    for batch in (names, [n for n in names if "\x00" not in n], names[4:5]):  # NUL takes the slow path
        ref = [murmurhash3_32(s, seed=0, positive=False) for s in batch]
        assert murmur3_32(batch).tolist() == ref
        assert hashed_columns(batch, 2**20).tolist() == [abs(h) % 2**20 for h in ref]
    assert feature_index("c:你好", 2**20) == abs(murmurhash3_32("c:你好", seed=0, positive=False)) % 2**20


def test_scoring_does_not_import_scikit_learn(tiny_model):
    import subprocess
    import sys

    code = ("import sys; from detector.model.core import Detector; "
            f"Detector.from_pretrained({str(tiny_model)!r}).score(['兼职刷单日结，加微信 13812345678']); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_model_trained_with_rjieba_records_it_and_segments_with_it_after_loading(tiny_root, tmp_path):
    from tests.conftest import tiny_recipe
    from training.trainers.fast import train_fast

    recipe = tiny_recipe()
    recipe["featurizer"] = {**recipe["featurizer"], "segmenter": "rjieba"}
    train_fast(recipe, tmp_path / "rj", root=tiny_root, log=lambda m: None)
    assert json.loads((tmp_path / "rj" / "config.json").read_text())["scorer"]["featurizer"]["segmenter"] == "rjieba"
    det = Detector.from_pretrained(tmp_path / "rj")
    assert det.scorer.featurizer.segmenter.kind == "rjieba"
    texts = ["你就是个脑残，滚出去", "兼职刷单日结，加微信"]
    det.save_pretrained(tmp_path / "copy")
    assert Detector.from_pretrained(tmp_path / "copy").score(texts) == det.score(texts)
