"""Statistical kernels: reductions and cumulative sums/products (empty input answered directly:
MLX's CPU reduce of an empty array can stall)."""

from __future__ import annotations

import math

import mlx.core as mx

from ._util import empty_reduce, is_inexact, reduced_shape

__all__ = ["cumulative_prod", "cumulative_sum", "max", "mean", "min", "prod", "sum", "var"]


def _cast_acc(x, dtype):
    return x if dtype is None or x.dtype == dtype else x.astype(dtype)


def sum(x, axis, dtype, keepdims):
    x = _cast_acc(x, dtype)
    if x.size == 0:
        return empty_reduce(x, axis, keepdims, 0)
    out = mx.sum(x, axis=axis, keepdims=keepdims)
    return out if out.dtype == x.dtype else out.astype(x.dtype)  # MLX widens small ints


def prod(x, axis, dtype, keepdims):
    x = _cast_acc(x, dtype)
    if x.size == 0:
        return empty_reduce(x, axis, keepdims, 1)
    out = mx.prod(x, axis=axis, keepdims=keepdims)
    return out if out.dtype == x.dtype else out.astype(x.dtype)


def _no_identity(x, axis, keepdims, name):
    shape = reduced_shape(x.shape, axis, keepdims)
    if 0 not in shape:
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    return mx.zeros(shape, dtype=x.dtype)


def max(x, axis, keepdims):
    if x.size == 0:
        return _no_identity(x, axis, keepdims, "maximum")
    return mx.max(x, axis=axis, keepdims=keepdims)


def min(x, axis, keepdims):
    if x.size == 0:
        return _no_identity(x, axis, keepdims, "minimum")
    return mx.min(x, axis=axis, keepdims=keepdims)


def mean(x, axis, keepdims):
    if x.size == 0:
        return empty_reduce(x, axis, keepdims, math.nan)
    out = mx.mean(x, axis=axis, keepdims=keepdims)
    return out if out.dtype == x.dtype or not is_inexact(x.dtype) else out.astype(x.dtype)


def var(x, axis, correction, keepdims):
    if x.size == 0:
        return empty_reduce(x, axis, keepdims, math.nan).astype(_real(x.dtype))
    if x.dtype == mx.complex64:
        m = mx.mean(x, axis=axis, keepdims=True)
        d = x - m
        ss = mx.sum(mx.real(d * mx.conj(d)), axis=axis, keepdims=keepdims)
        n = x.size if axis is None else _count(x.shape, axis)
        return ss / (n - correction)
    if correction == int(correction):
        return mx.var(x, axis=axis, keepdims=keepdims, ddof=int(correction))
    m = mx.mean(x, axis=axis, keepdims=True)
    ss = mx.sum(mx.square(x - m), axis=axis, keepdims=keepdims)
    n = x.size if axis is None else _count(x.shape, axis)
    return ss / mx.array(n - correction, dtype=x.dtype)


def _real(dtype):
    return mx.float32 if dtype == mx.complex64 else dtype


def _count(shape, axis):
    n = 1
    for a in axis:
        n *= shape[a]
    return n


def _cumulative(fn, x, axis, dtype):
    x = _cast_acc(x, dtype)
    out = fn(x, axis=axis) if x.size else x
    return out.astype(x.dtype) if out.dtype != x.dtype else out


def cumulative_sum(x, axis, dtype):
    return _cumulative(mx.cumsum, x, axis, dtype)


def cumulative_prod(x, axis, dtype):
    return _cumulative(mx.cumprod, x, axis, dtype)
