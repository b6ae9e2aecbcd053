"""Timing shared by the benchmark scripts: two steps timed back to back, medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_pair(a: Callable[[], Any], b: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median seconds of ``a()`` and of ``b()``, alternated ``repeats`` times after 3 warm-up
    rounds (MLX compiles on the second call of a structure)."""
    for _ in range(3):
        a()
        b()
    ta, tb = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a()
        ta.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b()
        tb.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def prepare(backend: str, device: str) -> None:
    """The native library set up as the benchmarks compare it: torch on one CPU thread (the
    CPU tables' convention), MLX's default device the GPU or the CPU as ``device`` says."""
    if backend == "torch" and device == "cpu":
        import torch

        torch.set_num_threads(1)
    if backend == "mlx":
        import mlx.core as mx

        mx.set_default_device(mx.gpu if device == "gpu" else mx.cpu)
