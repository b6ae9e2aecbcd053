"""Sorting kernels (stable in both directions)."""

from __future__ import annotations

import mlx.core as mx

from ._util import as_int64

__all__ = ["argsort", "sort"]


def _flip(x, axis):
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(None, None, -1)
    return x[tuple(idx)]


def argsort(x, axis, descending, stable):
    if x.ndim == 0:
        return mx.zeros((), dtype=mx.int64)
    if not descending:
        return as_int64(mx.argsort(x, axis=axis))
    # stable descending: argsort the reversed array ascending, reverse, and map the indices
    # back; equal elements then keep their original order (first occurrence first).
    n = x.shape[axis]
    r = mx.argsort(_flip(x, axis), axis=axis)
    return as_int64((n - 1) - _flip(r, axis).astype(mx.int64))


def sort(x, axis, descending, stable):
    if x.ndim == 0:
        return x
    s = mx.sort(x, axis=axis)
    return _flip(s, axis) if descending else s
