"""Utility functions: all, any, diff."""

from __future__ import annotations

from typing import Any

from .. import _dtypes as dt
from .._dispatch import cast_native, norm_axes, norm_axis
from .._errors import ShapeError
from .._tensor import Tensor
from ._creation import asarray
from ._statistical import _t

__all__ = ["all", "any", "diff"]

T = Tensor


def _logical(op: str, x: Any, axis: Any, keepdims: bool) -> Tensor:
    x = _t(x)
    n = cast_native(x._b, x._n, dt.bool)
    return T(getattr(x._b.kernels, op)(n, norm_axes(op, axis, x.ndim), keepdims), x._b)


def all(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Whether all elements along axes are true (non-zero)."""
    return _logical("all", x, axis, keepdims)


def any(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Whether any element along axes is true (non-zero)."""
    return _logical("any", x, axis, keepdims)


def diff(x: Any, /, *, axis: int = -1, n: int = 1, prepend: Any = None, append: Any = None) -> Tensor:
    """n-th forward difference along axis, optionally after prepending/appending values."""
    from ._elementwise import not_equal, subtract
    from ._manipulation import concat

    x = _t(x)
    if n < 0:
        raise ShapeError(f"diff: n must be non-negative, got {n}")
    axis = norm_axis("diff", axis, x.ndim)
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = concat([asarray(p, backend=x._b, device=x.device) for p in parts], axis=axis)
    lead = (slice(None),) * axis
    for _ in range(n):
        hi = T(x._b.kernels.getitem(x._n, (*lead, slice(1, None))), x._b)
        lo = T(x._b.kernels.getitem(x._n, (*lead, slice(None, -1))), x._b)
        x = not_equal(hi, lo) if x.dtype is dt.bool else subtract(hi, lo)
    return x
