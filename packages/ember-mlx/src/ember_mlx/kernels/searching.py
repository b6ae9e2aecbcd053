"""Searching kernels (``nonzero`` goes through the host: its shape depends on the values)."""

from __future__ import annotations

import mlx.core as mx

from .._lazy_numpy import np
from ._util import as_int64, to_host

__all__ = ["argmax", "argmin", "nonzero", "searchsorted", "where"]


where = mx.where


def _arg(fn, x, axis, keepdims):
    if x.dtype == mx.complex64:
        raise TypeError("argmax/argmin of complex input is not defined")
    if axis is None:
        r = fn(x.reshape(-1), axis=0)
        if keepdims:
            r = r.reshape((1,) * x.ndim)
        return as_int64(r)
    return as_int64(fn(x, axis=axis, keepdims=keepdims))


def argmax(x, axis, keepdims):
    return _arg(mx.argmax, x, axis, keepdims)  # MLX returns the first NaN, like NumPy


def argmin(x, axis, keepdims):
    return _arg(mx.argmin, x, axis, keepdims)


def nonzero(x):
    if x.ndim == 0:
        raise ValueError("nonzero of a 0-d array is not defined; use atleast_1d / reshape first")
    return tuple(mx.array(i.astype(np.int64)) for i in np.nonzero(to_host(x)))


def searchsorted(x1, x2, side, sorter):
    if sorter is not None:
        x1 = mx.take(x1, sorter)
    return as_int64(mx.searchsorted(x1, x2, side=side))
