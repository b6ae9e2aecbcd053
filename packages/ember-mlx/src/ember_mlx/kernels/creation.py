"""Creation kernels."""

from __future__ import annotations

import math
from typing import Any

import mlx.core as mx

from .._lazy_numpy import is_numpy, np
from ._util import MX_TO_NP, from_numpy, is_inexact, scalar_array

__all__ = ["arange", "asarray", "empty", "eye", "from_dlpack", "full", "linspace", "tril", "triu"]


def arange(start, stop, step, dtype, device):
    if stop is None:
        start, stop = 0, start
    if not is_inexact(dtype):
        n = max(math.ceil((stop - start) / step), 0)
        # integer arange: start + i*step exactly (MLX's own arange is exact for ints too,
        # but computes the length in floating point)
        return (
            mx.arange(n, dtype=dtype, stream=device) * step + start
            if n
            else mx.zeros((0,), dtype=dtype, stream=device)
        )
    if dtype in (mx.float16, mx.bfloat16):
        return mx.arange(start, stop, step, dtype=mx.float32, stream=device).astype(dtype)
    return mx.arange(start, stop, step, dtype=dtype, stream=device)


#: dtypes ``mx.array`` makes from Python numbers with NumPy's rounding; not the integer dtypes
#: (MLX wraps 300 to uint8 44 where NumPy raises) nor float16 (MLX may round via float32)
_DIRECT = (mx.float32, mx.complex64, mx.bool_)


def _from_python(obj: Any, dtype: Any) -> mx.array:
    if dtype in _DIRECT:  # MLX rounds Python numbers to these as NumPy does (no NumPy import)
        try:
            return mx.array(obj, dtype=dtype)
        except (RuntimeError, ValueError, TypeError):
            pass  # a huge int (std::bad_cast), a ragged list: NumPy says what is wrong
    if dtype is None:
        arr = np.asarray(obj)
        return from_numpy(arr)
    if dtype == mx.bfloat16:
        return mx.array(np.asarray(obj, dtype=np.float32)).astype(mx.bfloat16)
    return from_numpy(np.asarray(obj, dtype=MX_TO_NP[dtype]), dtype)


def asarray(obj, dtype, device, copy):
    if isinstance(obj, mx.array):
        if dtype is not None and obj.dtype != dtype:
            if copy is False:
                raise ValueError("asarray(copy=False) needs a dtype conversion")
            return obj.astype(dtype, stream=device)
        return mx.array(obj) if copy else obj
    if copy is False:
        raise ValueError("asarray(copy=False): converting to an MLX array always copies")
    if is_numpy(obj):
        return from_numpy(np.asarray(obj), dtype)
    if hasattr(obj, "__dlpack__"):
        return _dlpack(obj, dtype)
    return _from_python(obj, dtype)


def _dlpack(obj: Any, dtype: Any) -> mx.array:
    try:
        host = np.from_dlpack(obj)
    except (TypeError, RuntimeError, BufferError, ValueError):
        # e.g. bfloat16, which NumPy cannot hold: let MLX import it directly
        arr = mx.from_dlpack(obj)
        return arr if dtype is None or arr.dtype == dtype else arr.astype(dtype)
    return from_numpy(host, dtype)


def from_dlpack(x, copy):
    if isinstance(x, mx.array):
        return mx.array(x) if copy else x
    if copy is False:
        raise BufferError("MLX copies every array it imports into its own memory")
    return _dlpack(x, None)


def empty(shape, dtype, device):
    return mx.zeros(shape, dtype=dtype, stream=device)


def eye(n_rows, n_cols, k, dtype, device):
    return mx.eye(n_rows, n_cols, k, dtype=dtype, stream=device)


def full(shape, fill_value, dtype, device):
    if isinstance(fill_value, mx.array):
        return mx.broadcast_to(fill_value.astype(dtype), shape)
    if isinstance(fill_value, int) and not isinstance(fill_value, bool) and fill_value > 2**63 - 1:
        return mx.broadcast_to(scalar_array(fill_value, dtype), shape) * 1
    if dtype == mx.complex64:  # mx.full(..., dtype=complex64) gives float32
        # the value itself, not zeros + value: 0 + (-0) is +0, which lost a part's signed zero
        return mx.contiguous(mx.broadcast_to(scalar_array(complex(fill_value), dtype), shape),
                             stream=device)
    return mx.full(shape, fill_value, dtype=dtype, stream=device)


def linspace(start, stop, num, dtype, device, endpoint):
    """NumPy's algorithm: ``start + i * step`` with the last sample set to ``stop`` exactly."""
    div = (num - 1) if endpoint else num
    if dtype == mx.complex64 or isinstance(start, complex) or isinstance(stop, complex):
        work = mx.complex64
    elif dtype == mx.float64:
        work = mx.float64
    else:
        work = mx.float32
    i = mx.arange(num, dtype=mx.float32 if work == mx.complex64 else work, stream=device)
    if div > 0:
        step = (stop - start) / div
        y = i * step + start if step != 0 else i / div * (stop - start) + start
        if endpoint and num > 1:
            y = mx.concatenate([y[:-1], mx.array([stop], dtype=work)])
    else:
        y = i * (stop - start) + start
    if not is_inexact(dtype):
        y = mx.floor(y)
    return y.astype(dtype, stream=device)


def tril(x, k):
    return mx.tril(x, k) if x.ndim == 2 else _tri_mask(x, k, lower=True)


def triu(x, k):
    return mx.triu(x, k) if x.ndim == 2 else _tri_mask(x, k, lower=False)


def _tri_mask(x: mx.array, k: int, *, lower: bool) -> mx.array:
    n, m = x.shape[-2], x.shape[-1]
    keep = mx.tri(n, m, k, dtype=mx.bool_)
    if not lower:
        keep = mx.logical_not(mx.tri(n, m, k - 1, dtype=mx.bool_))
    return mx.where(keep, x, mx.zeros((), dtype=x.dtype))
