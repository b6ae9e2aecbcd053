"""Searching functions: argmax, argmin, count_nonzero, nonzero, searchsorted, where."""

from __future__ import annotations

from typing import Any

from .. import _dtypes as dt
from .._dispatch import backend_of, fail, native_of, norm_axes, norm_axis, promote_binary
from .._errors import EmberError, ShapeError
from .._tensor import Tensor
from ._creation import asarray
from ._statistical import sum as _sum

_BOOL = dt.bool

__all__ = ["argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "where"]

T = Tensor


def _t(x: Any) -> Tensor:
    return x if type(x) is T else asarray(x)


def _arg(op: str, x: Any, axis: int | None, keepdims: bool) -> Tensor:
    x = _t(x)
    if axis is not None:
        axis = norm_axis(op, axis, x.ndim)
        empty = x.shape[axis] == 0
    else:
        empty = x.size == 0
    if empty:
        raise ShapeError(f"{op}: attempt to get {op} of an empty sequence (shape {x.shape}, axis {axis})")
    try:
        return T(getattr(x._b.kernels, op)(x._n, axis, keepdims), x._b)
    except Exception as exc:
        raise fail(op, (x,), exc) from exc


def argmax(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index (int64) of the first maximum along axis (of the flattened tensor when None)."""
    return _arg("argmax", x, axis, keepdims)


def argmin(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index (int64) of the first minimum along axis (of the flattened tensor when None)."""
    return _arg("argmin", x, axis, keepdims)


def count_nonzero(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Number of non-zero elements along axes (int64)."""
    from ._elementwise import not_equal

    x = _t(x)
    axes = norm_axes("count_nonzero", axis, x.ndim)
    return _sum(not_equal(x, False if x.dtype is dt.bool else 0), axis=axes, keepdims=keepdims)


def nonzero(x: Any, /) -> tuple[Tensor, ...]:
    """Indices (one int64 tensor per axis) of the non-zero elements, in row-major order."""
    x = _t(x)
    if x.ndim == 0:
        raise ShapeError("nonzero: 0-d tensors are not supported (Array API); reshape to (1,) first")
    return tuple(T(n, x._b) for n in x._b.kernels.nonzero(x._n))


def where(condition: Any, x1: Any, x2: Any, /) -> Tensor:
    """Elements of x1 where condition is true, else of x2 (operands broadcast and promote)."""
    if type(condition) is T and type(x1) is T and type(x2) is T:
        b = condition._b
        d = x1._d or x1.dtype
        if (x1._b is b and x2._b is b and (condition._d or condition.dtype) is _BOOL
                and d is (x2._d or x2.dtype)):
            try:
                return T(b.kernels.where(condition._n, x1._n, x2._n), b, d)
            except Exception as exc:
                raise fail("where", (condition, x1, x2), exc) from exc
    b = backend_of("where", condition, x1, x2)
    c = native_of(b, condition, "where", dt.bool)
    b, n1, n2, _ = promote_binary("where", x1, x2)
    try:
        return T(b.kernels.where(c, n1, n2), b)
    except Exception as exc:
        raise fail("where", (T(c, b), _t(x1) if not isinstance(x1, (int, float, complex)) else x1,
                             _t(x2) if not isinstance(x2, (int, float, complex)) else x2), exc) from exc


def searchsorted(x1: Any, x2: Any, /, *, side: str = "left", sorter: Any = None) -> Tensor:
    """Indices (int64) where x2's elements would be inserted into sorted 1-d x1."""
    if side not in ("left", "right"):
        raise EmberError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    x1 = _t(x1)
    if x1.ndim != 1:
        raise ShapeError(f"searchsorted: x1 must be 1-d, got shape {x1.shape}")
    b, n1, n2, _ = promote_binary("searchsorted", x1, x2)
    s = None if sorter is None else native_of(b, sorter, "searchsorted", dt.int64)
    return T(b.kernels.searchsorted(n1, n2, side, s), b)
