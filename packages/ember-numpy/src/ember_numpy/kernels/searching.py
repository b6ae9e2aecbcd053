"""Searching kernels. Index results are int64."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["argmax", "argmin", "nonzero", "searchsorted", "where"]

_INT64 = np.dtype(np.int64)


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
