"""Where the runtime computes (issue 15): the device is a parameter of loading, resolved in one
place; the thread count follows one rule (JINGWANG_THREADS, else OMP_NUM_THREADS, else every
core); one padding helper; `from detector import Detector` without a heavy `import detector`."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from detector.scorers import compute
from detector.scorers.padding import length_buckets, pad_batch


def test_resolve_device_checks_the_name_and_resolves_auto():
    assert compute.resolve_device(None) is None and compute.resolve_device("") is None
    assert compute.resolve_device("cpu") == "cpu"
    assert compute.resolve_device("auto") in ("cpu", "cuda")
    assert compute.resolve_device("cuda") == ("cuda" if compute.cuda_available() is not False else "cpu")
    with pytest.raises(ValueError, match="--device must be one of auto, cpu, cuda, not 'gpu'"):
        compute.resolve_device("gpu")


def test_the_users_thread_count_wins_and_workers_never_override_it(monkeypatch):
    for var in compute.THREAD_ENV:
        monkeypatch.delenv(var, raising=False)
    assert compute.chosen_threads() is None and compute.threads() == compute.cores()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert compute.threads() == 3
    monkeypatch.setenv("JINGWANG_THREADS", "2")
    assert compute.threads() == 2
    compute.limit_threads(1)  # a worker's share: the user chose, so it stays
    assert compute.threads() == 2 and os.environ["OMP_NUM_THREADS"] == "3"
    monkeypatch.delenv("JINGWANG_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    compute.limit_threads(4)
    assert compute.threads() == 4 and os.environ["OMP_NUM_THREADS"] == "4"


def test_loading_on_a_device_leaves_no_setting_behind(tiny_model, monkeypatch):
    from detector.batch.process import ModelSpec

    monkeypatch.delenv("JINGWANG_DEVICE", raising=False)
    det = ModelSpec(str(tiny_model), device="cpu").load()
    assert det.labels and "JINGWANG_DEVICE" not in os.environ


def test_pad_batch_right_pads_and_length_buckets_sort_by_length():
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert ids.dtype == mask.dtype == np.int64
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert length_buckets([5, 1, 3, 1], batch_size=2) == [[1, 3], [2, 0]]
    assert length_buckets([5, 1, 3, 1], batch_size=4, max_tokens=9) == [[1, 3, 2], [0]]


def test_detector_is_exported_lazily():
    code = ("import sys, detector.text.cleaning; light = 'detector.model.core' not in sys.modules; "
            "from detector import Detector; from detector.model import Detector as D; "
            "print(light, Detector is D, Detector.__module__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["True", "True", "detector.model.core"]
