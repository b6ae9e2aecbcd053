"""Channels-last N-d pooling: a max or mean/sum over the window axes of a sliding-window view."""

from __future__ import annotations

import math

import mlx.core as mx

from ._windows import pad, windows

__all__ = ["nn_avg_pool", "nn_max_pool"]


def _lowest(dtype):
    if mx.issubdtype(dtype, mx.floating):
        return -math.inf
    if dtype == mx.bool_:
        return False
    return mx.iinfo(dtype).min


def _view(x, window, stride):
    """(N, *out, *window, C) windows of x: for windows that do not overlap (stride == window),
    a reshape of x cut to whole windows, whose gradient is a reshape too (as mlx.nn's pooling
    does); otherwise the strided view (its gradient scatters: ~4x slower on a CPU)."""
    d = len(window)
    if tuple(stride) != tuple(window):
        return windows(x, window, stride)
    out = [x.shape[1 + i] // window[i] for i in range(d)]
    x = x[(slice(None), *(slice(0, o * k) for o, k in zip(out, window)))]
    split = [x.shape[0]]
    for o, k in zip(out, window):
        split += [o, k]
    x = x.reshape(*split, x.shape[-1])  # (N, o1, k1, o2, k2, ..., C)
    order = [0, *(1 + 2 * i for i in range(d)), *(2 + 2 * i for i in range(d)), 1 + 2 * d]
    return x.transpose(order)


def nn_max_pool(x, window, stride, padding):
    d = len(window)
    w = _view(pad(x, padding, _lowest(x.dtype)), window, stride)
    return mx.max(w, axis=tuple(range(1 + d, 1 + 2 * d)))


def nn_avg_pool(x, window, stride, padding, divisor):
    """Each window's sum (padding counts as 0) over divisor: the window size where it is None,
    else ember-core's counts of non-padding elements."""
    d = len(window)
    axes = tuple(range(1 + d, 1 + 2 * d))
    w = _view(pad(x, padding, 0), window, stride)
    return mx.mean(w, axis=axes) if divisor is None else mx.sum(w, axis=axes) / divisor
