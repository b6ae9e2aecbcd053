"""Utility kernels: all and any."""

from __future__ import annotations

from typing import Any

import torch

from ._util import Tensor

__all__ = ["all", "any"]

Axes = tuple[int, ...] | None


def _logical(fn: Any, x: Tensor, axis: Axes, keepdims: bool) -> Tensor:
    if axis == ():
        return x.to(torch.bool, copy=True)
    out = fn(x, dim=axis, keepdim=keepdims)
    return out if out.dtype is torch.bool else out.to(torch.bool)  # uint8 input gives uint8


def all(x: Tensor, axis: Axes, keepdims: bool) -> Tensor:
    return _logical(torch.all, x, axis, keepdims)


def any(x: Tensor, axis: Axes, keepdims: bool) -> Tensor:
    return _logical(torch.any, x, axis, keepdims)
