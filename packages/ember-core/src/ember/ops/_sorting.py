"""Sorting functions: sort, argsort."""

from __future__ import annotations

from typing import Any

from .._dispatch import fail, norm_axis
from .._errors import ShapeError
from .._tensor import Tensor
from ._creation import asarray

__all__ = ["argsort", "sort"]

T = Tensor


def _t(x: Any) -> Tensor:
    return x if type(x) is T else asarray(x)


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
