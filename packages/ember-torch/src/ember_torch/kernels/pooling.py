"""Pooling kernels (channels-last)."""

from __future__ import annotations

import math

import torch.nn.functional as F

from ._channels_last import Pairs, pad_spatial, to_first, to_last
from ._util import Tensor

__all__ = ["nn_avg_pool", "nn_max_pool"]


def nn_max_pool(
    x: Tensor, window: tuple[int, ...], stride: tuple[int, ...], padding: Pairs
) -> Tensor:
    pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[x.ndim - 3]
    xc = pad_spatial(to_first(x), padding, -math.inf)
    return to_last(pool(xc, window, stride))


def nn_avg_pool(
    x: Tensor, window: tuple[int, ...], stride: tuple[int, ...], padding: Pairs,
    divisor: Tensor | None,
) -> Tensor:
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[x.ndim - 3]
    out = pool(pad_spatial(to_first(x), padding), window, stride)  # the sum over the window size K
    if divisor is not None:  # ember-core's counts of non-padding elements
        out = out / (to_first(divisor) / math.prod(window))  # sum / K / (count / K)
    return to_last(out)
