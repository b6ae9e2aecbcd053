"""``TransformerEncoderLayer`` (attention and MLP, each in a residual branch, pre- or post-norm)
and ``TransformerEncoder`` (a stack of them with a final norm)."""

from __future__ import annotations

from typing import Any

import ember

from .._core._activation_names import get as get_activation
from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ._attention import MultiHeadAttention, checked_input, dropout_rate
from ._dense import Dense
from ._dropout import Dropout
from ._norm import LayerNorm
from ._support import brief_repr, positive_int

__all__ = ["TransformerEncoder", "TransformerEncoderLayer"]


def _hidden(layer: str, dim: int, mlp_ratio: Any) -> int:
    """The MLP's hidden width ``dim * mlp_ratio``, which must be a positive whole number."""
    if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, int | float) \
            or not mlp_ratio > 0 or dim * mlp_ratio != int(dim * mlp_ratio):
        raise ConfigError(f"{layer}: mlp_ratio must be a positive number making dim * "
                          f"mlp_ratio a whole number of hidden units; got mlp_ratio="
                          f"{mlp_ratio!r} with dim={dim}")
    return int(dim * mlp_ratio)


class TransformerEncoderLayer(Module):
    """A transformer encoder layer on ``(batch, seq, dim)`` inputs. Pre-norm (the default,
    ``norm_first=True``)::

        x = x + dropout(attention(norm1(x)))
        x = x + dropout(mlp(norm2(x)))

    post-norm (``norm_first=False``, the original transformer's order)::

        x = norm1(x + dropout(attention(x)))
        x = norm2(x + dropout(mlp(x)))

    ``attention`` is :class:`MultiHeadAttention` (its own ``attention_dropout``, by default
    ``dropout``); ``mlp`` is ``linear2(dropout(activation(linear1(x))))``, ``dim -> dim *
    mlp_ratio -> dim``, with ``activation`` GELU by default. ``bias=False`` drops the biases
    of the attention and MLP projections (the LayerNorms keep theirs). The arithmetic of
    ``torch.nn.TransformerEncoderLayer(norm_first=..., activation="gelu", batch_first=True)``
    with ``dim_feedforward = dim * mlp_ratio``. ``forward(x, mask=None, causal=False)`` passes ``mask``/``causal`` to the
    attention.

    >>> block = ember_nn.TransformerEncoderLayer(32, 4, key=0)
    >>> block(ember.ones((2, 10, 32))).shape
    (2, 10, 32)
    """

    def __init__(self, dim: int, num_heads: int, *, mlp_ratio: float = 4, dropout: float = 0.0,
                 attention_dropout: float | None = None, activation: Any = "gelu",
                 norm_first: bool = True, eps: float = 1e-5, bias: bool = True,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "TransformerEncoderLayer"
        self.dim = positive_int(name, "dim", dim)
        hidden = _hidden(name, dim, mlp_ratio)
        rate = dropout_rate(name, dropout)
        att = rate if attention_dropout is None else \
            dropout_rate(name, attention_dropout, "attention_dropout")
        if not isinstance(norm_first, bool):
            raise ConfigError(f"{name}: norm_first must be True or False, got {norm_first!r}")
        self.norm_first = norm_first
        k_att, k_l1, k_l2, k_d, k_d1, k_d2 = ember.random.split(next_key(key), 6)
        self.attention = MultiHeadAttention(dim, num_heads, bias=bias, dropout=att, dtype=dtype,
                                            key=k_att)
        self.norm1 = LayerNorm(dim, eps=eps, dtype=dtype)
        self.norm2 = LayerNorm(dim, eps=eps, dtype=dtype)
        self.linear1 = Dense(dim, hidden, use_bias=bias, dtype=dtype, key=k_l1)
        self.activation = get_activation(activation)
        self.dropout = Dropout(rate, key=k_d) if rate else None
        self.linear2 = Dense(hidden, dim, use_bias=bias, dtype=dtype, key=k_l2)
        self.dropout1 = Dropout(rate, key=k_d1) if rate else None
        self.dropout2 = Dropout(rate, key=k_d2) if rate else None

    def forward(self, x: Any, *, mask: Any = None, causal: bool = False) -> ember.Tensor:
        x = checked_input("TransformerEncoderLayer", "input", x, self.dim)
        if self.norm_first:
            x = x + _drop(self.dropout1, self.attention(self.norm1(x), mask=mask, causal=causal))
            return x + _drop(self.dropout2, self._mlp(self.norm2(x)))
        x = self.norm1(x + _drop(self.dropout1, self.attention(x, mask=mask, causal=causal)))
        return self.norm2(x + _drop(self.dropout2, self._mlp(x)))

    def _mlp(self, x: ember.Tensor) -> ember.Tensor:
        return self.linear2(_drop(self.dropout, self.activation(self.linear1(x))))

    def extra_repr(self) -> str:
        return brief_repr(self)


def _drop(dropout: Dropout | None, x: ember.Tensor) -> ember.Tensor:
    return x if dropout is None else dropout(x)


class TransformerEncoder(Module):
    """``num_layers`` :class:`TransformerEncoderLayer` s (the other arguments are theirs) and,
    with ``final_norm`` (the default), a LayerNorm on the output, as pre-norm stacks need
    (torch's ``TransformerEncoder(..., norm=LayerNorm(dim))``, MLX's ``TransformerEncoder``).

    >>> enc = ember_nn.TransformerEncoder(2, 32, 4, key=0)
    >>> enc(ember.ones((2, 10, 32)), causal=True).shape
    (2, 10, 32)
    """

    def __init__(self, num_layers: int, dim: int, num_heads: int, *, mlp_ratio: float = 4,
                 dropout: float = 0.0, attention_dropout: float | None = None,
                 activation: Any = "gelu", norm_first: bool = True, final_norm: bool = True,
                 eps: float = 1e-5, bias: bool = True, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        positive_int("TransformerEncoder", "num_layers", num_layers)
        if not isinstance(final_norm, bool):
            raise ConfigError(f"TransformerEncoder: final_norm must be True or False, got "
                              f"{final_norm!r}")
        base = next_key(key)
        self.layers = [
            TransformerEncoderLayer(dim, num_heads, mlp_ratio=mlp_ratio, dropout=dropout,
                                    attention_dropout=attention_dropout, activation=activation,
                                    norm_first=norm_first, eps=eps, bias=bias, dtype=dtype,
                                    key=ember.random.fold_in(base, i))
            for i in range(num_layers)]
        self.norm = LayerNorm(dim, eps=eps, dtype=dtype) if final_norm else None

    def forward(self, x: Any, *, mask: Any = None, causal: bool = False) -> ember.Tensor:
        for layer in self.layers:
            x = layer(x, mask=mask, causal=causal)
        return x if self.norm is None else self.norm(x)

    def extra_repr(self) -> str:
        return brief_repr(self)
