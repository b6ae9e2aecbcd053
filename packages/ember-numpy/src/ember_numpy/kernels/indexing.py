"""Indexing kernels: take, getitem and the functional index update."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["getitem", "index_update", "take"]


def take(x: Any, indices: Any, axis: int) -> Any:
    return np.take(x, indices, axis=axis)


def getitem(x: Any, key: tuple[Any, ...]) -> Any:
    """``x[key]`` with NumPy semantics (key items: int, slice, None, Ellipsis, int64/bool arrays)."""
    if type(x) is not np.ndarray:
        x = np.asarray(x)
    return x[key]


_ACCUMULATE = {
    "add": np.add,
    "multiply": np.multiply,
    "min": np.minimum,
    "max": np.maximum,
}


def index_update(x: Any, key: tuple[Any, ...], values: Any, mode: str) -> np.ndarray:
    """A copy of ``x`` with ``x[key]`` set to / combined with ``values``.

    For ``add``/``multiply``/``min``/``max`` repeated integer indices accumulate (``ufunc.at``);
    for ``set`` with repeated indices the last write wins (NumPy's order).
    """
    out = np.array(x, copy=True)
    if mode == "set":
        out[key] = values
        return out
    ufunc = _ACCUMULATE.get(mode)
    if ufunc is None:
        raise ValueError(f"index_update mode must be set/add/multiply/min/max, got {mode!r}")
    if any(isinstance(k, np.ndarray) and k.dtype.kind != "b" for k in key):
        ufunc.at(out, key, values)  # integer arrays may repeat an index: accumulate
    else:
        out[key] = ufunc(out[key], values)  # basic indices and masks never repeat
    return out
