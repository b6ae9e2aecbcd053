"""Set kernels (index results are int64)."""

from __future__ import annotations

import torch

from ._util import Tensor

__all__ = ["unique_all"]


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
