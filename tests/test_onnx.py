"""ONNX export: fp32 ONNX gives the torch probabilities, int8 stays close, the tokenizer matches
the Hugging Face one, evidence spans are in the original text, length bucketing covers every
text once, `jingwang model export-onnx` writes a folder `jingwang score` loads."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import training.cli.model  # noqa: F401  (registers `jingwang model export-onnx`)
from detector.model.core import Detector
from detector.scorers.onnx import ModelCheckError
from detector.scorers.padding import length_buckets
from training.cli import app as _full_app

app = _full_app()
from training.export.onnx import REFERENCE_TEXTS, export_onnx
from training.trainers.transformer import train_transformer

TEXTS = ["震惊！喝醋可以治愈新冠，转发保平安", "兼职刷单日结，加微信", "你全家都是废物", "这本书写得很好", "明天记得带伞",
         "长" * 300, "<b>你全家</b>都是废物！！ http://t.cn/abc", "加-微-信 刷单 ①③⑤"]


@pytest.fixture(scope="module")
def tiny_transformer(tiny_root, tmp_path_factory):
    from tests.test_transformer import tiny_transformer_recipe

    out = tmp_path_factory.mktemp("onnx-src") / "tiny-transformer"
    train_transformer(tiny_transformer_recipe(), out, log=lambda m: None, root=tiny_root)
    return out


@pytest.fixture(scope="module")
def exported(tiny_transformer, tmp_path_factory):
    base = tmp_path_factory.mktemp("onnx")
    return {"fp32": export_onnx(tiny_transformer, base / "fp32", int8=False, log=lambda m: None),
            "int8": export_onnx(tiny_transformer, base / "int8", log=lambda m: None)}


def test_fp32_onnx_gives_the_torch_probabilities_and_int8_stays_close(tiny_transformer, exported):
    """On every x86-64 CPU, VNNI or not: the int8 export's u8 weights never meet the 16-bit sums
    of AVX2's u8 x s8 kernel (full-range s8 weights moved this model's probabilities by 0.43 on an
    AVX2-only CPU; u8 gives 0.027 there and here: benchmarks/onnx_int8_tiny.py)."""
    torch_p = Detector.from_pretrained(tiny_transformer).predict_proba(TEXTS)
    fp32 = Detector.from_pretrained(exported["fp32"])
    int8 = Detector.from_pretrained(exported["int8"])
    assert fp32.scorer.model_type == "onnx" and fp32.labels == ["rumor", "paid_posting", "harassment"]
    np.testing.assert_allclose(fp32.predict_proba(TEXTS), torch_p, atol=1e-5)
    cfg = json.loads((exported["int8"] / "config.json").read_text())
    assert np.abs(int8.predict_proba(TEXTS) - torch_p).max() < cfg["scorer"]["reference_tolerance"] == 0.05
    assert fp32.thresholds == Detector.from_pretrained(tiny_transformer).thresholds
    assert cfg["scorer"]["onnx"] == "model.int8.onnx" and cfg["scorer"]["quantization"].startswith("dynamic-int8")
    settings = cfg["scorer"]["quantization_settings"]
    assert settings["reduce_range"] is False and settings["weights"] == "u8" and settings["per_channel"]
    assert not (exported["int8"] / "model.onnx").exists()


def test_the_reference_outputs_are_the_source_models_and_load_checks_them(tiny_transformer, exported):
    src = Detector.from_pretrained(tiny_transformer)
    ref = json.loads((exported["int8"] / "reference.json").read_text(encoding="utf-8"))
    assert ref["labels"] == src.labels and len(ref["texts"]) >= 10
    # the scorer's own probabilities (the load check compares scorers; the content gate comes after)
    np.testing.assert_allclose(ref["probabilities"], src.scorer.predict_proba(src.clean(REFERENCE_TEXTS)), atol=1e-5)
    gap = Detector.from_pretrained(exported["int8"]).scorer.reference_gap(exported["int8"] / "reference.json")
    assert 0 < gap < 0.05


def test_a_folder_that_does_not_reproduce_its_reference_refuses_to_load(exported, tmp_path):
    """What a user with a full-range int8 export sees on a CPU without VNNI (simulated here by
    moving the stored reference, since this machine's int8 arithmetic may be exact)."""
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(exported["int8"], bad)
    ref = json.loads((bad / "reference.json").read_text(encoding="utf-8"))
    ref["probabilities"] = [[min(1.0, p + 0.3) if p < 0.5 else p - 0.3 for p in row] for row in ref["probabilities"]]
    (bad / "reference.json").write_text(json.dumps(ref), encoding="utf-8")
    with pytest.raises(ModelCheckError) as e:
        Detector.from_pretrained(bad)
    msg = str(e.value)
    assert str(bad) in msg and "refuses to load" in msg and "tolerance 0.05" in msg and msg.count(". ") == 0
    r = CliRunner().invoke(app, ["score", "-", "-m", str(bad), "-o", str(tmp_path / "o.jsonl")], input='{"id":1,"text":"x"}\n')
    assert r.exit_code == 2 and "refuses to load" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o.jsonl").exists()
    cfg = json.loads((bad / "config.json").read_text())
    cfg["scorer"]["reference_tolerance"] = 0.9  # a user who accepts the drift says so in the folder
    (bad / "config.json").write_text(json.dumps(cfg))
    assert Detector.from_pretrained(bad).labels == ["rumor", "paid_posting", "harassment"]


def test_export_rejects_a_bad_weight_type_or_tolerance(tiny_transformer, tmp_path):
    with pytest.raises(ValueError, match="weight type"):
        export_onnx(tiny_transformer, tmp_path / "a", weight_type="s4", log=lambda m: None)
    with pytest.raises(ValueError, match="tolerance"):
        export_onnx(tiny_transformer, tmp_path / "b", tolerance=0, log=lambda m: None)


def test_onnx_tokenizer_matches_the_hf_tokenizer_with_truncation(tiny_transformer, exported):
    ref = Detector.from_pretrained(tiny_transformer).scorer
    onnx = Detector.from_pretrained(exported["fp32"]).scorer
    cleaned = [c.text for c in Detector.from_pretrained(tiny_transformer).clean(TEXTS)]
    assert onnx.tokenize(cleaned) == ref.tokenize(cleaned)
    assert max(len(x) for x in onnx.tokenize(cleaned)) == ref.max_length


def test_batches_and_order_do_not_change_fp32_scores(exported):
    det = Detector.from_pretrained(exported["fp32"])
    det.scorer.batch_size = 2
    together = det.predict_proba(TEXTS)
    one_by_one = np.concatenate([det.predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(det.predict_proba(TEXTS[::-1]), together[::-1], atol=1e-5)


def test_length_buckets_cover_every_text_once_within_limits():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 65, size=500).tolist()
    buckets = length_buckets(lengths, batch_size=32, max_tokens=600)
    assert sorted(i for b in buckets for i in b) == list(range(500))
    for b in buckets:
        assert len(b) <= 32 and (len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 600)
    assert all(max(lengths[i] for i in a) <= min(lengths[i] for i in b) for a, b in zip(buckets, buckets[1:]))


def test_onnx_evidence_spans_are_in_the_original_text(exported):
    det = Detector.from_pretrained(exported["int8"])
    det.thresholds = {r: 0.0 for r in det.labels}
    posts = ["<p>兼职刷单日结，加微信</p>", "<b>你全家</b>都是废物！！ http://t.cn/abc"]
    n = 0
    for post, res in zip(posts, det.score(posts)):
        assert set(res["evidence"]) == set(det.labels)
        for items in res["evidence"].values():
            for item in (i for i in items if not i.get("kind", "").startswith("contact:")):
                n += 1
                for s, e in item["spans"]:
                    assert post[s:e] == item["term"] or (item["term"] == "URL" and post[s:e].startswith("http"))
    assert n > 0


def test_export_cli_and_score_with_the_onnx_model(tiny_transformer, tiny_model, tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["model", "export-onnx", str(tiny_model), "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "transformer model" in r.output
    r = runner.invoke(app, ["model", "export-onnx", str(tiny_transformer), "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(TEXTS)),
                   encoding="utf-8")
    r = runner.invoke(app, ["score", str(src), "-m", str(tmp_path / "m"), "-o", str(tmp_path / "o.jsonl"), "--no-evidence"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(TEXTS) and all(x["model"] == "transformer-tiny@1" for x in rows)


def test_onnx_model_saves_and_loads_elsewhere(exported, tmp_path):
    det = Detector.from_pretrained(exported["int8"])
    det.save_pretrained(tmp_path / "copy")
    again = Detector.from_pretrained(tmp_path / "copy")
    np.testing.assert_array_equal(again.predict_proba(TEXTS), det.predict_proba(TEXTS))
    assert (tmp_path / "copy" / "model.int8.onnx").is_file()
