"""Searching, sorting and set ops: argmax, argmin, nonzero, searchsorted, where, sort,
argsort and the unique_* family."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import _dtypes as dt
from .._dispatch import backend_of, fail, native_of, norm_axis, promote_binary
from .._errors import EmberError, ShapeError
from .._tensor import Tensor
from ._creation import asarray

_BOOL = dt.bool

__all__ = [
    "argmax", "argmin", "argsort", "nonzero", "searchsorted", "sort", "unique_all",
    "unique_counts", "unique_inverse", "unique_values", "where",
]

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


def _sort(op: str, x: Any, axis: int, descending: bool, stable: bool) -> Tensor:
    x = _t(x)
    if x.ndim == 0:
        raise ShapeError(f"{op}: 0-d tensors have no axis to sort")
    axis = norm_axis(op, axis, x.ndim)
    try:
        return T(getattr(x._b.kernels, op)(x._n, axis, descending, stable), x._b)
    except Exception as exc:
        raise fail(op, (x,), exc) from exc


def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Tensor:
    """A sorted copy of x along axis (NaNs last)."""
    return _sort("sort", x, axis, descending, stable)


def argsort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Tensor:
    """Indices (int64) that sort x along axis; stable sorts keep equal elements in order."""
    return _sort("argsort", x, axis, descending, stable)


class UniqueAllResult(NamedTuple):
    values: Tensor
    indices: Tensor
    inverse_indices: Tensor
    counts: Tensor


class UniqueCountsResult(NamedTuple):
    values: Tensor
    counts: Tensor


class UniqueInverseResult(NamedTuple):
    values: Tensor
    inverse_indices: Tensor


def unique_all(x: Any, /) -> UniqueAllResult:
    """Sorted unique values of x with first indices, inverse indices (x's shape) and counts."""
    x = _t(x)
    v, i, inv, c = x._b.kernels.unique_all(x._n)
    return UniqueAllResult(T(v, x._b), T(i, x._b), T(inv, x._b), T(c, x._b))


def unique_counts(x: Any, /) -> UniqueCountsResult:
    """Sorted unique values of x and how often each occurs."""
    r = unique_all(x)
    return UniqueCountsResult(r.values, r.counts)


def unique_inverse(x: Any, /) -> UniqueInverseResult:
    """Sorted unique values of x and, for each element of x, the index of its value."""
    r = unique_all(x)
    return UniqueInverseResult(r.values, r.inverse_indices)


def unique_values(x: Any, /) -> Tensor:
    """Sorted unique values of x."""
    return unique_all(x).values



