"""Normalization kernels: ``mx.fast`` layer/RMS norm over the last axis, plain MLX otherwise."""

from __future__ import annotations

import mlx.core as mx

__all__ = ["nn_layer_norm", "nn_rms_norm"]

F64 = mx.float64


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def nn_layer_norm(x, weight, bias, axis, eps):
    if x.size == 0:
        return x
    axes = _axes(axis, x.ndim)
    if (
        x.dtype != F64
        and axes == (x.ndim - 1,)
        and (weight is None or weight.ndim == 1)
        and (bias is None or bias.ndim == 1)
    ):
        return mx.fast.layer_norm(x, weight, bias, eps)
    low = x.dtype in (mx.float16, mx.bfloat16)  # statistics in float32, as NumPy and torch do
    xs = x.astype(mx.float32) if low else x
    mean = mx.mean(xs, axis=axes, keepdims=True)
    var = mx.var(xs, axis=axes, keepdims=True)
    y = ((xs - mean) * mx.rsqrt(var + eps)).astype(x.dtype)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def nn_rms_norm(x, weight, axis, eps):
    if x.size == 0:
        return x
    axes = _axes(axis, x.ndim)
    if x.dtype != F64 and axes == (x.ndim - 1,) and (weight is None or weight.ndim == 1):
        return mx.fast.rms_norm(x, weight, eps)
    y = x * mx.rsqrt(mx.mean(mx.square(x), axis=axes, keepdims=True) + eps)
    return y * weight if weight is not None else y
