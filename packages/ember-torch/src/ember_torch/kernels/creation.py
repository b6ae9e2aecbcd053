"""Creation kernels."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from ._util import PY_SCALARS, UNSIGNED_BITS, Tensor, bits, scalar_tensor, unbits

__all__ = [
    "arange", "asarray", "empty", "eye", "from_dlpack", "full", "linspace", "tril", "triu",
]


def arange(start: Any, stop: Any, step: Any, dtype: torch.dtype, device: Any) -> Tensor:
    if stop is None:
        start, stop = 0, start
    if dtype in UNSIGNED_BITS:  # torch has no arange for uint16+
        return torch.arange(start, stop, step, dtype=torch.int64, device=device).to(dtype)
    if not dtype.is_floating_point:
        return torch.arange(start, stop, step, dtype=dtype, device=device)
    # NumPy: n = ceil((stop - start) / step); x[i] = x0 + i * (x1 - x0) with x0 = dtype(start),
    # x1 = dtype(start + step), computed in the dtype (float32 for half types)
    n = max(math.ceil((stop - start) / step), 0)
    calc = torch.float64 if dtype is torch.float64 else torch.float32
    x0 = torch.tensor(start, dtype=dtype).to(calc)
    delta = torch.tensor(start + step, dtype=dtype).to(calc) - x0
    out = x0 + torch.arange(n, dtype=calc, device=device) * delta.to(device)
    return out.to(dtype)


def asarray(obj: Any, dtype: torch.dtype | None, device: Any, copy: bool | None) -> Tensor:
    if isinstance(obj, Tensor):
        out = obj.to(device=device if device is not None else obj.device, dtype=dtype or obj.dtype)
        if copy and out is obj:
            return obj.clone()
        if copy is False and out is not obj:
            raise ValueError("asarray(copy=False) needs a copy to change dtype or device")
        return out
    if type(obj) in PY_SCALARS:
        return scalar_tensor(obj, dtype, device)
    if isinstance(obj, np.ndarray) and copy is not False and (
        not obj.flags.writeable or any(st < 0 for st in obj.strides)
    ):
        # torch warns on read-only buffers and rejects negative strides (np.flip, x[::-1]):
        # copy them, as NumPy would
        obj = obj.copy()
        copy = None
    if copy:
        return torch.tensor(obj, dtype=dtype, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = torch.as_tensor(obj, dtype=dtype, device=device)
    if copy is False and isinstance(obj, np.ndarray) and out.data_ptr() != obj.ctypes.data:
        raise ValueError("asarray(copy=False) needs a copy to convert this array")
    return out


def empty(shape: tuple[int, ...], dtype: torch.dtype, device: Any) -> Tensor:
    return torch.empty(shape, dtype=dtype, device=device)


def full(shape: tuple[int, ...], fill_value: Any, dtype: torch.dtype, device: Any) -> Tensor:
    return torch.full(shape, fill_value, dtype=dtype, device=device)


def eye(n_rows: int, n_cols: int | None, k: int, dtype: torch.dtype, device: Any) -> Tensor:
    n_cols = n_rows if n_cols is None else n_cols
    if k == 0 and dtype not in UNSIGNED_BITS:
        return torch.eye(n_rows, n_cols, dtype=dtype, device=device)
    out = torch.zeros((n_rows, n_cols), dtype=dtype, device=device)
    out.diagonal(k).fill_(1)
    return out


def from_dlpack(x: Any, copy: bool | None) -> Tensor:
    return torch.from_dlpack(x) if copy is None else torch.from_dlpack(x, copy=copy)


def linspace(
    start: Any, stop: Any, num: int, dtype: torch.dtype, device: Any, endpoint: bool
) -> Tensor:
    # computed in double (complex128 for complex) then cast, as NumPy does
    wide = torch.complex128 if isinstance(start, complex) or isinstance(stop, complex) or (
        dtype.is_complex
    ) else torch.float64
    if endpoint:
        out = torch.linspace(start, stop, num, dtype=wide, device=device)
    else:
        out = torch.linspace(start, stop, num + 1, dtype=wide, device=device)[:-1]
    if not (dtype.is_floating_point or dtype.is_complex or dtype is torch.bool):
        out = torch.floor(out)  # NumPy 2 floors for integer dtypes
    return out.to(dtype)


def tril(x: Tensor, k: int) -> Tensor:
    return unbits(torch.tril(bits(x), k), x.dtype)


def triu(x: Tensor, k: int) -> Tensor:
    return unbits(torch.triu(bits(x), k), x.dtype)
