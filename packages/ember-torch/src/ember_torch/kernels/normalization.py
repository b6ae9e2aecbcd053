"""Normalization kernels: fused overrides of ember-core's composites."""

from __future__ import annotations

import torch.nn.functional as F

from ._util import Tensor

__all__ = ["nn_layer_norm"]


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
