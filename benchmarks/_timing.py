"""Timing shared by the benchmark scripts: two steps timed back to back, medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_pair(a: Callable[[], Any], b: Callable[[], Any], repeats: int,
                clock: Callable[[], float] = time.perf_counter) -> tuple[float, float]:
    """Median seconds of ``a()`` and of ``b()``, alternated ``repeats`` times after 3 warm-up
    rounds (MLX compiles on the second call of a structure). ``clock`` is wall time by default;
    ``time.thread_time`` (the CPU time of this thread) is steadier on a shared machine when the
    work runs on the calling thread (torch on one CPU thread), and meaningless on a GPU."""
    for _ in range(3):
        a()
        b()
    ta, tb = [], []
    for _ in range(repeats):
        t0 = clock()
        a()
        ta.append(clock() - t0)
        t0 = clock()
        b()
        tb.append(clock() - t0)
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
