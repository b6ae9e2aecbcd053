"""Searching, sorting and set kernels (index results are int64)."""

from __future__ import annotations

from typing import Any

import torch

from ._util import UNSIGNED_BITS, UNSIGNED_WIDE, Tensor, bits, narrow, unbits, widen

__all__ = [
    "argmax", "argmin", "argsort", "nonzero", "searchsorted", "sort", "unique_all", "where",
]


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


def sort(x: Tensor, axis: int, descending: bool, stable: bool) -> Tensor:
    # NaNs sort last ascending and first descending, as NumPy's flip-of-ascending gives
    if x.dtype in UNSIGNED_WIDE:  # torch's CUDA sort has no uint16+: sort an ordered view
        return narrow(torch.sort(widen(x, True), dim=axis, descending=descending,
                                 stable=True).values, x.dtype, True)
    return torch.sort(x, dim=axis, descending=descending, stable=True).values


def argsort(x: Tensor, axis: int, descending: bool, stable: bool) -> Tensor:
    # always stable: ties keep their order (also when descending), so results are reproducible
    if x.dtype in UNSIGNED_WIDE:
        x = widen(x, True)
    return torch.argsort(x, dim=axis, descending=descending, stable=True)


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


def _unique_complex(flat: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """torch.unique has no complex kernel: sort in NumPy's complex order (by real, then
    imaginary part; values with a NaN part last, as ``[R + Rj, R + nanj, nan + Rj, nan +
    nanj]``) with stable sorts, then group equal neighbours (a NaN equals nothing)."""
    n = flat.numel()
    re, im = flat.real, flat.imag
    rnan, inan = torch.isnan(re), torch.isnan(im)
    order = torch.argsort(im, stable=True)
    order = order[torch.argsort(re[order], stable=True)]
    cls = (rnan.to(torch.int64) * 2 + (inan & ~rnan).to(torch.int64))  # 0, 1 (R+nanj), 2, 3
    cls = torch.where(rnan & ~inan, 2, torch.where(rnan & inan, 3, cls))
    order = order[torch.argsort(cls[order], stable=True)]
    s = flat[order]
    first = torch.ones(n, dtype=torch.bool, device=flat.device)
    if n > 1:
        first[1:] = s[1:] != s[:-1]  # NaN != NaN: each NaN starts a group
    group = torch.cumsum(first.to(torch.int64), 0) - 1
    starts = first.nonzero().reshape(-1)
    inverse = torch.empty(n, dtype=torch.int64, device=flat.device)
    inverse[order] = group
    counts = torch.diff(torch.cat([starts, torch.tensor([n], device=flat.device)]))
    return s[starts], order[starts], inverse, counts


def unique_all(x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    flat = x.reshape(-1)
    if flat.is_complex():
        values, indices, inverse, counts = _unique_complex(flat)
        return values, indices, inverse.reshape(x.shape), counts
    values, inverse, counts = torch.unique(
        flat, sorted=True, return_inverse=True, return_counts=True
    )
    # torch gives no first-occurrence indices: the least position mapping to each value
    n = flat.numel()
    positions = torch.arange(n, device=x.device)
    indices = torch.full((values.numel(),), n, dtype=torch.int64, device=x.device)
    indices.scatter_reduce_(0, inverse, positions, "amin", include_self=True)
    if flat.is_floating_point() or flat.is_complex():
        # every NaN is its own value, sorted last; NumPy numbers them in order of occurrence
        nan_pos = torch.isnan(flat).nonzero().reshape(-1)
        k = nan_pos.numel()
        if k:
            slots = torch.arange(values.numel() - k, values.numel(), device=x.device)
            inverse = inverse.clone()
            inverse[nan_pos] = slots
            indices[slots] = nan_pos
    return values, indices, inverse.reshape(x.shape), counts
