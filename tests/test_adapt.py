"""`jingwang model adapt`: continued masked-LM training of a base folder on a tiny random BERT
(built from a config, char tokenizer, no downloads): the held-out loss falls, a resumed run ends
where the straight one does, the team's evaluation rows are never trained on, a bad input line
is named, and the output loads as a base."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import training.cli.model  # noqa: F401  (registers `jingwang model adapt`)
from training.data.sources import read_text
from detector.scorers.transformer import load_encoder
from training.base.adapt import AdaptSettings, _exclusions, adapt, build_mlm
from training.base.adapt_data import Batches, keep_indices, mask_tokens, read_corpus, split_holdout, team_eval_rows
from training.base.adapt_checkpoint import checkpoints
from training.cli import app as _full_app
from training.data.sources import PROJECT
from training.data.transformer_batches import build_char_tokenizer
from training.trainers.transformer import build_encoder

app = _full_app()
SUBJECTS = ["我", "你", "他", "老师", "同学"]
VERBS = ["喜欢", "讨厌", "看见", "想念"]
OBJECTS = ["苹果", "猫咪", "下雨天", "这本书", "火锅"]
ENDS = ["。", "！", "啊", "呢", "了"]


def corpus_rows(n: int = 300, seed: int = 0) -> list[dict]:
    """Repetitive short comments: a grammar a tiny model learns in a few dozen steps."""
    rng, seen = random.Random(seed), set()
    while len(seen) < n:
        seen.add(rng.choice(SUBJECTS) + rng.choice(VERBS) + rng.choice(OBJECTS) + rng.choice(ENDS)
                 + str(rng.randrange(40)))
    return [{"id": f"c-{i}", "text": t, "platform": "dy"} for i, t in enumerate(sorted(seen))]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    """A base folder as `jingwang model base` writes one: BertModel (no MLM head) + tokenizer."""
    from transformers import BertConfig, BertModel

    texts = [r["text"] for r in corpus_rows()]
    tok = build_char_tokenizer(texts, 200, 64)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64, pad_token_id=tok.pad_token_id,
                     tie_word_embeddings=False)
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("base") / "tiny-base"
    BertModel(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "comments.jsonl", corpus_rows())


def settings(**kw) -> AdaptSettings:
    base = dict(steps=6, batch_size=16, max_length=24, lr=2e-3, holdout=40, checkpoint_every=0, eval_batch_size=32,
                group_by_length=4, log_every=100)
    return AdaptSettings(**{**base, **kw})


def quiet(_m):
    pass


def test_mlm_head_is_tied_to_the_word_embeddings(tiny_base):
    encoder, _ = load_encoder(tiny_base)
    mlm = build_mlm(encoder)
    assert mlm.bert is encoder
    assert mlm.cls.predictions.decoder.weight is encoder.embeddings.word_embeddings.weight
    assert mlm.cls.predictions.decoder.bias is mlm.cls.predictions.bias
    assert not mlm.cls.predictions.bias.any()


def test_masking_is_80_10_10_and_skips_special_tokens():
    ids = torch.randint(10, 100, (200, 100))
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    gen = torch.Generator().manual_seed(0)
    inputs, labels = mask_tokens(ids, special, 4, torch.arange(10, 100), 0.15, gen)
    chosen = labels != -100
    assert not chosen[special].any()
    assert abs(chosen.sum() / (~special).sum() - 0.15) < 0.01
    assert abs((inputs[chosen] == 4).float().mean() - 0.8) < 0.02
    assert torch.equal(inputs[~chosen], ids[~chosen]) and torch.equal(labels[chosen], ids[chosen])
    kept = (inputs[chosen] == ids[chosen]).float().mean()  # 10% kept + random ones that hit the same id
    assert 0.08 < kept < 0.13


def test_batches_depend_only_on_seed_and_step():
    pool, lengths = torch.arange(50).numpy(), torch.randint(1, 30, (50,)).numpy()
    a = Batches(pool, lengths, 8, seed=3, group=3)
    straight = [a.of(t).tolist() for t in range(20)]
    b = Batches(pool, lengths, 8, seed=3, group=3)
    assert [b.of(t).tolist() for t in range(7, 20)] == straight[7:]
    assert sorted(sum(straight[:6], [])[:48]) == sorted(set(sum(straight[:6], [])[:48]))  # no repeat in an epoch


def test_heldout_loss_falls(tiny_base, data, tmp_path):
    res = adapt(tiny_base, [data], tmp_path / "out", settings(steps=40, head_steps=10, lr=5e-3), log=quiet)
    loss = res["loss"]  # measured: 3.87 before, 3.79 after the head alone, 2.82 after
    assert loss["after"]["loss"] < loss["after_head"]["loss"] - 0.5 < loss["before"]["loss"] - 0.5
    assert res["loss_change"] < 0 and res["steps"] == 50 and res["steps_per_s"] > 0
    assert res["data"]["files"][0]["sha256"] and res["data"]["holdout"] == 40
    assert res["excluded"]["team_eval"] is True
    saved = json.loads((tmp_path / "out" / "adapt.json").read_text(encoding="utf-8"))
    assert saved["loss"] == loss and saved["settings"]["seed"] == 13


@pytest.mark.parametrize("head_steps, steps, names", [
    (2, 8, ["step-0000006", "step-0000008"]),  # every 2 of 10 steps, the last 2 kept; resumed after the head phase
    (5, 1, ["step-0000002", "step-0000004"]),  # resumed inside the head phase
])
def test_resume_equals_the_straight_run(tiny_base, data, tmp_path, head_steps, steps, names):
    s = settings(steps=steps, head_steps=head_steps, checkpoint_every=2)
    straight = adapt(tiny_base, [data], tmp_path / "a", s, log=quiet)
    kept = checkpoints(tmp_path / "a" / "checkpoints")
    assert [p.name for p in kept] == names
    assert not list((tmp_path / "a" / "checkpoints").glob(".*"))  # no half-written folder left
    resumed = adapt(tiny_base, [data], tmp_path / "b", s, resume_from=kept[0], log=quiet)
    assert resumed["resumed_from"] == [str(kept[0])]
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert straight["loss"] == resumed["loss"] and straight["history"] == resumed["history"]


def test_resume_refuses_other_settings(tiny_base, data, tmp_path):
    adapt(tiny_base, [data], tmp_path / "a", settings(steps=4, checkpoint_every=2), log=quiet)
    with pytest.raises(ValueError, match="lr=0.002"):
        adapt(tiny_base, [data], tmp_path / "b", settings(steps=4, lr=1e-3), resume_from=tmp_path / "a", log=quiet)


def test_team_eval_rows_are_never_trained_on(data, tmp_path):
    ids, texts, info = team_eval_rows()
    labels = read_text(PROJECT / "data" / "real" / "labels.tsv.gz").splitlines()[1:]
    real_eval = [line.split("\t")[0] for line in labels if line.split("\t")[1] == "eval"]
    assert ids == set(real_eval) and info["real"]["ids"] == 1000 and info["paid_team"]["texts"] == 300
    paid_text = next(iter(sorted(texts)))
    rows = corpus_rows(100) + [
        {"id": real_eval[0], "text": "评测样本一"}, {"id": real_eval[1], "text": "评测样本二"},
        {"id": "copy-1", "text": "评测样本二"},  # the text of an eval row under another id: dropped as repeat
        {"id": "other-1", "text": "评测样本二。"}, {"id": "paid-copy", "text": paid_text}]
    corpus = read_corpus([write_jsonl(tmp_path / "mixed.jsonl", rows)])
    excluded_ids = (tmp_path / "ids.txt")
    excluded_ids.write_text("c-1\nc-2\n", encoding="utf-8")
    keep, info = _exclusions(corpus, settings(), [excluded_ids])
    used = {corpus.texts[i] for i in keep}
    assert "评测样本一" not in used and "评测样本二" not in used and paid_text not in used
    assert "评测样本二。" in used
    assert info["excluded_by_id"] == 4 and info["excluded_by_text"] == 1 and info["files"][0]["ids"] == 2
    holdout, pool = split_holdout(keep, 20, 8, 13)
    assert set(holdout) | set(pool) == set(keep) and not set(holdout) & set(pool)
    off, _ = _exclusions(corpus, settings(exclude_eval=False), [])
    assert len(off) == len(corpus.texts)


def test_exclusion_by_text_catches_copies_under_other_ids():
    from training.base.adapt_data import Corpus

    corpus = Corpus(ids=["e1", "x", "line-3"], texts=["a", "b", "c"])
    keep, counts = keep_indices(corpus, {"e1"}, {"c"})
    assert keep.tolist() == [1] and counts == {"excluded_by_id": 1, "excluded_by_text": 1}


@pytest.mark.parametrize("line, reason", [
    ('{"id": "x", "text": "好"', "malformed JSON"),
    ('{"id": "x", "content": "好"}', "missing text field 'text'"),
    ('["好"]', "not a JSON object"),
    ('{"id": "x", "text": 3}', "field 'text' is int, not text"),
])
def test_a_bad_line_is_named_with_its_file_and_number(tmp_path, line, reason):
    f = write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "text": "好的"}, "", line])
    with pytest.raises(ValueError, match=f"bad.jsonl:3: {reason}"):
        read_corpus([f])


def test_empty_texts_are_skipped_and_counted(tmp_path):
    f = write_jsonl(tmp_path / "e.jsonl", [{"text": "好的"}, {"text": "  "}, {"text": "\u200b"}, {"text": "好的"}])
    corpus = read_corpus([f])
    assert corpus.texts == ["好的"] and corpus.ids == ["line-1"]  # no id: the batch readers' line id
    assert corpus.files[0] | {"sha256": ""} == {"path": str(f), "sha256": "", "rows": 2, "skipped_empty": 2,
                                                "repeated_texts": 1}


def test_output_loads_as_a_base(tiny_base, data, tmp_path):
    out = tmp_path / "adapted"
    adapt(tiny_base, [data], out, settings(steps=3), log=quiet)
    weights = load_file(out / "model.safetensors")
    assert not any(k.startswith("cls.") for k in weights) and "pooler.dense.weight" in weights
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertModel"]
    enc, tok = load_encoder(out)
    base_enc, base_tok = load_encoder(tiny_base)
    assert type(enc).__name__ == "BertModel" and tok.get_vocab() == base_tok.get_vocab()
    changed = [k for k, v in enc.state_dict().items() if not torch.equal(v, base_enc.state_dict()[k])]
    assert "embeddings.word_embeddings.weight" in changed and not any(k.startswith("pooler") for k in changed)
    enc2, _ = build_encoder({"base": str(out), "num_layers": 1}, [], 24)
    assert enc2.config.num_hidden_layers == 1
    enc.eval()
    with torch.no_grad():
        x = tok(["我喜欢火锅"], return_tensors="pt")
        assert torch.isfinite(enc(**x).last_hidden_state).all()


def test_cli_adapts_and_names_a_bad_line(tiny_base, data, tmp_path):
    out = tmp_path / "cli"
    r = CliRunner().invoke(app, ["model", "adapt", "--base", str(tiny_base), "--data", str(data), "--out", str(out),
                                 "--steps", "2", "--batch-size", "8", "--holdout", "20", "--max-length", "24"])
    assert r.exit_code == 0, r.output
    assert "held-out masked-LM loss" in r.output and (out / "adapt.json").is_file()
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"text": "好"}, "{oops"])
    r = CliRunner().invoke(app, ["model", "adapt", "--base", str(tiny_base), "--data", str(bad), "--out",
                                 str(tmp_path / "x"), "--steps", "2"])
    assert r.exit_code == 2 and "bad.jsonl:2: malformed JSON" in r.output
