"""Channels-last N-d convolution and pooling (any number of spatial axes).

All three kernels pad once, take a strided *window view* of the padded input (no copy) of
shape ``(N, *out_spatial, *window, C)`` and reduce it: convolution as one batched matmul over
groups (im2col), pooling as a max/sum over the window axes. Convolution is cross-correlation
(the kernel is not flipped), as in every deep learning framework.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["nn_avg_pool", "nn_conv", "nn_max_pool"]

Pairs = tuple[tuple[int, int], ...]


def _pad(x: np.ndarray, padding: Pairs, value: Any) -> np.ndarray:
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


def _windows(
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


def nn_conv(
    x: Any,
    weight: Any,
    stride: tuple[int, ...],
    padding: Pairs,
    dilation: tuple[int, ...],
    groups: int,
) -> np.ndarray:
    """N-d convolution: ``x`` ``(N, *spatial, C_in)``, ``weight`` ``(C_out, *kernel, C_in/groups)``.

    Output channel ``o`` belongs to group ``o // (C_out / groups)`` and sees input channels
    ``[g * C_in/groups, (g + 1) * C_in/groups)``.
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    nd = x.ndim - 2
    kernel = weight.shape[1:-1]
    c_in, c_out = x.shape[-1], weight.shape[0]
    cig, cog = c_in // groups, c_out // groups
    if cig * groups != c_in or cog * groups != c_out or weight.shape[-1] != cig:
        raise ValueError(
            f"conv: input channels {c_in} and weight {weight.shape} do not match groups={groups}"
        )
    win = _windows(_pad(x, padding, 0), kernel, stride, dilation)  # (N, *out, *k, C_in)
    n, out = win.shape[0], win.shape[1 : 1 + nd]
    m = n * int(np.prod(out, dtype=np.int64))
    kk = int(np.prod(kernel, dtype=np.int64))
    if cig == 1 and groups > 1:
        return _depthwise(win.reshape(m, kk, groups), weight, n, out, kk, groups, cog)
    # im2col: (groups, M, K * cig)   [copy]
    cols = win.reshape(m, kk, groups, cig).transpose(2, 0, 1, 3).reshape(groups, m, kk * cig)
    # weight: (groups, K * cig, cog)
    w = weight.reshape(groups, cog, kk * cig).transpose(0, 2, 1)
    res = np.matmul(cols, w)  # (groups, M, cog)
    return res.transpose(1, 0, 2).reshape(n, *out, c_out)


def _depthwise(
    win: np.ndarray, weight: np.ndarray, n: int, out: tuple[int, ...], kk: int, g: int, cog: int
) -> np.ndarray:
    """One input channel per group: a multiply-add per kernel tap (no im2col, no matmul)."""
    w = weight.reshape(g, cog, kk)  # output channel g * cog + o
    acc = np.zeros((win.shape[0], g, cog), dtype=np.result_type(win, weight))
    for k in range(kk):
        acc += win[:, k, :, np.newaxis] * w[np.newaxis, :, :, k]
    return acc.reshape(n, *out, g * cog)


def nn_max_pool(
    x: Any, window: tuple[int, ...], stride: tuple[int, ...], padding: Pairs
) -> np.ndarray:
    """Max over each window; padding counts as -inf (the dtype's minimum for integers)."""
    x = np.asarray(x)
    fill = -np.inf if x.dtype.kind in "fc" else np.iinfo(x.dtype).min
    win = _windows(_pad(x, padding, fill), window, stride, (1,) * len(window))
    nd = len(window)
    return np.max(win, axis=tuple(range(1 + nd, 1 + 2 * nd)))


def nn_avg_pool(
    x: Any, window: tuple[int, ...], stride: tuple[int, ...], padding: Pairs, divisor: Any
) -> np.ndarray:
    """Each window's sum (padding counts as 0; float16 accumulates in float32) over
    ``divisor``: the window size where it is None, else ember-core's counts of non-padding
    elements, shaped ``(1, *out_spatial, 1)``."""
    x = np.asarray(x)
    dtype = x.dtype
    acc = np.float32 if dtype == np.float16 else dtype
    win = _windows(_pad(x, padding, 0), window, stride, (1,) * len(window))
    nd = len(window)
    total = np.sum(win, axis=tuple(range(1 + nd, 1 + 2 * nd)), dtype=acc)
    d = np.asarray(int(np.prod(window)), dtype=acc) if divisor is None else divisor
    return (total / d).astype(dtype, copy=False)
