"""``Dense``: an affine map over the last axis."""

from __future__ import annotations

from typing import Any

import ember

from .._core._activation_names import get as get_activation
from .._core._module import Module
from .._core._random import next_key
from ._support import brief_repr, layer_dtype, new_variable, positive_int, resolve_init

__all__ = ["Dense"]


class Dense(Module):
    """``activation(x @ weight + bias)`` over the last axis of ``x`` (any leading axes).

    ``weight`` has shape ``(in_features, out_features)`` and ``bias`` ``(out_features,)``.
    ``kernel_init``/``bias_init`` are initialiser names, ``{"name": ..., **options}`` dicts or
    functions ``(key, shape, dtype)`` (a custom function cannot go into a JSON config).

    >>> layer = ember_nn.Dense(3, 2, activation="relu", key=0)
    >>> layer(ember.ones((5, 3))).shape
    (5, 2)
    >>> layer
    Dense(3, 2, activation='relu')  # 8 parameters
    """

    #: set on a layer whose bias a backbone's re-initialisation must leave alone (MAD-Lab's
    #: ``_no_reinit``: Mamba's ``dt_proj``)
    keep_bias_init: bool = False

    def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True,
                 activation: Any = None, kernel_init: Any = "glorot_uniform",
                 bias_init: Any = "zeros", dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        self.in_features = positive_int("Dense", "in_features", in_features)
        self.out_features = positive_int("Dense", "out_features", out_features)
        d = layer_dtype("Dense", dtype)
        k_w, k_b = ember.random.split(next_key(key))
        self.activation = get_activation(activation)
        w_init = resolve_init(self, "kernel_init", kernel_init)
        self.weight = new_variable("Dense", w_init, k_w, (in_features, out_features), d,
                                     "weight")
        self.bias = None
        if use_bias:
            b_init = resolve_init(self, "bias_init", bias_init)
            self.bias = new_variable("Dense", b_init, k_b, (out_features,), d, "bias")

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ember.ShapeError(
                f"Dense: input of shape {x.shape} has {x.shape[-1] if x.ndim else 'no'} features "
                f"on its last axis, but the layer takes in_features={self.in_features}")
        y = ember.matmul(x, self.weight)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def extra_repr(self) -> str:
        return brief_repr(self)
