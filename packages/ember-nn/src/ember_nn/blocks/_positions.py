"""Position embeddings of the sequence models: learned rows, or the fixed sinusoids MAD-Lab
uses (fairseq's ``posemb_sincos_1d``: sines of the first half of the features, cosines of the
second half)."""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._errors import ConfigError

__all__ = ["POSITION_EMBEDDINGS", "check_position_embedding", "sincos_positions"]

POSITION_EMBEDDINGS = (None, "learned", "sincos")


def check_position_embedding(layer: str, kind: Any) -> str | None:
    if kind not in POSITION_EMBEDDINGS:
        raise ConfigError(f"{layer}: position_embedding must be None, 'learned' or 'sincos', "
                          f"got {kind!r}")
    return kind


def sincos_positions(positions: ember.Tensor, dim: int, dtype: ember.DType) -> ember.Tensor:
    """``(len(positions), dim)``: ``[sin(p * f_i), cos(p * f_i)]`` with
    ``f_i = exp(-i * log(10000) / (dim/2 - 1))`` for ``i < dim/2``, a zero column for odd
    ``dim`` (MAD-Lab's ``posemb_sincos_1d``)."""
    half = dim // 2
    step = math.log(10000.0) / max(half - 1, 1)
    freqs = ember.exp(ember.arange(half, dtype=ember.float32, backend=positions.backend,
                                   device=positions.device) * -step)
    angles = ember.astype(positions, ember.float32)[:, None] * freqs[None, :]
    parts = [ember.sin(angles), ember.cos(angles)]
    if dim % 2:
        parts.append(ember.zeros((positions.shape[0], 1), dtype=ember.float32,
                                 backend=positions.backend, device=positions.device))
    return ember.astype(ember.concat(parts, axis=1), dtype)
