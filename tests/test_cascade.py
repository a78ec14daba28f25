"""Cascade: the band is chosen on dev within the allowed loss and routes as little as it can;
routed posts get the second model's whole result; `jingwang model cascade` + `score --cascade`."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

import training.cli.model  # noqa: F401  (registers `jingwang model cascade`)
from detector.model.cascade import Cascade, cascade_config, in_band
from detector.model.core import Detector
from detector.batch.run import score_file
from tests.test_scale import read_jsonl, write_posts
from training.trainers.cascade import band_candidates, choose_band, macro_f1
from training.cli import app as _full_app

app = _full_app()

LABELS = ["rumor", "paid_posting", "harassment"]


def synthetic(n: int = 3000, seed: int = 0):
    """Fast scores noisy near 0.5, the second model nearly right; each row labels one risk."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, size=n)
    p1 = np.clip(truth[:, None] * 0.3 + 0.35 + rng.normal(0, 0.12, (n, 3)), 0, 1)
    p2 = np.clip(truth[:, None] * 0.8 + 0.1 + rng.normal(0, 0.05, (n, 3)), 0, 1)
    y = np.full((n, 3), np.nan)
    y[np.arange(n), np.arange(n) % 3] = truth
    other = np.isnan(y)  # a risk the row's source does not label: clearly negative for both models
    p1[other], p2[other] = rng.uniform(0, 0.1, other.sum()), rng.uniform(0, 0.1, other.sum())
    return p1, p2, y


def test_macro_f1_is_sklearns():
    rng = np.random.default_rng(1)
    y, pred = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    assert macro_f1(y, pred) == pytest.approx(f1_score(y, pred, average="macro"))


def test_band_candidates_contain_the_threshold_and_the_empty_band():
    p = np.linspace(0, 1, 101)
    cands = band_candidates(p, 0.4)
    assert None in cands and (0.0, 1.01) in cands
    assert all(b is None or b[0] <= 0.4 <= b[1] for b in cands)


def test_band_keeps_every_risk_within_the_loss_and_routes_less_than_everything():
    p1, p2, y = synthetic()
    t = {r: 0.5 for r in LABELS}
    band, report = choose_band(p1, p2, y, t, t, LABELS, max_loss=0.003)
    for r in LABELS:
        m = report["macro_f1"][r]
        assert m["cascade"] >= m["second"] - 0.003 - 1e-9 and m["fast"] < m["second"] - 0.05
        assert band[r] is not None and band[r][0] < 0.5 < band[r][1]
    assert 0.05 < report["routed_share"] < 0.95
    loose, rep2 = choose_band(p1, p2, y, t, t, LABELS, max_loss=0.05)
    assert rep2["routed_share"] < report["routed_share"]  # a larger allowed loss routes fewer posts
    assert in_band(p1, LABELS, band).mean() == pytest.approx(report["routed_share"])


def test_cascade_gives_routed_posts_the_second_models_whole_result(tiny_model, second_model):
    first, second = Detector.from_pretrained(tiny_model), Detector.from_pretrained(second_model)
    texts = ["兼职刷单日结，加微信", "今天天气不错，出去走走", "你就是个脑残，滚出去", "震惊！喝醋可以治愈新冠，转发保平安"]
    every = Cascade(first, second, {r: [0.0, 1.01] for r in LABELS})
    assert every.score(texts) == second.score(texts)
    none = Cascade(first, second, {r: None for r in LABELS})
    assert none.score(texts) == first.score(texts)
    p = first.predict_proba(texts)
    mid = float(np.median(p[:, 1]))
    some = Cascade(first, second, {"paid_posting": [mid, 1.01], "rumor": None, "harassment": None})
    got = some.score(texts)
    for i, res in enumerate(got):
        want = (second if p[i, 1] >= mid else first).score([texts[i]])[0]
        assert res == want
    assert some.routed == int((p[:, 1] >= mid).sum()) and 0 < some.routed < len(texts)


def test_model_cascade_and_score_cascade(tiny_model, second_model, tiny_root, tmp_path, monkeypatch):
    monkeypatch.setenv("JINGWANG_DATA", str(tiny_root))
    runner = CliRunner()
    r = runner.invoke(app, ["model", "cascade", "--fast", str(tiny_model), "--second", str(second_model),
                            "--out", str(tmp_path / "casc")])
    assert r.exit_code == 0, r.output
    cfg = cascade_config(tmp_path / "casc")
    assert cfg["first"] == "tiny@1" and set(cfg["band"]) == set(LABELS) and cfg["chosen_on"]["split"] == "dev"
    assert cfg["second_path"].endswith("tiny2")
    src = tmp_path / "in.jsonl"
    write_posts(src, 120, bad_every=50)
    for w in (1, 2):
        s = score_file(str(src), str(tiny_model), str(tmp_path / f"o{w}.jsonl"), cascade=str(tmp_path / "casc"),
                       batch_size=32, progress=False, workers=w)
        assert s.scored == 118
    assert (tmp_path / "o1.jsonl").read_bytes() == (tmp_path / "o2.jsonl").read_bytes()
    assert {x["model"] for x in read_jsonl(tmp_path / "o1.jsonl")} <= {"tiny@1", "tiny2@1"}
    r = runner.invoke(app, ["score", str(src), "-m", str(tiny_model), "-o", str(tmp_path / "x.jsonl"),
                            "--cascade", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "no cascade" in r.output and not (tmp_path / "x.jsonl").exists()
    json.loads((tmp_path / "casc" / "cascade.json").read_text())


@pytest.mark.parametrize("text,needle", [("{", "not valid JSON"), ('{"band": {}}', "missing key 'second'"),
                                         ('{"second": "m", "band": {"rumor": [0.2]}}', "'band' must map"),
                                         ('{"second": "m", "band": {"rumor": [0.5, 0.2]}}', "'band' must map"),
                                         ('{"second": "m", "band": {"rumor": [0.2, 1.5]}}', "'band' must map")])
def test_a_broken_cascade_file_is_one_sentence_naming_it(tmp_path, text, needle):
    from detector.model.cascade import cascade_config
    from detector.scorers.base import ModelFolderError

    (tmp_path / "cascade.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelFolderError) as e:
        cascade_config(tmp_path)
    assert str(tmp_path / "cascade.json") in str(e.value) and needle in str(e.value)


def test_band_sources_judge_each_risk_on_its_own_rows():
    """The band is judged on the rows `band.sources` names: where the fast model is wrong only on
    source b, choosing on b routes more posts than choosing on every row."""
    import numpy as np
    from training.trainers.cascade import choose_band, select_rows

    rng = np.random.default_rng(0)
    n = 4000
    source = np.array(["a"] * (n // 2) + ["b"] * (n // 2))
    y = (rng.random(n) < 0.3).astype(float)[:, None]
    p2 = np.where(y[:, 0] == 1, 0.9, 0.1)[:, None]               # the second model is right
    noise = np.where(source == "b", 0.35, 0.02)                    # the fast one only on a
    p1 = np.clip(p2[:, 0] + rng.normal(0, 1, n) * noise, 0, 1)[:, None]
    t = {"harassment": 0.5}
    every, _ = choose_band(p1, p2, y, t, t, ["harassment"], 0.003)
    on_b, _ = choose_band(p1, p2, select_rows(y, source, ["harassment"], {"harassment": ["b"]}),
                          t, t, ["harassment"], 0.003)
    width = lambda b: 0 if b is None else ((p1[:, 0] >= b[0]) & (p1[:, 0] < b[1])).mean()
    assert width(on_b["harassment"]) > width(every["harassment"])
    kept = select_rows(y, source, ["harassment"], {"harassment": ["b"]})
    assert np.isnan(kept[source == "a"]).all() and not np.isnan(kept[source == "b"]).any()
    with pytest.raises(ValueError, match="band.sources: no dev rows of c annotate 'harassment'"):
        select_rows(y, source, ["harassment"], {"harassment": ["c"]})


def test_bands_that_reach_the_top_still_hold_the_loss():
    from training.trainers.cascade import TOP, cascade_f1
    from detector.model.cascade import in_band

    p1, p2, y = synthetic(seed=3)
    t = {r: 0.5 for r in LABELS}
    band, report = choose_band(p1, p2, y, t, t, LABELS, max_loss=0.003, reach_top=True)
    for j, r in enumerate(LABELS):
        m = report["macro_f1"][r]
        assert band[r][1] == TOP and band[r][0] < 0.5           # every fast flag is re-checked
        assert m["cascade"] >= m["second"] - 0.003 - 1e-9       # and the re-check costs at most the loss
        # re-checking the flags alone (the band starting at the threshold) loses more than that here
        flags_only = cascade_f1(j, y, p1, p2, 0.5, 0.5, in_band(p1, LABELS, {q: (0.5, TOP) if q == r else None
                                                                               for q in LABELS}))
        assert flags_only < m["second"] - 0.003


def test_recheck_flags_routes_every_post_the_fast_model_would_flag():
    import numpy as np
    from detector.model.cascade import in_band
    from detector.model.flagging import flags_for, shown
    from training.trainers.cascade import recheck

    labels = ["rumor", "harassment"]
    t = {"rumor": 0.4537, "harassment": 0.4163}
    band = recheck({"rumor": (0.2, 0.6), "harassment": None}, t)
    p = np.array([[0.45366, 0.1], [0.9, 0.1], [0.1, 0.41626], [0.1, 0.99], [0.3, 0.1], [0.1, 0.3]])
    routed = in_band(p, labels, band)
    would_flag = np.array([bool(flags_for({r: shown(x) for r, x in zip(labels, row)}, t)) for row in p])
    assert would_flag[:4].all() and routed[:4].all()      # flags, incl. those rounding onto t
    assert routed[4] and not routed[5]                     # rumor's band kept its lower end


def test_a_band_up_to_the_top_loads(tmp_path):
    """The trainer writes hi = TOP (1.01) for a band that includes a score of 1 (the widest
    candidate, and every band with recheck_flags); the loader takes it."""
    from detector.model.cascade import TOP, cascade_config

    (tmp_path / "cascade.json").write_text(json.dumps({"second": "m", "band": {"rumor": [0.2, TOP], "harassment": None}}),
                                           encoding="utf-8")
    assert cascade_config(tmp_path)["band"]["rumor"] == [0.2, TOP]
