"""`jingwang model export-onnx`: a transformer model folder -> an ONNX Runtime model folder
(model_type "onnx", loaded by `Detector.from_pretrained` like any other), with dynamic int8
quantisation of the MatMul weights by default.

Int8 weights are unsigned (u8) by default: on x86-64 CPUs without VNNI (AVX2, AVX-512 before
VNNI) ONNX Runtime multiplies uint8 activations by signed int8 weights with `vpmaddubsw`, whose
16-bit sums saturate when two products of full-range values exceed 32,767 (the tests' transformer
moved by 0.43); u8 x u8 products are widened to 16 bits and summed in 32, so the same folder gives
the same probabilities on every x86-64 CPU. 7-bit s8 weights (`reduce_range`) also cannot saturate,
but on the CPU transformer they moved a paid-posting text from 0.68 to 0.03 on every CPU, u8 by
0.05 (docs/scale.md has the measurements). The export
stores reference texts and the source model's probabilities on them (`reference.json`); the ONNX
scorer checks them at load time and refuses to load where it cannot reproduce them.

The exported graph is the whole `MultiLabelEncoder` (encoder, pooling, head) from token ids and
attention mask to logits, with dynamic batch and sequence axes; the calibrators, thresholds,
tokenizer and user dictionary are copied, so scores go through the same calibration and flags.
`compare_accuracy` measures what the export costs: macro-F1 per risk of both folders on a split.
"""
from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from detector.model.core import CONFIG, Detector

ONNX_FP32 = "model.onnx"
ONNX_INT8 = "model.int8.onnx"
TOKENIZER = "tokenizer"
CALIBRATION = "calibration.safetensors"
REFERENCE = "reference.json"
SAMPLE = ["震惊！喝醋可以治愈新冠，转发保平安", "兼职刷单日结，加微信", "你全家都是废物", "这本书写得很好", "明天记得带伞"]
# Reference texts checked at load time: the sample plus longer, noisier posts (long inputs
# accumulate the most rounding), each risk's typical wording and ordinary comments.
REFERENCE_TEXTS = SAMPLE + [
    "听说医院里已经死了十几个人了，消息都被压下来了，大家转发扩散",
    "需要删帖的私我，负面处理，价格美丽，V：abc12345",
    "这种人渣就该下地狱，人肉出来让他社死",
    "今天下班路上看到晚霞特别美，拍了好多照片，周末打算带家人去郊外走走，顺便尝尝那家新开的面馆" * 3,
    "@某某 哈哈哈哈[捂脸][捂脸]",
    "严惩凶手，希望警方早日查明真相",
    "【特价】全场一折起，好评返现五元，联系客服领取",
]
DEFAULT_TOLERANCE = 0.05


def export_graph(det: Detector, path: Path, opset: int = 17) -> None:
    """The scorer's torch module as ONNX (TorchScript exporter, dynamic batch and length)."""
    import torch

    model = det.scorer.model.eval().cpu()
    try:
        model.encoder.set_attn_implementation("eager")  # plain MatMul/Softmax: traces cleanly
    except (AttributeError, ValueError):
        pass
    ids = torch.tensor([det.scorer.tokenize(SAMPLE[:1])[0]] * 2)
    mask = torch.ones_like(ids)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (ids, mask), str(path), dynamo=False, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes=axes, opset_version=opset, do_constant_folding=True)


def ffn_output_matmuls(path: Path) -> list[str]:
    """The MatMuls of each layer's feed-forward output (after GELU: outliers, most hurt by int8)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul" and "/output/dense" in n.name
            and "attention" not in n.name]


WEIGHT_TYPES = ("s8", "u8")


def quantize(src: Path, dest: Path, per_channel: bool = True, keep_ffn_output: bool = True,
             reduce_range: bool = False, weight_type: str = "u8") -> dict:
    """Dynamic int8 quantisation of the weight MatMuls (activations are uint8, quantised at run
    time); returns the settings used, as recorded in the model folder."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if weight_type not in WEIGHT_TYPES:
        raise ValueError(f"weight type {weight_type!r}: expected one of {', '.join(WEIGHT_TYPES)}")
    exclude = ffn_output_matmuls(src) if keep_ffn_output else []
    quantize_dynamic(str(src), str(dest), weight_type=QuantType.QInt8 if weight_type == "s8" else QuantType.QUInt8,
                     per_channel=per_channel, reduce_range=reduce_range, op_types_to_quantize=["MatMul"],
                     nodes_to_exclude=exclude)
    return {"method": "dynamic", "operators": ["MatMul"], "activations": "u8 (per batch)",
            "weights": weight_type + (" 7-bit" if reduce_range else ""), "reduce_range": reduce_range,
            "per_channel": per_channel, "ffn_output_fp32": keep_ffn_output, "excluded_nodes": len(exclude),
            "onnxruntime": _ort_version()}


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def quantization_name(settings: dict | None) -> str:
    if not settings:
        return "none"
    return ("dynamic-int8-" + ("per-channel" if settings["per_channel"] else "per-tensor")
            + ("-ffn-output-fp32" if settings["ffn_output_fp32"] else "")
            + ("-reduce-range" if settings["reduce_range"] else "") + ("-u8" if settings["weights"].startswith("u8") else ""))


def export_onnx(model: str | Path, out: str | Path, int8: bool = True, per_channel: bool = True,
                keep_ffn_output: bool = True, keep_fp32: bool = False, opset: int = 17, log=print,
                reduce_range: bool = False, weight_type: str = "u8", tolerance: float = DEFAULT_TOLERANCE) -> Path:
    """Export a transformer model folder to an ONNX model folder; returns `out`. The folder
    refuses to load where its probabilities on the reference texts move more than `tolerance`
    from the source model's."""
    if not 0 < tolerance <= 1:
        raise ValueError(f"tolerance {tolerance}: expected a probability difference in (0, 1]")
    if weight_type not in WEIGHT_TYPES:
        raise ValueError(f"weight type {weight_type!r}: expected one of {', '.join(WEIGHT_TYPES)}")
    src, out = Path(model), Path(out)
    det = Detector.from_pretrained(src)
    if det.scorer.model_type != "transformer":
        raise ValueError(f"{src} is a {det.scorer.model_type!r} model; export-onnx takes a transformer model")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    export_graph(det, out / ONNX_FP32, opset)
    log(f"exported {out / ONNX_FP32} ({(out / ONNX_FP32).stat().st_size / 1e6:.0f} MB, {time.time() - t0:.0f}s)")
    onnx_file, settings = ONNX_FP32, None
    if int8:
        settings = quantize(out / ONNX_FP32, out / ONNX_INT8, per_channel, keep_ffn_output, reduce_range, weight_type)
        onnx_file = ONNX_INT8
        log(f"quantised {out / ONNX_INT8} ({(out / ONNX_INT8).stat().st_size / 1e6:.0f} MB; weights {settings['weights']})")
        if not keep_fp32:
            (out / ONNX_FP32).unlink()
    write_folder(det, src, out, onnx_file, settings, tolerance)
    write_reference(det, out)
    check = compare_outputs(det, Detector.from_pretrained(out), SAMPLE)
    log(f"check on {len(SAMPLE)} texts: max |p_onnx - p_torch| = {check['max_abs_diff']:.4f}")
    return out


def write_reference(det: Detector, out: Path) -> None:
    """The cleaned reference texts and the source model's calibrated probabilities on them."""
    cleaned = det.clean(REFERENCE_TEXTS)
    proba = det.scorer.predict_proba(cleaned)
    ref = {"source": "the fp32 model this folder was exported from", "labels": det.labels,
           "texts": [c.text for c in cleaned], "probabilities": np.round(proba.astype(float), 6).tolist()}
    (out / REFERENCE).write_text(json.dumps(ref, ensure_ascii=False, indent=1), encoding="utf-8")


def write_folder(det: Detector, src: Path, out: Path, onnx_file: str, quantization: dict | None,
                 tolerance: float = DEFAULT_TOLERANCE) -> None:
    """Tokenizer, calibrators, user dictionary and config.json of the ONNX folder."""
    from safetensors.numpy import save_file

    scorer = det.scorer
    scorer.tokenizer.save_pretrained(out / TOKENIZER)
    arrays = {}
    for lab, cal in zip(scorer.labels, scorer.calibrators_):
        arrays.update(cal.arrays(f"cal.{lab}"))
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(out / CALIBRATION))
    cfg = json.loads((src / CONFIG).read_text(encoding="utf-8"))
    userdict = cfg["scorer"].get("userdict")
    if userdict and (src / userdict).is_file():
        shutil.copyfile(src / userdict, out / userdict)
    cfg["model_type"] = "onnx"
    cfg["scorer"] = {"onnx": onnx_file, "tokenizer": TOKENIZER, "pad_id": scorer.pad_id,
                     "max_length": scorer.max_length, "batch_size": scorer.batch_size,
                     "max_tokens": scorer.batch_size * scorer.max_length,
                     "calibration": cfg["scorer"]["calibration"], "userdict": userdict,
                     "exported_from": str(src), "quantization": quantization_name(quantization),
                     "quantization_settings": quantization, "reference": REFERENCE, "reference_tolerance": tolerance}
    (out / CONFIG).write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")
    for name in ("metrics.json", "README.md"):
        if (src / name).is_file():
            shutil.copyfile(src / name, out / f"source-{name}")


def compare_outputs(a: Detector, b: Detector, texts: list[str]) -> dict:
    pa, pb = a.predict_proba(texts), b.predict_proba(texts)
    flags_a, flags_b = pa >= np.array([a.thresholds[r] for r in a.labels]), pb >= np.array([b.thresholds[r] for r in b.labels])
    return {"max_abs_diff": float(np.abs(pa - pb).max()) if len(texts) else 0.0,
            "flag_agreement": float((flags_a == flags_b).mean()) if len(texts) else 1.0}


def compare_accuracy(model_a: str | Path, model_b: str | Path, split: str = "dev", root=None, subset: int = 0) -> dict:
    """Macro-F1 per risk of two model folders (e.g. transformer and its ONNX export) on one
    split of the sources the first was trained on, with texts/s of each."""
    a, b = Detector.from_pretrained(model_a), Detector.from_pretrained(model_b)
    sources = a.config.get("recipe", {}).get("data", {}).get("sources") or ["cold", "weibo21", "sms_spam"]
    from training.data.splits import load_split
    from training.trainers.ensemble import thresholds_and_metrics

    rows = load_split(sources, split, a.labels, root, evasion=None, subset=subset)
    texts, y = rows.texts, rows.y
    res = {"split": split, "n": len(texts), "sources": sources}
    for name, det in (("a", a), ("b", b)):
        t0 = time.time()
        p = det.predict_proba(texts)
        res[name] = {"model": str(model_a if name == "a" else model_b),
                     "macro_f1": {r: m["macro_f1"] for r, m in
                                  thresholds_and_metrics(p, y, det.labels, "f1", det.thresholds)[1].items()},
                     "texts_per_s": round(len(texts) / max(time.time() - t0, 1e-9), 1)}
        res[name]["mean_macro_f1"] = float(np.mean(list(res[name]["macro_f1"].values())))
    res["delta_points"] = {r: round(100 * (res["b"]["macro_f1"][r] - res["a"]["macro_f1"][r]), 2)
                           for r in res["a"]["macro_f1"]}
    res["delta_mean_points"] = round(100 * (res["b"]["mean_macro_f1"] - res["a"]["mean_macro_f1"]), 2)
    return res
