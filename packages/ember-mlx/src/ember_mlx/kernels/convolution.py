"""Channels-last N-d convolution: ``mx.conv_general``, and patches contracted by einsum for
float64 (which ``conv_general`` loses precision on)."""

from __future__ import annotations

import math

import mlx.core as mx

from ._windows import pad, windows

__all__ = ["nn_conv"]


def nn_conv(x, weight, stride, padding, dilation, groups):
    if x.dtype == mx.float64:
        return _conv_f64(x, weight, stride, padding, dilation, groups)
    lo = [p[0] for p in padding]
    hi = [p[1] for p in padding]
    return mx.conv_general(
        x,
        weight,
        stride=list(stride),
        padding=(lo, hi),
        kernel_dilation=list(dilation),
        groups=groups,
    )


def _conv_f64(x, weight, stride, padding, dilation, groups):
    """conv_general loses float64 precision: patches (as_strided) contracted by einsum."""
    d = len(stride)
    k = weight.shape[1:-1]
    p = windows(pad(x, padding, 0), k, stride, dilation)  # (N, *out, *k, C)
    n, out = p.shape[0], p.shape[1 : 1 + d]
    cg = weight.shape[-1]
    og = weight.shape[0] // groups
    kk = math.prod(k)
    p = p.reshape(-1, kk, groups, cg)
    w = weight.reshape(groups, og, kk, cg)
    y = mx.einsum("pkgc,gokc->pgo", p, w)
    return y.reshape(n, *out, groups * og)
