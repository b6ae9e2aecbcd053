"""Channels-last N-d pooling (any number of spatial axes): a max/sum over the window axes of a
strided window view of the padded input (``_windows``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._windows import Pairs, pad, windows

__all__ = ["nn_avg_pool", "nn_max_pool"]


def nn_max_pool(
    x: Any, window: tuple[int, ...], stride: tuple[int, ...], padding: Pairs
) -> np.ndarray:
    """Max over each window; padding counts as -inf (the dtype's minimum for integers)."""
    x = np.asarray(x)
    fill = -np.inf if x.dtype.kind in "fc" else np.iinfo(x.dtype).min
    win = windows(pad(x, padding, fill), window, stride, (1,) * len(window))
    nd = len(window)
    return np.max(win, axis=tuple(range(1 + nd, 1 + 2 * nd)))


def nn_avg_pool(
    x: Any, window: tuple[int, ...], stride: tuple[int, ...], padding: Pairs, divisor: Any
) -> np.ndarray:
    """Each window's sum (padding counts as 0; float16 accumulates in float32) over
    ``divisor``: the window size where it is None, else ember-core's counts of non-padding
    elements, shaped ``(1, *out_spatial, 1)``."""
    x = np.asarray(x)
    dtype = x.dtype
    acc = np.float32 if dtype == np.float16 else dtype
    win = windows(pad(x, padding, 0), window, stride, (1,) * len(window))
    nd = len(window)
    total = np.sum(win, axis=tuple(range(1 + nd, 1 + 2 * nd)), dtype=acc)
    d = np.asarray(int(np.prod(window)), dtype=acc) if divisor is None else divisor
    return (total / d).astype(dtype, copy=False)
