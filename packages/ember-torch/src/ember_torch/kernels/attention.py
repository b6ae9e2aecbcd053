"""Attention kernels: torch's fused scaled dot-product attention."""

from __future__ import annotations

import torch.nn.functional as F

from ._util import Tensor

__all__ = ["nn_scaled_dot_product_attention"]


def nn_scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, is_causal: bool, scale: float,
) -> Tensor:
    """torch's fused attention on ember-core's finished mask (causal rule and window already in
    it; is_causal only with no mask and L == S, where torch's top-left alignment is ember's)."""
    return F.scaled_dot_product_attention(q, k, v, mask, 0.0, is_causal, scale=scale)
