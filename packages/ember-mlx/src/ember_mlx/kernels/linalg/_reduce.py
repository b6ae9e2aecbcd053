"""Reductions that accept empty axes, for the linear algebra kernels."""

from __future__ import annotations

import mlx.core as mx

from .._util import safe_reduce


def safe_sum(x, axis=None, keepdims=False):
    return safe_reduce(mx.sum, x, axis, keepdims, 0)


def safe_max(x, axis=None, keepdims=False):
    return safe_reduce(mx.max, x, axis, keepdims, None)


def safe_min(x, axis=None, keepdims=False):
    return safe_reduce(mx.min, x, axis, keepdims, None)


def max0(x, axis, keepdims=False):
    """The maximum of non-negative values (norms, singular values) over one axis: 0 over an
    empty axis, as NumPy's norms give."""
    if x.shape[axis] == 0:
        shape = list(x.shape)
        if keepdims:
            shape[axis] = 1
        else:
            del shape[axis]
        return mx.zeros(shape, dtype=x.dtype)
    return safe_max(x, axis=axis, keepdims=keepdims)
