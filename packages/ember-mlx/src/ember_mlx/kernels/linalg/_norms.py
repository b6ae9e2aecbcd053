"""Matrix and vector norms."""

from __future__ import annotations

import math

import mlx.core as mx

from .._util import is_complex, safe_reduce
from ._decompositions import linalg_svdvals
from ._reduce import max0, safe_min, safe_sum


def linalg_matrix_norm(x, keepdims, ord):
    a = mx.abs(x) if is_complex(x.dtype) else x
    if ord == "fro":
        out = mx.sqrt(safe_sum(mx.square(mx.abs(a)), axis=(-2, -1)))
    elif ord == "nuc":
        out = safe_sum(linalg_svdvals(x, "linalg.matrix_norm"), axis=-1)
    elif ord in (2, -2):  # the minima of empty axes are refused by ember-core
        s = linalg_svdvals(x, "linalg.matrix_norm")
        out = max0(s, axis=-1) if ord == 2 else safe_min(s, axis=-1)
    elif ord in (1, -1):
        col = safe_sum(mx.abs(a), axis=-2)
        out = max0(col, axis=-1) if ord == 1 else safe_min(col, axis=-1)
    elif ord in (math.inf, -math.inf):
        row = safe_sum(mx.abs(a), axis=-1)
        out = max0(row, axis=-1) if ord == math.inf else safe_min(row, axis=-1)
    else:
        raise ValueError(f"unsupported matrix norm order {ord!r}")
    if keepdims:
        out = out[..., None, None]
    return out


def linalg_vector_norm(x, axis, keepdims, ord):
    a = mx.abs(x)
    if axis is None:
        axes = tuple(range(x.ndim))
    else:
        axes = tuple(axis)
    if ord == math.inf:  # over nothing: 0 (inf for -inf), as NumPy's norms
        return safe_reduce(mx.max, a, axes, keepdims, 0)
    if ord == -math.inf:
        return safe_reduce(mx.min, a, axes, keepdims, math.inf)
    if ord == 0:
        return safe_sum(a != 0, axis=axes, keepdims=keepdims).astype(a.dtype)
    if ord == 1:
        return safe_sum(a, axis=axes, keepdims=keepdims)
    if ord == 2:
        if a.dtype in (mx.float16, mx.bfloat16):
            a32 = a.astype(mx.float32)
            return mx.sqrt(safe_sum(mx.square(a32), axis=axes, keepdims=keepdims)).astype(a.dtype)
        return mx.sqrt(safe_sum(mx.square(a), axis=axes, keepdims=keepdims))
    return mx.power(safe_sum(mx.power(a, ord), axis=axes, keepdims=keepdims), 1.0 / ord)
