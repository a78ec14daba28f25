"""Transformer scorer: masked loss, source balancing, batching, a tiny model trained for two
steps, save -> load round trip, evidence spans in the original text."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import AutoTokenizer

from detector.model.core import Detector
from training.trainers.transformer import build_encoder, freeze_embeddings, masked_bce, train_transformer
from training.data.transformer_batches import (build_char_tokenizer, epoch_indices, length_grouped_batches,
                                       loss_targets, source_weights)

PROJECT = Path(__file__).resolve().parent.parent
TEXTS = ["震惊！喝醋可以治愈新冠，转发保平安", "兼职刷单日结，加微信", "你全家都是废物", "这本书写得很好", "明天记得带伞"]


def tiny_transformer_recipe() -> dict:
    with open(PROJECT / "configs" / "transformer-tiny.toml", "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def tiny_transformer(tiny_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tmodels") / "tiny-transformer"
    train_transformer(tiny_transformer_recipe(), out, log=lambda m: None, root=tiny_root)
    return out


def test_masked_bce_gives_masked_entries_no_loss_and_no_gradient():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.3, 1.5, -2.0]], requires_grad=True)
    labels = torch.tensor([[1.0, float("nan"), 0.0], [0.0, 1.0, float("nan")]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    loss = masked_bce(logits, labels, mask)
    loss.backward()
    assert torch.isfinite(loss)
    counted = torch.tensor([[True, False, False], [True, True, False]])
    expected = F.binary_cross_entropy_with_logits(logits[counted], labels[counted])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert (logits.grad[~counted] == 0).all() and (logits.grad[counted] != 0).all()


def test_masked_bce_is_plain_bce_when_nothing_is_masked():
    torch.manual_seed(0)
    logits, labels = torch.randn(4, 3), torch.randint(0, 2, (4, 3)).float()
    plain = F.binary_cross_entropy_with_logits(logits, labels)
    assert masked_bce(logits, labels).item() == pytest.approx(plain.item(), rel=1e-6)
    assert masked_bce(logits, labels, torch.ones(4, 3)).item() == pytest.approx(plain.item(), rel=1e-6)


def test_cross_source_negatives_total_their_weight_times_own_negatives():
    y = np.array([[1.0, np.nan], [0.0, np.nan], [0.0, np.nan], [np.nan, 1.0], [np.nan, 0.0]])
    probs = source_weights(np.array(["a", "a", "a", "b", "b"]), "uniform")
    targets, weights = loss_targets(y, 0.3, probs)
    assert targets.tolist() == [[1, 0], [0, 0], [0, 0], [0, 1], [0, 0]]
    assert weights[:3, 0].tolist() == [1, 1, 1] and weights[3:, 1].tolist() == [1, 1]
    for j in range(2):
        own = ~np.isnan(y[:, j])
        own_neg = (probs * own * (targets[:, j] == 0)).sum()
        assert (probs * weights[:, j] * ~own).sum() == pytest.approx(0.3 * own_neg)
    assert loss_targets(y, 0.0, probs)[1].tolist() == [[1, 0], [1, 0], [1, 0], [0, 1], [0, 1]]


def test_uniform_balance_gives_each_source_the_same_expected_count():
    sources = np.array(["a"] * 10 + ["b"] * 100 + ["c"] * 1000)
    for mode, share in (("uniform", [1, 1, 1]), ("sqrt", np.sqrt([10, 100, 1000])), ("none", [10, 100, 1000])):
        w = source_weights(sources, mode)
        per_source = [w[sources == s].sum() for s in "abc"]
        assert w.sum() == pytest.approx(1.0)
        assert per_source == pytest.approx(list(np.asarray(share) / np.sum(share)))
    draw = epoch_indices(source_weights(sources, "uniform"), "uniform", np.random.default_rng(0))
    counts = np.bincount(np.searchsorted([10, 110], draw, side="right"), minlength=3)
    assert len(draw) == len(sources) and np.all(np.abs(counts - len(sources) / 3) < 60)
    with pytest.raises(ValueError, match="balance"):
        source_weights(sources, "equal")


def test_length_grouped_batches_cover_every_index_once_and_pad_little():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 200, size=1000)
    batches = length_grouped_batches(rng.permutation(1000), lengths, 32, rng, group=50)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    assert np.mean([lengths[b].max() - lengths[b].min() for b in batches]) < 20


def test_char_tokenizer_saves_as_a_real_hf_tokenizer(tmp_path):
    tok = build_char_tokenizer(["加微信刷单", "你好 世界"], max_vocab=100)
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    ids = loaded(["加 微信", "没见过"])["input_ids"]
    assert ids == tok(["加 微信", "没见过"])["input_ids"]
    assert loaded.convert_ids_to_tokens(ids[0]) == ["[CLS]", "加", "微", "信", "[SEP]"]
    assert loaded.convert_ids_to_tokens(ids[1])[1:-1] == ["[UNK]"] * 3


def test_encoder_from_folder_keeps_first_layers_and_freezes_embeddings(tmp_path):
    torch.manual_seed(0)
    enc, tok = build_encoder({"base": "random:tiny"}, ["加微信刷单"], 32)
    enc.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    cut, _ = build_encoder({"base": str(tmp_path), "num_layers": 1}, [], 32)
    assert len(cut.encoder.layer) == 1 and cut.config.num_hidden_layers == 1
    assert torch.equal(cut.encoder.layer[0].output.dense.weight, enc.encoder.layer[0].output.dense.weight)
    frozen = freeze_embeddings(cut)
    assert frozen == sum(p.numel() for p in cut.embeddings.parameters())
    assert not any(p.requires_grad for p in cut.embeddings.parameters())
    assert all(p.requires_grad for p in cut.encoder.parameters())


def test_tiny_training_saves_a_complete_model_folder(tiny_transformer):
    cfg = json.loads((tiny_transformer / "config.json").read_text(encoding="utf-8"))
    assert cfg["model_type"] == "transformer" and cfg["labels"] == ["rumor", "paid_posting", "harassment"]
    assert cfg["scorer"]["encoder"] == "encoder" and cfg["scorer"]["pooling"] == "mean"
    assert cfg["recipe"]["train"]["max_steps"] == 2 and cfg["training"]["steps"] == 2
    for f in ("encoder/model.safetensors", "encoder/config.json", "encoder/tokenizer.json", "head.safetensors",
              "metrics.json", "README.md"):
        assert (tiny_transformer / f).is_file(), f
    assert not list(tiny_transformer.rglob("*.bin")) and not list(tiny_transformer.rglob("*.pt"))
    metrics = json.loads((tiny_transformer / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["test"]) == {"rumor", "paid_posting", "harassment"}


def test_save_load_round_trip_gives_identical_probabilities(tiny_transformer, tmp_path):
    det = Detector.from_pretrained(tiny_transformer)
    before = det.predict_proba(TEXTS)
    det.save_pretrained(tmp_path / "copy")
    after = Detector.from_pretrained(tmp_path / "copy").predict_proba(TEXTS)
    np.testing.assert_array_equal(before, after)
    assert before.shape == (len(TEXTS), 3) and ((before >= 0) & (before <= 1)).all()


def test_training_is_deterministic_with_the_seed(tiny_root, tiny_transformer, tmp_path):
    train_transformer(tiny_transformer_recipe(), tmp_path / "again", log=lambda m: None, root=tiny_root)
    a = Detector.from_pretrained(tiny_transformer).predict_proba(TEXTS)
    b = Detector.from_pretrained(tmp_path / "again").predict_proba(TEXTS)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_batching_keeps_input_order(tiny_transformer):
    det = Detector.from_pretrained(tiny_transformer)
    det.scorer.batch_size = 2
    together = det.predict_proba(TEXTS)
    one_by_one = np.concatenate([det.predict_proba([t]) for t in TEXTS])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(det.predict_proba(TEXTS[::-1]), together[::-1], atol=1e-5)


def test_score_gives_evidence_spans_in_the_original_text(tiny_transformer):
    det = Detector.from_pretrained(tiny_transformer)
    det.thresholds = {r: 0.0 for r in det.labels}  # flag every risk, so every risk is explained
    posts = ["<p>兼职刷单日结，加微信</p>", "<b>你全家</b>都是废物！！ http://t.cn/abc"]
    results = det.score(posts)
    n_items = 0
    for post, res in zip(posts, results):
        assert set(res["evidence"]) == set(res["flags"]) == set(det.labels)
        for items in res["evidence"].values():
            for item in (i for i in items if not i.get("kind", "").startswith("contact:")):
                n_items += 1
                assert item["weight"] > 0
                for s, e in item["spans"]:
                    assert 0 <= s < e <= len(post)
                    # the [URL] placeholder's span is the whole URL; any other word is itself
                    assert post[s:e] == item["term"] or (item["term"] == "URL" and post[s:e].startswith("http"))
    assert n_items > 0


def test_explaining_several_labels_of_a_post_runs_the_model_once(tiny_transformer):
    det = Detector.from_pretrained(tiny_transformer)
    calls = []
    real = det.scorer.logits
    det.scorer.logits = lambda texts: calls.append(len(texts)) or real(texts)
    ct = det.clean(["兼职刷单日结，加微信"])[0]
    for label in det.labels:
        det.scorer.explain(ct, label, 3)
    n_words = len(det.scorer.segmenter.cut(ct.text)) - 1  # "，" is not a word
    assert calls == [1 + n_words]


@pytest.fixture
def broken(tiny_transformer, tmp_path) -> Path:
    """A fresh copy of the tiny transformer folder to break."""
    import shutil

    shutil.copytree(tiny_transformer, tmp_path / "model")
    return tmp_path / "model"


def refused(folder: Path, *words: str) -> None:
    from detector.scorers.base import ModelFolderError

    with pytest.raises(ModelFolderError) as e:
        Detector.from_pretrained(folder)
    assert "\n" not in str(e.value) and all(w in str(e.value) for w in words), str(e.value)


@pytest.mark.parametrize("decoy", [False, True])
def test_pickled_encoder_weights_are_never_loaded(broken, monkeypatch, decoy):
    """Issue 13 row 21: a .bin in a model folder never goes through torch.load (use_safetensors=True)."""
    from safetensors.torch import load_file

    enc = broken / "encoder"
    torch.save(load_file(str(enc / "model.safetensors")), enc / "pytorch_model.bin")
    (enc / "model.safetensors").unlink()
    if decoy:  # a stray safetensors file beside the pickle must not make the pickle loadable
        (enc / "notes.safetensors").write_bytes(b"{}")
    calls = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a) or pytest.fail("torch.load was called"))
    refused(broken, str(enc), "safetensors")
    assert calls == []


def test_broken_transformer_folders_refuse_with_the_file_and_key(broken, tmp_path):
    """Issue 13 rows 18-19 for transformer folders: NaN head or encoder weights, truncated encoder
    weights, a missing head array, an encoder path outside the folder."""
    import shutil

    from safetensors.torch import load_file, save_file

    def variant(name: str) -> Path:
        shutil.copytree(broken, tmp_path / name)
        return tmp_path / name

    head = load_file(str(broken / "head.safetensors"))
    head["head.weight"][0, 0] = float("nan")
    save_file(head, str(variant("nan_head") / "head.safetensors"))
    refused(tmp_path / "nan_head", "head.safetensors", "'head.weight'", "NaN")
    del head["head.bias"]
    save_file(head, str(variant("no_bias") / "head.safetensors"))
    refused(tmp_path / "no_bias", "head.safetensors", "missing array 'head.bias'")
    enc = load_file(str(broken / "encoder" / "model.safetensors"))
    name = sorted(enc)[-1]
    enc[name].view(-1)[0] = float("inf")
    save_file(enc, str(variant("nan_enc") / "encoder" / "model.safetensors"), metadata={"format": "pt"})
    refused(tmp_path / "nan_enc", "encoder", "NaN or infinite")
    data = (broken / "encoder" / "model.safetensors").read_bytes()
    (variant("cut") / "encoder" / "model.safetensors").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "cut", "encoder", "cannot load the encoder")
    cfg = json.loads((broken / "config.json").read_text(encoding="utf-8"))
    cfg["scorer"]["encoder"] = str(tmp_path / "cut" / "encoder")
    (broken / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    refused(broken, "config.json", "scorer.encoder", "outside the model folder")


def test_broken_onnx_folders_refuse_with_the_file_and_key(tiny_transformer, tmp_path):
    """Issue 13 row 19 for ONNX folders: truncated model, NaN calibration, missing key, a path outside."""
    import shutil

    from safetensors.numpy import load_file, save_file
    from training.export.onnx import export_onnx

    good = export_onnx(tiny_transformer, tmp_path / "good", int8=False, log=lambda m: None)
    cfg = json.loads((good / "config.json").read_text(encoding="utf-8"))

    def variant(name: str, scorer: dict | None = None) -> Path:
        shutil.copytree(good, tmp_path / name)
        if scorer is not None:
            (tmp_path / name / "config.json").write_text(json.dumps({**cfg, "scorer": scorer}), encoding="utf-8")
        return tmp_path / name

    onnx = variant("cut") / cfg["scorer"]["onnx"]
    onnx.write_bytes(onnx.read_bytes()[:1000])
    refused(tmp_path / "cut", cfg["scorer"]["onnx"], "cannot load the ONNX model")
    cal = load_file(str(good / "calibration.safetensors"))
    cal[sorted(cal)[0]] = np.full(2, np.nan, np.float32)
    save_file(cal, str(variant("nan_cal") / "calibration.safetensors"))
    refused(tmp_path / "nan_cal", "calibration.safetensors", "NaN")
    variant("no_pad", {k: v for k, v in cfg["scorer"].items() if k != "pad_id"})
    refused(tmp_path / "no_pad", "config.json", "'scorer.pad_id'")
    variant("outside", {**cfg["scorer"], "tokenizer": str(good / cfg["scorer"]["tokenizer"])})
    refused(tmp_path / "outside", "config.json", "scorer.tokenizer", "outside the model folder")


def test_benchmark_script_imports():
    import importlib.util

    spec = importlib.util.spec_from_file_location("transformer_train", PROJECT / "benchmarks" / "transformer_train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert callable(mod.main) and callable(mod.step_time)
