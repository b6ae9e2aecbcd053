"""Helpers shared by the convolution and pooling kernels: ember's channels-last layout to
torch's channels-first and back, and padding of the spatial axes."""

from __future__ import annotations

import torch.nn.functional as F

from ._util import Tensor

__all__ = ["Pairs", "pad_spatial", "to_first", "to_last"]

Pairs = tuple[tuple[int, int], ...]


def to_first(x: Tensor) -> Tensor:  # (N, *spatial, C) -> (N, C, *spatial)
    return x.movedim(-1, 1)


def to_last(x: Tensor) -> Tensor:
    return x.movedim(1, -1)


def pad_spatial(x: Tensor, padding: Pairs, value: float = 0.0) -> Tensor:
    """Pad the spatial axes of a channels-first x (F.pad lists the last axis first)."""
    flat = [p for pair in reversed(padding) for p in pair]
    return F.pad(x, flat, value=value) if any(flat) else x
