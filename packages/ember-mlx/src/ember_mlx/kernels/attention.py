"""Attention kernel: ``mx.fast.scaled_dot_product_attention`` (plain MLX for float64)."""

from __future__ import annotations

import math

import mlx.core as mx

from . import _f64

__all__ = ["nn_scaled_dot_product_attention"]

F64 = mx.float64


def nn_scaled_dot_product_attention(q, k, v, mask, is_causal, scale):
    """mx.fast.scaled_dot_product_attention on ember-core's finished mask (causal rule and
    window already in it, an additive one in q's dtype; is_causal only with no mask and
    L == S). It takes (B, H, L, D) arrays of one batch shape: batch axes are broadcast and
    flattened into H."""
    lq, d = q.shape[-2], q.shape[-1]
    lk, dv = k.shape[-2], v.shape[-1]
    batch = mx.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    m4 = "causal" if is_causal else mask
    if mask is not None and mask.ndim > 2:
        batch = mx.broadcast_shapes(batch, mask.shape[:-2])
        m4 = mx.broadcast_to(mask, batch + mask.shape[-2:]).reshape(1, -1, *mask.shape[-2:])
    q4 = mx.broadcast_to(q, batch + q.shape[-2:]).reshape(1, -1, lq, d)
    k4 = mx.broadcast_to(k, batch + k.shape[-2:]).reshape(1, -1, lk, d)
    v4 = mx.broadcast_to(v, batch + v.shape[-2:]).reshape(1, -1, lk, dv)
    if q.dtype == F64:  # the fused kernel loses float64 precision
        out = _sdpa_plain(q4, k4, v4, scale, m4)
    else:
        out = mx.fast.scaled_dot_product_attention(q4, k4, v4, scale=scale, mask=m4)
    return out.reshape(batch + (lq, dv))


def _sdpa_plain(q, k, v, scale, mask):
    s = mx.matmul(q, mx.swapaxes(k, -1, -2)) * scale
    if isinstance(mask, str):  # "causal" with L == S: the lower triangle
        mask = mx.tril(mx.ones(s.shape[-2:], dtype=mx.bool_))
    if mask is not None:
        if mask.dtype == mx.bool_:
            s = mx.where(mask, s, mx.array(-math.inf, dtype=s.dtype))
        else:
            s = s + mask
    return mx.matmul(_f64.softmax(s, -1), v)
