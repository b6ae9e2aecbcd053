"""Utility kernels: ``all`` and ``any``."""

from __future__ import annotations

import mlx.core as mx

from ._util import reduced_shape

__all__ = ["all", "any"]


def all(x, axis, keepdims):
    if x.size == 0:
        return mx.full(reduced_shape(x.shape, axis, keepdims), True)
    return mx.all(x, axis=axis, keepdims=keepdims)


def any(x, axis, keepdims):
    if x.size == 0:
        return mx.full(reduced_shape(x.shape, axis, keepdims), False)
    return mx.any(x, axis=axis, keepdims=keepdims)
