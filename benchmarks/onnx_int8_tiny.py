"""The test suite's tiny transformer (tests/test_onnx.py) exported int8 with full-range and 7-bit weights,
then measured on this CPU or an emulated one: reproduces issue 11's failing assertion.

    python benchmarks/onnx_int8_tiny.py export
    python benchmarks/onnx_int8_tiny.py measure
    qemu-x86_64 -cpu Haswell .venv/bin/python benchmarks/onnx_int8_tiny.py measure   # AVX2, no VNNI
"""
import sys, json, numpy as np
from pathlib import Path
sys.path.insert(0, '.')
out = Path(sys.argv[2] if len(sys.argv) > 2 else 'runs/onnx-int8-tiny')
VARIANTS = {'full': {'reduce_range': False}, '7bit': {'reduce_range': True}, 'u8': {'reduce_range': False, 'weight_type': 'u8'}}
if sys.argv[1] == 'export':
    from tests.conftest import _write, _split, HARASS, SAFE, RUMOR, NEWS, SPAM, HAM
    from tests.test_transformer import tiny_transformer_recipe
    from training.trainers.transformer import train_transformer
    from training.export.onnx import export_onnx
    from detector.scorers.onnx import ModelCheckError
    from tests.test_onnx import TEXTS
    from detector.model.core import Detector
    root = out / 'data'
    for split in ("train", "dev", "test"):
        _write(root / "cold" / f"{split}.jsonl", _split(f"cold-{split}", HARASS, SAFE, 2))
    for split, file in (("train", "train"), ("dev", "val"), ("test", "test")):
        _write(root / "weibo21" / f"{file}.jsonl", _split(f"weibo21-{split}", RUMOR, NEWS, 2))
    _write(root / "sms_spam_cn_10k" / "all.jsonl", _split("smsspam", SPAM, HAM, 8))
    train_transformer(tiny_transformer_recipe(), out / 'torch', log=lambda m: None, root=root)
    np.save(out / 'torch.npy', Detector.from_pretrained(out / 'torch').predict_proba(TEXTS))
    for name, kw in VARIANTS.items():
        try:
            export_onnx(out / 'torch', out / name, log=lambda m: None, **kw)
        except ModelCheckError as e:
            print(name, 'refused:', e)
else:
    sys.path.insert(0, 'benchmarks')
    from onnx_int8 import load_unchecked
    from detector.scorers.onnx import int8_cpu_features
    from tests.test_onnx import TEXTS
    from detector.model.core import Detector
    print(int8_cpu_features())
    t = np.load(out / 'torch.npy')
    for name in VARIANTS:
        d = np.abs(load_unchecked(out / name).predict_proba(TEXTS) - t).max()
        print(name, 'max |int8 - torch| =', round(float(d), 4))
        try:
            Detector.from_pretrained(out / name); print(name, 'loads')
        except Exception as e:
            print(name, type(e).__name__, e)
