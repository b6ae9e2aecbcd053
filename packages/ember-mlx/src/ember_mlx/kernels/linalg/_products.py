"""Products: ``matmul`` (exact for integers), ``tensordot``, ``linalg.cross``,
``linalg.diagonal`` and ``linalg.trace``."""

from __future__ import annotations

import math

import mlx.core as mx

from .._util import is_inexact
from ._reduce import safe_sum


def matmul(x1, x2):
    if is_inexact(x1.dtype):
        return mx.matmul(x1, x2)
    return _int_matmul(x1, x2)  # MLX's matmul is floating-point only


def _int_matmul(x1, x2):
    """Exact integer matmul (NumPy's wrap-around included) as a broadcast multiply-sum."""
    v1, v2 = x1.ndim == 1, x2.ndim == 1
    a = x1[None, :] if v1 else x1
    b = x2[:, None] if v2 else x2
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {x1.shape} and {x2.shape} do not align")
    prod = mx.multiply(a[..., :, :, None], b[..., None, :, :])
    out = (
        safe_sum(prod, axis=-2)
        if prod.size
        else mx.zeros(
            mx.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1]),
            dtype=x1.dtype,
        )
    )
    out = out.astype(x1.dtype) if out.dtype != x1.dtype else out
    if v1:
        out = out[..., 0, :]
    if v2:
        out = out[..., 0]
    return out


def tensordot(x1, x2, axes):
    if not is_inexact(x1.dtype):
        a1, a2 = list(axes[0]), list(axes[1])
        free1 = [i for i in range(x1.ndim) if i not in a1]
        free2 = [i for i in range(x2.ndim) if i not in a2]
        k = math.prod(x1.shape[i] for i in a1)
        m = math.prod(x1.shape[i] for i in free1)  # not -1: MLX cannot infer it for empty arrays
        n = math.prod(x2.shape[i] for i in free2)
        p = mx.transpose(x1, free1 + a1).reshape(m, k)
        q = mx.transpose(x2, a2 + free2).reshape(k, n)
        shape = tuple(x1.shape[i] for i in free1) + tuple(x2.shape[i] for i in free2)
        return _int_matmul(p, q).reshape(shape)
    return mx.tensordot(x1, x2, axes=[list(axes[0]), list(axes[1])])


def linalg_cross(x1, x2, axis):
    return mx.linalg.cross(x1, x2, axis=axis)


def linalg_diagonal(x, offset):
    return mx.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def linalg_trace(x, offset, dtype):
    d = mx.diagonal(x, offset=offset, axis1=-2, axis2=-1)
    if dtype is not None and d.dtype != dtype:
        d = d.astype(dtype)
    out = safe_sum(d, axis=-1)
    return out if out.dtype == d.dtype else out.astype(d.dtype)
