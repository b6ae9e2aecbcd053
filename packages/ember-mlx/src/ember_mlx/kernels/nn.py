"""Neural-network kernels: convolution, pooling, and fused overrides of ember composites."""

from __future__ import annotations

import math

import mlx.core as mx

from . import _f64

F64 = mx.float64

__all__ = [
    "nn_avg_pool",
    "nn_conv",
    "nn_layer_norm",
    "nn_log_softmax",
    "nn_logsumexp",
    "nn_max_pool",
    "nn_relu",
    "nn_rms_norm",
    "nn_scaled_dot_product_attention",
    "nn_sigmoid",
    "nn_silu",
    "nn_softmax",
]


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
    p = _windows(_pad(x, padding, 0), k, stride, dilation)  # (N, *out, *k, C)
    n, out = p.shape[0], p.shape[1 : 1 + d]
    cg = weight.shape[-1]
    og = weight.shape[0] // groups
    kk = math.prod(k)
    p = p.reshape(-1, kk, groups, cg)
    w = weight.reshape(groups, og, kk, cg)
    y = mx.einsum("pkgc,gokc->pgo", p, w)
    return y.reshape(n, *out, groups * og)


def _windows(x, window, stride, dilation=None):
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


def _pad(x, padding, value):
    if not any(lo or hi for lo, hi in padding):
        return x
    widths = [(0, 0), *((lo, hi) for lo, hi in padding), (0, 0)]
    return mx.pad(x, widths, constant_values=value)


def _lowest(dtype):
    if mx.issubdtype(dtype, mx.floating):
        return -math.inf
    if dtype == mx.bool_:
        return False
    return mx.iinfo(dtype).min


def nn_max_pool(x, window, stride, padding):
    d = len(window)
    w = _windows(_pad(x, padding, _lowest(x.dtype)), window, stride)
    return mx.max(w, axis=tuple(range(1 + d, 1 + 2 * d)))


def nn_avg_pool(x, window, stride, padding, divisor):
    """Each window's sum (padding counts as 0) over divisor: the window size where it is None,
    else ember-core's counts of non-padding elements."""
    d = len(window)
    axes = tuple(range(1 + d, 1 + 2 * d))
    w = _windows(_pad(x, padding, 0), window, stride)
    return mx.mean(w, axis=axes) if divisor is None else mx.sum(w, axis=axes) / divisor


# --- fused overrides of composites ---------------------------------------------------------------
def nn_relu(x):
    return x if x.dtype == mx.bool_ else mx.maximum(x, 0)


def nn_sigmoid(x):
    return _f64.sigmoid(x) if x.dtype == F64 else mx.sigmoid(x)


def nn_silu(x):
    return x * nn_sigmoid(x)


def nn_softmax(x, axis):
    if x.size == 0:
        return x
    if x.dtype == F64:
        return _f64.softmax(x, axis)
    return mx.softmax(x, axis=axis, precise=True)


def nn_log_softmax(x, axis):
    if x.size == 0:
        return x
    if x.dtype == F64:
        return _f64.log_softmax(x, axis)
    return x - mx.logsumexp(x, axis=axis, keepdims=True)


def nn_logsumexp(x, axis, keepdims):
    if x.ndim == 0:
        return x
    if x.size == 0:
        from .reductions import _empty_reduce

        return _empty_reduce(x, axis, keepdims, -math.inf)
    if x.dtype == F64:
        return _f64.logsumexp(x, axis, keepdims)
    return mx.logsumexp(x, axis=axis, keepdims=keepdims)


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
