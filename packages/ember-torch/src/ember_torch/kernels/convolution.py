"""Convolution kernels (channels-last)."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F

from ._channels_last import Pairs, pad_spatial, to_first, to_last
from ._util import Tensor

__all__ = ["nn_conv"]


def nn_conv(
    x: Tensor, weight: Tensor, stride: tuple[int, ...], padding: Pairs,
    dilation: tuple[int, ...], groups: int,
) -> Tensor:
    nd = x.ndim - 2
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    xc, wc = to_first(x), to_first(weight)
    if all(lo == hi for lo, hi in padding):  # symmetric: let the conv kernel pad
        pad: Any = tuple(lo for lo, _ in padding)
    else:
        xc, pad = pad_spatial(xc, padding), 0
    return to_last(conv(xc, wc, None, stride, pad, dilation, groups))
