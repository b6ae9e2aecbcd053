"""Sorting kernels (index results are int64)."""

from __future__ import annotations

import torch

from ._util import UNSIGNED_WIDE, Tensor, narrow, widen

__all__ = ["argsort", "sort"]


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
