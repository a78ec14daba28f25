"""Where scorers compute: the device a model loads on, and this process's compute threads.

The one place that reads the thread settings users may give (JINGWANG_THREADS, else
OMP_NUM_THREADS) and that sets threads: torch's (`set_torch_threads`), an ONNX Runtime
session's (`set_onnx_threads`), and those of a worker process of `--workers N` or
`--engine ray` (`limit_threads`, before the worker loads its model).
The device is a parameter of loading (`Detector.from_pretrained(path, device=...)`), resolved
here once. No torch import at module level: the fast and ONNX scorers run without torch.
"""
from __future__ import annotations

import os

DEVICES = ("auto", "cpu", "cuda")
THREAD_ENV = ("JINGWANG_THREADS", "OMP_NUM_THREADS")  # the user's thread count, first one set wins

_TORCH_THREADS_SET = False


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def chosen_threads() -> int | None:
    """The thread count the user chose (JINGWANG_THREADS, else OMP_NUM_THREADS), or None."""
    for var in THREAD_ENV:
        if os.environ.get(var):
            return max(1, int(os.environ[var]))
    return None


def threads() -> int:
    """Compute threads of this process (torch, ONNX Runtime): the user's choice, else every core."""
    return chosen_threads() or cores()


def limit_threads(n: int) -> None:
    """In a worker process, before its model loads: compute on `n` threads (torch, ONNX Runtime
    and OpenMP libraries), unless the user chose a thread count."""
    if n and chosen_threads() is None:
        for var in THREAD_ENV:
            os.environ[var] = str(n)


def set_torch_threads() -> None:
    """torch computes on `threads()` threads; once per process."""
    global _TORCH_THREADS_SET
    if _TORCH_THREADS_SET:
        return
    _TORCH_THREADS_SET = True
    import torch

    torch.set_num_threads(threads())


def set_onnx_threads(opts) -> None:
    """An ONNX Runtime session (its `SessionOptions`) computes on `threads()` threads."""
    opts.intra_op_num_threads = threads()
    opts.inter_op_num_threads = 1


def cuda_available() -> bool | None:
    """Whether torch sees a GPU; None without torch (an ONNX model may still use CUDA)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.is_available()


def resolve_device(device: str | None) -> str | None:
    """The device to load a model on: None (or "") leaves the scorer's default (cpu); "auto" is
    "cuda" when torch sees a GPU, else "cpu"; "cuda" / "cuda:N" falls back to "cpu" when torch
    sees none. Anything else is a ValueError naming the choices."""
    if device in (None, ""):
        return None
    if device not in DEVICES and not device.startswith("cuda:"):
        raise ValueError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device.startswith("cuda") and cuda_available() is False:
        return "cpu"
    return device
