"""Channels-last N-d convolution (any number of spatial axes): pad once, take a strided
window view of the padded input (``_windows``) and contract it as one batched matmul over
groups (im2col). Convolution is cross-correlation (the kernel is not flipped), as in every deep
learning framework.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._windows import Pairs, pad, windows

__all__ = ["nn_conv"]


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
    win = windows(pad(x, padding, 0), kernel, stride, dilation)  # (N, *out, *k, C_in)
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
