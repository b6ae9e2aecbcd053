"""Data-type kernels: casts."""

from __future__ import annotations

import torch

from ._util import Tensor

__all__ = ["astype"]


def astype(x: Tensor, dtype: torch.dtype, copy: bool) -> Tensor:
    return x.to(dtype, copy=bool(copy))
