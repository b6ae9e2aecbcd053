"""Creation kernels. Devices are always ``None`` (the one CPU device)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "arange", "asarray", "empty", "eye", "from_dlpack", "full", "linspace", "tril", "triu",
]  # fmt: skip

_PY_DATA = (list, tuple, bool, int, float, complex, range)


def arange(start: Any, stop: Any, step: Any, dtype: np.dtype, device: Any) -> np.ndarray:
    """``ceil((stop - start) / step)`` values ``start + i * step``.

    Floating-point ranges are computed in float64 (complex128) and rounded once, so that
    ``arange(0, 1, 0.1, float32)`` is the float32 rounding of the float64 sequence (NumPy
    would otherwise step in the narrow dtype).
    """
    if stop is None:
        start, stop = 0, start
    if np.dtype(dtype).kind in "fc":
        n = max(math.ceil((stop - start) / step), 0) if step != 0 else 0
        wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
        return (start + np.arange(n, dtype=np.float64) * step).astype(wide).astype(dtype)
    return np.arange(start, stop, step, dtype=dtype)


def asarray(obj: Any, dtype: Any, device: Any, copy: bool | None) -> np.ndarray:
    """Array API ``asarray``: ``copy=True`` always copies, ``False`` never (ValueError if it
    would have to), ``None`` copies only when needed. Accepts Python data, NumPy arrays and
    anything with ``__array__``, the buffer protocol or ``__dlpack__`` (torch, mlx, ...)."""
    if not isinstance(obj, (np.ndarray, np.generic, *_PY_DATA)):
        obj = _import_foreign(obj)
    if copy is False and isinstance(obj, _PY_DATA):
        raise ValueError("asarray(copy=False): Python data cannot be used without a copy")
    if copy:
        return np.array(obj, dtype=dtype, copy=True)
    return np.asarray(obj, dtype=dtype, copy=copy)


def _import_foreign(obj: Any) -> Any:
    """Another library's array as an ndarray: DLPack first (zero copy), else ``__array__`` or
    the buffer protocol (through ``np.asarray``), else ``tolist()``."""
    if hasattr(obj, "__dlpack__"):
        try:
            return np.from_dlpack(obj)
        except (BufferError, TypeError, RuntimeError, ValueError):
            pass  # e.g. a device NumPy cannot read, or a dtype it lacks: try the other routes
    if hasattr(obj, "__array__"):
        return np.asarray(obj)
    try:
        return np.asarray(memoryview(obj))
    except TypeError:
        pass
    if callable(getattr(obj, "tolist", None)):
        return obj.tolist()
    return obj


def empty(shape: tuple[int, ...], dtype: np.dtype, device: Any) -> np.ndarray:
    """Zeros (as cheap as uninitialised memory, and deterministic)."""
    return np.zeros(shape, dtype=dtype)


def eye(n_rows: int, n_cols: int | None, k: int, dtype: np.dtype, device: Any) -> np.ndarray:
    return np.eye(n_rows, n_cols, k, dtype=dtype)


def from_dlpack(x: Any, copy: bool | None) -> np.ndarray:
    return np.from_dlpack(x) if copy is None else np.from_dlpack(x, copy=copy)


def full(shape: tuple[int, ...], fill_value: Any, dtype: np.dtype, device: Any) -> np.ndarray:
    return np.full(shape, fill_value, dtype=dtype)


def linspace(
    start: Any, stop: Any, num: int, dtype: np.dtype, device: Any, endpoint: bool
) -> np.ndarray:
    """Computed in float64 (complex128) and rounded once to ``dtype`` (NumPy's behaviour)."""
    return np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)


def tril(x: Any, k: int) -> np.ndarray:
    return np.tril(x, k)


def triu(x: Any, k: int) -> np.ndarray:
    return np.triu(x, k)
