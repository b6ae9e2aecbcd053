"""Neural-network kernels: channels-last convolution and pooling, and fused composites."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ._util import Tensor

__all__ = [
    "nn_avg_pool", "nn_conv", "nn_gelu", "nn_layer_norm", "nn_log_softmax", "nn_logsumexp",
    "nn_max_pool", "nn_relu", "nn_scaled_dot_product_attention", "nn_sigmoid", "nn_silu",
    "nn_softmax", "nn_softplus",
]

Pairs = tuple[tuple[int, int], ...]


def _to_first(x: Tensor) -> Tensor:  # (N, *spatial, C) -> (N, C, *spatial)
    return x.movedim(-1, 1)


def _to_last(x: Tensor) -> Tensor:
    return x.movedim(1, -1)


def _pad(x: Tensor, padding: Pairs, value: float = 0.0) -> Tensor:
    """Pad the spatial axes of a channels-first x (F.pad lists the last axis first)."""
    flat = [p for pair in reversed(padding) for p in pair]
    return F.pad(x, flat, value=value) if any(flat) else x


def nn_conv(
    x: Tensor, weight: Tensor, stride: tuple[int, ...], padding: Pairs,
    dilation: tuple[int, ...], groups: int,
) -> Tensor:
    nd = x.ndim - 2
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    xc, wc = _to_first(x), _to_first(weight)
    if all(lo == hi for lo, hi in padding):  # symmetric: let the conv kernel pad
        pad: Any = tuple(lo for lo, _ in padding)
    else:
        xc, pad = _pad(xc, padding), 0
    return _to_last(conv(xc, wc, None, stride, pad, dilation, groups))


def nn_max_pool(
    x: Tensor, window: tuple[int, ...], stride: tuple[int, ...], padding: Pairs
) -> Tensor:
    pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[x.ndim - 3]
    xc = _pad(_to_first(x), padding, -math.inf)
    return _to_last(pool(xc, window, stride))


def nn_avg_pool(
    x: Tensor, window: tuple[int, ...], stride: tuple[int, ...], padding: Pairs,
    divisor: Tensor | None,
) -> Tensor:
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[x.ndim - 3]
    out = pool(_pad(_to_first(x), padding), window, stride)  # the sum over the window size K
    if divisor is not None:  # ember-core's counts of non-padding elements
        out = out / (_to_first(divisor) / math.prod(window))  # sum / K / (count / K)
    return _to_last(out)


# -- fused overrides of composites ---------------------------------------------------------------
nn_relu = torch.relu
nn_sigmoid = torch.sigmoid
nn_silu = F.silu


def nn_gelu(x: Tensor, approximate: Any) -> Tensor:
    if isinstance(approximate, bool):
        approximate = "tanh" if approximate else "none"
    return F.gelu(x, approximate=approximate)


def nn_softplus(x: Tensor) -> Tensor:
    # torch returns x above `threshold`; log1p(exp(-x)) is below float rounding there only if
    # the threshold is high enough for the dtype (float64 needs ~37)
    return F.softplus(x, 1.0, 40.0 if x.dtype is torch.float64 else 20.0)


def _flatten_axes(x: Tensor, axis: Any) -> tuple[Tensor, Any]:
    if isinstance(axis, int):
        return x, None
    axes = tuple(range(x.ndim)) if axis is None else tuple(axis)
    rest = [d for d in range(x.ndim) if d not in axes]
    perm = [*rest, *axes]
    y = x.permute(perm).reshape(*[x.shape[d] for d in rest], -1)
    return y, perm


def _unflatten(y: Tensor, x: Tensor, perm: list[int]) -> Tensor:
    return y.reshape([x.shape[d] for d in perm]).permute(*[perm.index(d) for d in range(x.ndim)])


def nn_softmax(x: Tensor, axis: Any) -> Tensor:
    y, perm = _flatten_axes(x, axis)
    if perm is None:
        return torch.softmax(x, axis)
    return _unflatten(torch.softmax(y, -1), x, perm)


def nn_log_softmax(x: Tensor, axis: Any) -> Tensor:
    y, perm = _flatten_axes(x, axis)
    if perm is None:
        return torch.log_softmax(x, axis)
    return _unflatten(torch.log_softmax(y, -1), x, perm)


def nn_logsumexp(x: Tensor, axis: Any, keepdims: bool) -> Tensor:
    dims = tuple(range(x.ndim)) if axis is None else axis
    if dims == ():  # no axes (or 0-d input): torch would reduce everything for dim=()
        return x.clone()
    return torch.logsumexp(x, dims, keepdim=keepdims)


def nn_layer_norm(
    x: Tensor, weight: Tensor | None, bias: Tensor | None, axis: tuple[int, ...], eps: float
) -> Tensor:
    shape = tuple(x.shape[min(axis):]) if axis else ()
    if (weight is None or tuple(weight.shape) == shape) and (
        bias is None or tuple(bias.shape) == shape
    ):
        return F.layer_norm(x, shape, weight, bias, eps)
    out = F.layer_norm(x, shape, None, None, eps)  # weight/bias only broadcast: apply them
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def nn_scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, is_causal: bool, scale: float,
) -> Tensor:
    """torch's fused attention on ember-core's finished mask (causal rule and window already in
    it; is_causal only with no mask and L == S, where torch's top-left alignment is ember's)."""
    return F.scaled_dot_product_attention(q, k, v, mask, 0.0, is_causal, scale=scale)
