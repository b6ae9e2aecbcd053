"""Padding and sliding-window views shared by the convolution and pooling kernels."""

from __future__ import annotations

import mlx.core as mx


def windows(x, window, stride, dilation=None):
    """(N, *spatial, C) -> (N, *out, *window, C) sliding-window view."""
    dilation = dilation or (1,) * len(window)
    x = mx.contiguous(x)
    shape = x.shape
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    d = len(window)
    out = [(shape[1 + i] - dilation[i] * (window[i] - 1) - 1) // stride[i] + 1 for i in range(d)]
    new_shape = [shape[0], *out, *window, shape[-1]]
    new_strides = [
        strides[0],
        *(strides[1 + i] * stride[i] for i in range(d)),
        *(strides[1 + i] * dilation[i] for i in range(d)),
        strides[-1],
    ]
    return mx.as_strided(x, new_shape, new_strides)


def pad(x, padding, value):
    if not any(lo or hi for lo, hi in padding):
        return x
    widths = [(0, 0), *((lo, hi) for lo, hi in padding), (0, 0)]
    return mx.pad(x, widths, constant_values=value)
