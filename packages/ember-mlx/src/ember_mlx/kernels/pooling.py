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


def nn_max_pool(x, window, stride, padding):
    d = len(window)
    w = windows(pad(x, padding, _lowest(x.dtype)), window, stride)
    return mx.max(w, axis=tuple(range(1 + d, 1 + 2 * d)))


def nn_avg_pool(x, window, stride, padding, divisor):
    """Each window's sum (padding counts as 0) over divisor: the window size where it is None,
    else ember-core's counts of non-padding elements."""
    d = len(window)
    axes = tuple(range(1 + d, 1 + 2 * d))
    w = windows(pad(x, padding, 0), window, stride)
    return mx.mean(w, axis=axes) if divisor is None else mx.sum(w, axis=axes) / divisor
