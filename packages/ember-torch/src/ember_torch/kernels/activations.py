"""Activation kernels: fused overrides of ember-core's composites."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ._util import Tensor

__all__ = [
    "nn_gelu", "nn_log_softmax", "nn_logsumexp", "nn_relu", "nn_sigmoid", "nn_silu", "nn_softmax",
    "nn_softplus",
]

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
