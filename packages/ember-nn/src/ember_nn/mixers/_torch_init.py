"""torch's ``nn.Linear`` initialisation, which MAD-Lab's layers keep: weight and bias uniform in
``±1/sqrt(in_features)``; the mixers that follow MAD-Lab's init (Mamba, RWKV, Hyena) build
their projections with it."""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._random import next_key
from ..layers._dense import Dense
from ..layers._support import new_variable

__all__ = ["reset_torch_linear", "torch_linear", "uniform_init"]


def uniform_init(bound: float) -> Any:
    """An initialiser drawing uniformly from ``[-bound, bound)``."""
    return lambda k, s, d: ember.random.uniform(k, s, d, low=-bound, high=bound)


def torch_linear(in_features: int, out_features: int, *, bias: bool, dtype: Any,
                 key: Any) -> Dense:
    """A ``Dense`` initialised as torch's ``nn.Linear``: weight and bias uniform in
    ``±1/sqrt(in_features)`` (``key`` a seed or key)."""
    k_layer, k_w, k_b = ember.random.split(next_key(key), 3)
    layer = Dense(in_features, out_features, use_bias=bias, dtype=dtype, key=k_layer)
    reset_torch_linear(layer, k_w, k_b)
    return layer


def reset_torch_linear(layer: Dense, k_w: Any, k_b: Any) -> None:
    """Draw ``layer``'s weight (key ``k_w``) and bias (``k_b``) again as torch's ``nn.Linear``
    would."""
    init, d = uniform_init(1.0 / math.sqrt(layer.in_features)), layer.weight.dtype
    layer.weight = new_variable("Dense", init, k_w, (layer.in_features, layer.out_features), d,
                                "weight")
    if layer.bias is not None:
        layer.bias = new_variable("Dense", init, k_b, (layer.out_features,), d, "bias")
