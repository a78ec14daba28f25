"""Evaluation: numpy metrics against scikit-learn, bootstrap intervals, thresholds for a target
precision, paired significance tests, calibration, evaluate_file with perturbations and comparison."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from typer.testing import CliRunner

from detector.scorers.calibration import Calibrator, sigmoid
from detector.model.core import Detector
from tests.conftest import HARASS, SAFE
from training.trainers.calibrate import calibration_study, fit_calibrator, uncalibrated_proba
from training.cli import app as _full_app

app = _full_app()
from training.evaluation.evaluate import evaluate_file, perturb_kinds
from training.evaluation.metrics import bootstrap_ci, ece, fast_metrics, threshold_for_precision
from training.datagen.perturb import PERTURBATIONS
from training.evaluation.significance import mcnemar, paired_bootstrap

BASE_KEYS = {"n", "accuracy", "macro_f1", "precision", "recall", "f1", "roc_auc", "pr_auc", "ece", "threshold"}


def _noisy(n: int = 600, seed: int = 0, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + rng.random(n) * 0.65, 0, 1)
    return y, (np.round(p, 1) if ties else p)


@pytest.mark.parametrize("ties", [False, True])
def test_fast_metrics_match_sklearn(ties):
    y, p = _noisy(ties=ties)
    m = fast_metrics(y, p, 0.5)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert m["macro_f1"] == pytest.approx(f1_score(y, p >= 0.5, average="macro"), abs=1e-12)


def test_bootstrap_interval_holds_the_estimate_and_shrinks_with_more_rows():
    y, p = _noisy(200)
    small = bootstrap_ci(y, p, 0.5, n_boot=300)
    yb, pb = _noisy(5000, seed=1)
    big = bootstrap_ci(yb, pb, 0.5, n_boot=300)
    m = fast_metrics(y, p, 0.5)
    for k, (lo, hi) in small.items():
        assert lo <= m[k] <= hi, k
        assert big[k][1] - big[k][0] < hi - lo, k
    assert bootstrap_ci(y, p, 0.5, n_boot=300) == small  # same seed, same interval


def test_threshold_for_precision_is_the_lowest_reaching_it():
    y = np.array([1, 1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1])
    assert threshold_for_precision(y, p, 0.75)["threshold"] == 0.6  # 3 of 4 flagged are risky
    assert threshold_for_precision(y, p, 1.0)["threshold"] == 0.8
    assert threshold_for_precision(np.array([0, 0]), np.array([0.9, 0.1]), 0.5) is None


def test_paired_bootstrap_finds_a_real_difference_and_no_fake_one():
    y, p = _noisy(400)
    same = paired_bootstrap(y, p, 0.5, p, 0.5, n_boot=200)
    assert same["macro_f1"]["diff"] == 0 and same["macro_f1"]["p_value"] == 1.0
    better = np.where(y == 1, 0.9, 0.1)
    res = paired_bootstrap(y, p, 0.5, better, 0.5, n_boot=400)
    assert res["macro_f1"]["diff"] > 0.1 and res["macro_f1"]["p_value"] < 0.01
    assert res["macro_f1"]["ci"][0] > 0


def test_mcnemar_exact():
    y = np.ones(20, int)
    a = np.r_[np.ones(10), np.zeros(10)]
    assert mcnemar(y, a, np.zeros(20))["p_value"] == pytest.approx(2 * 0.5 ** 10)
    assert mcnemar(y, a, a)["p_value"] == 1.0


def test_temperature_undoes_overconfidence_and_lowers_ece():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 2, 20000)
    y = (rng.random(20000) < sigmoid(true_logit)).astype(int)
    z = 3.0 * true_logit  # three times too sure
    cal = fit_calibrator(z, y, "temperature")
    assert cal.a == pytest.approx(1 / 3, rel=0.08)
    assert ece(y, cal(z)) < 0.02 < ece(y, sigmoid(z))


def test_uncalibrated_proba_is_the_model_with_identity_calibrators(tiny_model):
    det = Detector.from_pretrained(tiny_model)
    texts = HARASS + SAFE
    before = uncalibrated_proba(det, texts, "harassment")
    det.scorer.calibrators_ = [Calibrator("identity") for _ in det.labels]
    assert np.allclose(before, det.predict_proba(texts)[:, det.labels.index("harassment")])


def test_calibration_study_measures_every_method(tiny_model, tiny_root):
    study = calibration_study(tiny_model, ["cold", "weibo21"], root=tiny_root)
    assert set(study["harassment"]) == {"identity", "sigmoid", "temperature", "isotonic"}
    assert set(study["harassment"]["temperature"]) == {"dev", "cold"}
    assert set(study["rumor"]["identity"]) == {"dev", "weibo21"}
    assert all(0 <= v <= 1 for v in study["harassment"]["isotonic"].values())


def _data(tmp_path):
    path = tmp_path / "eval.jsonl"
    rows = [{"text": t, "label": 1} for t in HARASS] + [{"text": t, "label": 0} for t in SAFE]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_evaluate_file_adds_keys_and_writes_the_report(tiny_model, tmp_path):
    m = evaluate_file(tiny_model, _data(tmp_path), "harassment", tmp_path / "ev", n_boot=50)["harassment"]
    assert BASE_KEYS <= set(m)
    assert {"ci", "confusion", "ece_uncalibrated", "target_precision", "threshold_table"} <= set(m)
    c = m["confusion"]
    assert c["tp"] + c["fp"] + c["tn"] + c["fn"] == m["n"] == 12
    assert m["ci"]["accuracy"][0] <= m["accuracy"] <= m["ci"]["accuracy"][1]
    assert any(r["note"] == "model threshold" for r in m["threshold_table"])
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text(encoding="utf-8"))
    assert list(saved) == ["harassment"] and saved["harassment"]["n"] == 12
    assert (tmp_path / "ev" / "report.html").stat().st_size > 10_000


def test_perturb_and_compare(tiny_model, tmp_path):
    m = evaluate_file(tiny_model, _data(tmp_path), "harassment", tmp_path / "ev", perturb=["emoji,zero-width"],
                      compare=tiny_model, report=False, n_boot=50)["harassment"]
    assert list(m["robustness"]) == ["clean", "emoji", "zero-width"]
    assert {"recall", "macro_f1", "recall_change"} <= set(m["robustness"]["emoji"])
    cmp = m["compare"]
    assert cmp["metrics"]["macro_f1"]["diff"] == 0 and cmp["metrics"]["macro_f1"]["p_value"] == 1.0
    assert cmp["mcnemar"]["only_a_correct"] == cmp["mcnemar"]["only_b_correct"] == 0
    assert not (tmp_path / "ev" / "report.html").exists()


def test_perturb_kinds():
    assert perturb_kinds(["all"]) == list(PERTURBATIONS)
    assert perturb_kinds(["pinyin", "pinyin,split"]) == ["pinyin", "split"]
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb_kinds(["leet"])


def test_cli_evaluate_options(tiny_model, tmp_path):
    runner = CliRunner()
    args = ["evaluate", str(tiny_model), str(_data(tmp_path)), "--risk", "harassment", "--out", str(tmp_path / "o"),
            "--bootstrap", "20", "--target-precision", "0.8"]
    r = runner.invoke(app, args + ["--perturb", "traditional", "--compare", str(tiny_model), "--no-report"])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "o" / "metrics.json").read_text(encoding="utf-8"))["harassment"]
    assert m["target_precision"]["target"] == 0.8 and "traditional" in m["robustness"] and "compare" in m
    assert not (tmp_path / "o" / "report.html").exists()
    r = runner.invoke(app, args + ["--perturb", "leet"])
    assert r.exit_code == 2 and "unknown perturbation" in r.output
    r = runner.invoke(app, args + ["--compare", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "no model" in r.output


def test_one_class_data_gives_null_aucs_not_a_crash(tiny_model, tmp_path):
    data = tmp_path / "pos.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": 1}, ensure_ascii=False) + "\n" for t in HARASS),
                    encoding="utf-8")
    r = CliRunner().invoke(app, ["evaluate", str(tiny_model), str(data), "--risk", "harassment",
                                 "--out", str(tmp_path / "o"), "--bootstrap", "20"])
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / "o" / "metrics.json").read_text(encoding="utf-8"))["harassment"]
    assert m["roc_auc"] is None and m["ci"]["roc_auc"] == [None, None] and m["n"] == len(HARASS)


def test_evaluate_every_risk_by_slice_with_predictions(tiny_model, tmp_path):
    from tests.conftest import HARASS, RUMOR, SAFE

    rows = ([{"id": f"h{i}", "text": t, "rumor": 0, "harassment": 1, "platform": "wb"} for i, t in enumerate(HARASS)]
            + [{"id": f"r{i}", "text": t, "rumor": 1, "harassment": 0, "platform": "dy"} for i, t in enumerate(RUMOR)]
            + [{"id": f"s{i}", "text": t, "rumor": 0, "harassment": 0, "platform": "dy"} for i, t in enumerate(SAFE)])
    data = tmp_path / "multi.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    m = evaluate_file(tiny_model, data, "all", tmp_path / "ev", report=False, n_boot=20, by="platform",
                      predictions=tmp_path / "pred.jsonl")
    assert set(m) == {"rumor", "harassment", "all_risks"}  # paid_posting: no row labels it
    assert m["harassment"]["n"] == 18 and m["harassment"]["positives"] == 6
    assert set(m["harassment"]["by"]) == {"wb", "dy"} and m["harassment"]["by"]["wb"]["n"] == 6
    assert m["all_risks"]["flags"] == m["rumor"]["flags"] + m["harassment"]["flags"]
    assert 0 <= m["harassment"]["false_flags_per_1000"] <= 1000 and "flag_rate" in m["rumor"]["ci"]
    pred = [json.loads(x) for x in (tmp_path / "pred.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [p["id"] for p in pred] == [r["id"] for r in rows] and pred[0]["platform"] == "wb"
    assert set(pred[0]["scores"]) == {"rumor", "harassment"} and pred[0]["labels"] == {"rumor": 0, "harassment": 1}
    runner = CliRunner()
    r = runner.invoke(app, ["evaluate", str(tiny_model), str(data), "--risk", "all", "--out", str(tmp_path / "o"),
                            "--by", "nope", "--no-report"])
    assert r.exit_code == 2 and "no column 'nope'" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "harassment": 2}\n', encoding="utf-8")
    r = runner.invoke(app, ["evaluate", str(tiny_model), str(bad), "--risk", "all", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "record 1: harassment must be 0 or 1" in r.output
    r = runner.invoke(app, ["evaluate", str(tiny_model), "nosuch:eval", "--risk", "all", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "unknown dataset 'nosuch'" in r.output


def test_evaluation_counts_the_flags_score_writes(tiny_model):
    """A post whose probability is a hair under the threshold but rounds onto it is flagged by
    `jingwang score` (scores are written and flagged at 4 decimals): evaluation must count it too."""
    from training.evaluation.evaluate import risk_proba

    det = Detector.from_pretrained(tiny_model)
    texts = HARASS + SAFE
    raw = det.predict_proba(texts)[:, det.labels.index("harassment")]
    i = next(k for k, p in enumerate(raw) if 0 < round(float(p), 4) - float(p))  # rounds up
    det.thresholds["harassment"] = round(float(raw[i]), 4)
    assert raw[i] < det.thresholds["harassment"]
    assert "harassment" in det.score([texts[i]])[0]["flags"]
    assert risk_proba(det, [texts[i]], "harassment")[0] >= det.thresholds["harassment"]
    from training.evaluation.evaluate import evaluate_set

    y = np.array([1] * len(HARASS) + [0] * len(SAFE))
    ev = evaluate_set(det, "tiny", texts, y, "harassment", n_boot=0, k_examples=0)  # the fast path
    assert ev.p[i] >= det.thresholds["harassment"]
    flagged = [k for k, t in enumerate(texts) if "harassment" in det.score([t])[0]["flags"]]
    assert flagged == list(np.flatnonzero(ev.p >= det.thresholds["harassment"]))


def test_every_risk_of_one_set_is_scored_in_one_pass(tiny_model):
    from training.evaluation.evaluate import risk_proba

    det = Detector.from_pretrained(tiny_model)
    calls, real = [], det.predict_proba
    det.predict_proba = lambda texts: calls.append(len(texts)) or real(texts)
    texts = HARASS + SAFE
    got = {r: risk_proba(det, texts, r) for r in det.labels}
    assert calls == [len(texts)]
    for j, r in enumerate(det.labels):
        assert np.allclose(got[r], real(texts)[:, j], atol=5e-5)
    risk_proba(det, texts[:3], "harassment")  # other texts: scored again
    assert calls == [len(texts), 3]


def test_evaluate_tables_fit_80_columns(tiny_model, tmp_path):
    from tests.conftest import HARASS, RUMOR, SAFE

    rows = ([{"text": t, "rumor": 0, "harassment": 1, "platform": "weibo-comments"} for t in HARASS]
            + [{"text": t, "rumor": 1, "harassment": 0, "platform": "douyin"} for t in RUMOR]
            + [{"text": t, "rumor": 0, "harassment": 0, "platform": "douyin"} for t in SAFE])
    data = tmp_path / "multi.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    r = CliRunner().invoke(app, ["evaluate", str(tiny_model), str(data), "--risk", "all", "--by", "platform",
                                 "--out", str(tmp_path / "o"), "--bootstrap", "20", "--no-report"],
                           env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert "harassment by slice" in r.output and "0." in r.output
    assert "…" not in r.output  # no number cut short
    assert max(map(len, r.output.splitlines())) <= 80, r.output
