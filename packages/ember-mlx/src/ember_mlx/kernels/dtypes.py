"""Data-type kernels: ``astype``."""

from __future__ import annotations

import mlx.core as mx

__all__ = ["astype"]


def astype(x, dtype, copy):
    if x.dtype == dtype:
        return mx.array(x) if copy else x
    return x.astype(dtype)
