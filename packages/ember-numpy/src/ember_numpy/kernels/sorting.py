"""Sorting kernels. Sorting is always stable; NaNs sort last ascending, first descending.
Index results are int64."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["argsort", "sort"]

_INT64 = np.dtype(np.int64)


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
