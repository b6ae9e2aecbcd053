"""Statistical, searching, sorting, set and utility kernels.

``dtype=None`` in ``sum``/``prod``/``cumulative_*`` keeps the input dtype (NumPy alone would
widen small integers to int64); boolean input is summed / multiplied as int64. Index results
are int64. Sorting is always stable; NaNs sort last ascending, first descending.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "all", "any", "argmax", "argmin", "argsort", "cumulative_prod", "cumulative_sum", "max",
    "mean", "min", "nonzero", "prod", "searchsorted", "sort", "sum", "unique_all", "var",
    "where",
]  # fmt: skip

_INT64 = np.dtype(np.int64)


def _acc_dtype(x: Any, dtype: Any) -> Any:
    if dtype is not None:
        return dtype
    return _INT64 if x.dtype.kind == "b" else x.dtype


# -- statistical -----------------------------------------------------------------------------


_add_reduce = np.add.reduce
_multiply_reduce = np.multiply.reduce


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


# -- utility ---------------------------------------------------------------------------------


def all(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.all(x, axis=axis, keepdims=keepdims)


def any(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    return np.any(x, axis=axis, keepdims=keepdims)


# -- searching -------------------------------------------------------------------------------


def argmax(x: Any, axis: int | None, keepdims: bool) -> Any:
    """Index (int64) of the first maximum; a NaN counts as the maximum."""
    return np.argmax(x, axis=axis, keepdims=keepdims).astype(_INT64, copy=False)


def argmin(x: Any, axis: int | None, keepdims: bool) -> Any:
    """Index (int64) of the first minimum; a NaN counts as the minimum."""
    return np.argmin(x, axis=axis, keepdims=keepdims).astype(_INT64, copy=False)


def nonzero(x: Any) -> tuple[np.ndarray, ...]:
    return tuple(i.astype(_INT64, copy=False) for i in np.nonzero(x))


def searchsorted(x1: Any, x2: Any, side: Any, sorter: Any) -> Any:
    """Insertion indices (int64) of ``x2`` into the sorted 1-d ``x1`` (NaNs sort last)."""
    return np.searchsorted(x1, x2, side=side, sorter=sorter).astype(_INT64, copy=False)


def where(condition: Any, x1: Any, x2: Any) -> Any:
    return np.where(condition, x1, x2)


# -- sorting ---------------------------------------------------------------------------------


def argsort(x: Any, axis: int, descending: bool, stable: bool) -> np.ndarray:
    """Stable in both directions: equal elements keep their order (descending too)."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable").astype(_INT64, copy=False)
    n = np.shape(x)[axis]
    rev = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return (n - 1 - np.flip(rev, axis)).astype(_INT64, copy=False)


def sort(x: Any, axis: int, descending: bool, stable: bool) -> np.ndarray:
    out = np.sort(x, axis=axis, kind="stable")
    return np.flip(out, axis) if descending else out


# -- set -------------------------------------------------------------------------------------


def unique_all(x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(values, indices, inverse_indices, counts)`` of the flattened input.

    ``values`` are sorted; ``indices`` are first occurrences; ``inverse_indices`` has ``x``'s
    shape. Every NaN is its own value (NaN != NaN), as the Array API specifies; ``-0.0`` and
    ``0.0`` are one value, represented by whichever occurs first.
    """
    x = np.asarray(x)
    flat = x.reshape(-1)
    order = np.argsort(flat, kind="stable")
    s = flat[order]
    first = np.empty(s.shape, dtype=bool)
    first[:1] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])  # NaN != NaN: each NaN starts a group
    starts = np.flatnonzero(first)
    values = s[starts]
    indices = order[starts].astype(_INT64, copy=False)
    counts = np.diff(np.append(starts, s.size)).astype(_INT64, copy=False)
    inverse = np.empty(flat.shape, dtype=_INT64)
    inverse[order] = np.cumsum(first, dtype=_INT64) - 1
    return values, indices, inverse.reshape(x.shape), counts
