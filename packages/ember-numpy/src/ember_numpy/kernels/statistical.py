"""Statistical kernels.

``dtype=None`` in ``sum``/``prod``/``cumulative_*`` keeps the input dtype (NumPy alone would
widen small integers to int64); boolean input is summed / multiplied as int64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["cumulative_prod", "cumulative_sum", "max", "mean", "min", "prod", "sum", "var"]

_INT64 = np.dtype(np.int64)


def _acc_dtype(x: Any, dtype: Any) -> Any:
    if dtype is not None:
        return dtype
    return _INT64 if x.dtype.kind == "b" else x.dtype


_add_reduce: Any = np.add.reduce  # typed Any: numpy's stubs take no keepdims: bool here
_multiply_reduce: Any = np.multiply.reduce


def sum(x: Any, axis: tuple[int, ...] | None, dtype: Any, keepdims: bool) -> Any:
    # the ufunc's reduce skips np.sum's Python-level wrapper (a third of a 4x4 sum's time)
    return _add_reduce(x, axis=axis, dtype=_acc_dtype(x, dtype), keepdims=keepdims)


def prod(x: Any, axis: tuple[int, ...] | None, dtype: Any, keepdims: bool) -> Any:
    return _multiply_reduce(x, axis=axis, dtype=_acc_dtype(x, dtype), keepdims=keepdims)


def max(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Maximum; NaN propagates; ValueError on an empty reduction."""
    return np.max(x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Minimum; NaN propagates; ValueError on an empty reduction."""
    return np.min(x, axis=axis, keepdims=keepdims)


def _count(x: Any, axis: tuple[int, ...] | None) -> int:
    shape = np.shape(x)
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axis], dtype=np.int64))


def _nan_like_reduction(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """NaNs shaped like a reduction of ``x`` (real dtype), without NumPy's warnings."""
    out = np.sum(np.real(x), axis=axis, keepdims=keepdims)
    return np.full_like(out, np.nan)


def mean(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Mean (float16 accumulates in float32); NaN for an empty reduction."""
    if np.size(x) == 0 and _count(x, axis) == 0:
        return np.full_like(np.sum(x, axis=axis, keepdims=keepdims), np.nan)
    return np.mean(x, axis=axis, keepdims=keepdims)


def var(x: Any, axis: tuple[int, ...] | None, correction: float, keepdims: bool) -> Any:
    """Variance with ``correction`` degrees of freedom removed; NaN when ``N - correction <= 0``
    (NumPy alone would give inf or NaN and warn)."""
    if _count(x, axis) - correction <= 0:
        return _nan_like_reduction(x, axis, keepdims)
    return np.var(x, axis=axis, ddof=correction, keepdims=keepdims)


def cumulative_sum(x: Any, axis: int, dtype: Any) -> np.ndarray:
    """Running sum along ``axis`` (ember-core prepends include_initial's 0)."""
    x = np.asarray(x)
    return np.add.accumulate(x, axis=axis, dtype=_acc_dtype(x, dtype))


def cumulative_prod(x: Any, axis: int, dtype: Any) -> np.ndarray:
    """Running product along ``axis`` (ember-core prepends include_initial's 1)."""
    x = np.asarray(x)
    return np.multiply.accumulate(x, axis=axis, dtype=_acc_dtype(x, dtype))
