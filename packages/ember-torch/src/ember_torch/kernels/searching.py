"""Searching kernels (index results are int64)."""

from __future__ import annotations

from typing import Any

import torch

from ._util import UNSIGNED_BITS, UNSIGNED_WIDE, Tensor, bits, unbits, widen

__all__ = ["argmax", "argmin", "nonzero", "searchsorted", "where"]


def _orderable(x: Tensor) -> Tensor:
    if x.dtype in UNSIGNED_WIDE:
        return widen(x, True)
    if x.dtype is torch.bool:
        return x.to(torch.uint8)
    return x


def _arg(fn: Any, x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
    x = _orderable(x)
    if axis is None:
        out = fn(x.reshape(-1))  # the first extreme (first NaN), like NumPy
        return out.reshape((1,) * x.ndim) if keepdims else out
    return fn(x, axis, keepdim=keepdims)


def argmax(x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
    return _arg(torch.argmax, x, axis, keepdims)


def argmin(x: Tensor, axis: int | None, keepdims: bool) -> Tensor:
    return _arg(torch.argmin, x, axis, keepdims)


def nonzero(x: Tensor) -> tuple[Tensor, ...]:
    return torch.nonzero(bits(x), as_tuple=True)


def searchsorted(x1: Tensor, x2: Any, side: str, sorter: Tensor | None) -> Tensor:
    if x1.dtype in UNSIGNED_WIDE or x1.dtype is torch.bool:
        if not isinstance(x2, Tensor):
            x2 = torch.tensor(x2, dtype=x1.dtype, device=x1.device)
        x1, x2 = _orderable(x1), _orderable(x2)
    elif x1.is_floating_point():
        # NumPy sorts NaN last and searches NaN-aware; torch's comparisons are not
        xs = x1 if sorter is None else x1.take(sorter)
        nan = torch.isnan(xs)
        if bool(nan.any()):
            m = int(xs.numel() - nan.sum())
            out = torch.searchsorted(xs[:m].contiguous(), x2, side=side)
            if isinstance(x2, Tensor):
                return torch.where(torch.isnan(x2), m if side == "left" else xs.numel(), out)
            return out
    return torch.searchsorted(x1, x2, side=side, sorter=sorter)


def where(condition: Tensor, x1: Any, x2: Any) -> Tensor:
    try:
        return torch.where(condition, x1, x2)
    except (RuntimeError, NotImplementedError):
        t = x1 if isinstance(x1, Tensor) else x2
        dt = t.dtype
        if dt not in UNSIGNED_BITS:
            raise
        x1 = x1 if isinstance(x1, Tensor) else torch.tensor(x1, dtype=dt, device=t.device)
        x2 = x2 if isinstance(x2, Tensor) else torch.tensor(x2, dtype=dt, device=t.device)
        return unbits(torch.where(condition, bits(x1), bits(x2)), dt)
