"""``MLP``: the multi-layer perceptron most configs start from."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import ember

from .._core._activation_names import get as get_activation
from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ._dense import Dense
from ._dropout import Dropout

__all__ = ["MLP"]


class MLP(Module):
    """Dense layers ``in_features -> hidden... -> out_features`` with ``activation`` (and
    dropout at ``dropout``) between them; the last layer has no activation (logits).

    ``bias=False`` leaves the biases out of every layer: MAD-Lab's ``mlp`` channel mixer is
    ``MLP(dim, [4 * dim], dim, activation="gelu_tanh", bias=False)``.

    >>> model = ember_nn.MLP(64, [128, 64], 10, key=0)
    >>> model(ember.zeros((2, 64))).shape
    (2, 10)
    """

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int, *,
                 activation: Any = "relu", dropout: float = 0.0, bias: bool = True,
                 dtype: Any = None, key: Any = None) -> None:
        super().__init__()
        if isinstance(hidden, int):
            hidden = [hidden]
        sizes = [in_features, *hidden, out_features]
        if any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ember.ArgumentError(f"MLP: layer sizes must be positive ints, got {sizes}")
        base = next_key(key)
        self.activation = get_activation(activation)
        if not isinstance(bias, bool):
            raise ConfigError(f"MLP: bias must be True or False, got {bias!r}")
        self.layers = [Dense(a, b, use_bias=bias, dtype=dtype, key=ember.random.fold_in(base, i))
                       for i, (a, b) in enumerate(itertools.pairwise(sizes))]
        self.dropout = Dropout(dropout, key=ember.random.fold_in(base, len(sizes))) \
            if dropout else None

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
            if self.dropout is not None:
                x = self.dropout(x)
        return last(x)
