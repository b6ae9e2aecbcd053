"""Statistical kernels: sum, prod, max, min, mean, var and the cumulative sums and products."""

from __future__ import annotations

from typing import Any

import torch

from ._util import UNSIGNED_WIDE, Tensor, narrow, widen

__all__ = ["cumulative_prod", "cumulative_sum", "max", "mean", "min", "prod", "sum", "var"]

Axes = tuple[int, ...] | None


def _acc(x: Tensor) -> torch.dtype:
    """dtype=None keeps the input dtype, except that bool accumulates in int64."""
    return torch.int64 if x.dtype is torch.bool else x.dtype


def sum(x: Tensor, axis: Axes, dtype: torch.dtype | None, keepdims: bool) -> Tensor:
    if axis is None and dtype is None and not keepdims and x.is_floating_point():
        return torch.sum(x)  # the common case, without the keyword handling below
    if dtype is None and axis != ():
        # torch sums small integers (and bool) to int64: casting back wraps exactly as an
        # accumulation in the input dtype would; bool sums stay int64
        out = torch.sum(x, dim=axis, keepdim=keepdims)
        return out if out.dtype is x.dtype or x.dtype is torch.bool else out.to(x.dtype)
    dtype = dtype or _acc(x)
    if dtype in UNSIGNED_WIDE and axis != ():
        w = widen(x.to(dtype))
        return narrow(torch.sum(w, dim=axis, keepdim=keepdims, dtype=w.dtype), dtype)
    if axis == ():  # torch reduces *all* axes for dim=(); NumPy adds the identity (-0.0 -> 0.0)
        out = x.to(dtype, copy=True)
        return out + 0 if out.is_floating_point() or out.is_complex() else out
    return torch.sum(x, dim=axis, keepdim=keepdims, dtype=dtype)


def prod(x: Tensor, axis: Axes, dtype: torch.dtype | None, keepdims: bool) -> Tensor:
    dtype = dtype or _acc(x)
    if dtype in UNSIGNED_WIDE and axis != ():
        w = widen(x.to(dtype))
        return narrow(prod(w, axis, w.dtype, keepdims), dtype)
    if axis is None:
        out = torch.prod(x, dtype=dtype)
        return out.reshape((1,) * x.ndim) if keepdims else out
    if axis == ():
        return x.to(dtype, copy=True)
    if len(axis) == 1:
        return torch.prod(x, axis[0], keepdim=keepdims, dtype=dtype)
    # torch.prod takes one axis: move the reduced axes last and flatten them
    rest = [d for d in range(x.ndim) if d not in axis]
    y = x.permute(*rest, *axis).reshape(*[x.shape[d] for d in rest], -1)
    out = torch.prod(y, -1, dtype=dtype)
    if keepdims:
        out = out.reshape([1 if d in axis else x.shape[d] for d in range(x.ndim)])
    return out


def _extreme(fn: Any, x: Tensor, axis: Axes, keepdims: bool) -> Tensor:
    if axis == ():
        return x.clone()
    if axis is None:
        axis = tuple(range(x.ndim))
    if x.dtype in UNSIGNED_WIDE:
        return narrow(fn(widen(x, True), dim=axis, keepdim=keepdims), x.dtype, True)
    return fn(x, dim=axis, keepdim=keepdims)


def max(x: Tensor, axis: Axes, keepdims: bool) -> Tensor:
    return _extreme(torch.amax, x, axis, keepdims)  # NaN propagates, like NumPy


def min(x: Tensor, axis: Axes, keepdims: bool) -> Tensor:
    return _extreme(torch.amin, x, axis, keepdims)


def mean(x: Tensor, axis: Axes, keepdims: bool) -> Tensor:
    if axis == ():
        return x + 0
    return torch.mean(x, dim=axis, keepdim=keepdims)


def var(x: Tensor, axis: Axes, correction: float, keepdims: bool) -> Tensor:
    if axis == ():  # variance of single elements
        return torch.var(x.unsqueeze(-1), dim=-1, correction=correction)
    return torch.var(x, dim=axis, correction=correction, keepdim=keepdims)


def _cumulative(fn: Any, x: Tensor, axis: int, dtype: torch.dtype | None) -> Tensor:
    dtype = dtype or _acc(x)
    if dtype in UNSIGNED_WIDE:
        w = widen(x.to(dtype))
        return narrow(fn(w, axis, dtype=w.dtype), dtype)
    return fn(x, axis, dtype=dtype)


def cumulative_sum(x: Tensor, axis: int, dtype: torch.dtype | None) -> Tensor:
    return _cumulative(torch.cumsum, x, axis, dtype)


def cumulative_prod(x: Tensor, axis: int, dtype: torch.dtype | None) -> Tensor:
    return _cumulative(torch.cumprod, x, axis, dtype)
