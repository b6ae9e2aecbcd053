"""Padding and strided window views shared by the convolution and pooling kernels.

Both pad once, take a strided *window view* of the padded input (no copy) of shape
``(N, *out_spatial, *window, C)`` and reduce it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

Pairs = tuple[tuple[int, int], ...]


def pad(x: np.ndarray, padding: Pairs, value: Any) -> np.ndarray:
    """Pad the spatial axes; negative amounts crop."""
    if any(lo < 0 or hi < 0 for lo, hi in padding):
        index = (slice(None),) + tuple(
            slice(max(-lo, 0), x.shape[1 + i] - max(-hi, 0)) for i, (lo, hi) in enumerate(padding)
        )
        x = x[index]
        padding = tuple((max(lo, 0), max(hi, 0)) for lo, hi in padding)
    if any(lo or hi for lo, hi in padding):
        x = np.pad(x, ((0, 0), *padding, (0, 0)), constant_values=value)
    return x


def windows(
    x: np.ndarray, window: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> np.ndarray:
    """Read-only view ``(N, *out, *window, C)`` of the (already padded) input."""
    spatial = x.shape[1:-1]
    out = tuple(
        max((size - d * (k - 1) - 1) // s + 1, 0)
        for size, k, s, d in zip(spatial, window, stride, dilation)
    )
    st = x.strides
    sp_strides = st[1:-1]
    shape = (x.shape[0], *out, *window, x.shape[-1])
    strides = (
        st[0],
        *(a * s for a, s in zip(sp_strides, stride)),
        *(a * d for a, d in zip(sp_strides, dilation)),
        st[-1],
    )
    return as_strided(x, shape=shape, strides=strides, writeable=False)
