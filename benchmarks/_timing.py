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
