"""``MultiHeadAttention``: batch-first multi-head attention on the catalogue's
``ember.nn.scaled_dot_product_attention``."""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ._dense import Dense
from ._dropout import Dropout
from ._support import brief_repr, positive_int

__all__ = ["MultiHeadAttention", "attention_weights", "checked_input", "dropout_rate"]


def dropout_rate(layer: str, rate: Any, name: str = "dropout") -> float:
    """``rate`` if it is a number in [0, 1), else a ConfigError naming it."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate < 1.0:
        raise ConfigError(f"{layer}: {name} must be a number in [0, 1), got {rate!r}")
    return float(rate)


def checked_input(layer: str, what: str, x: Any, dim: int) -> ember.Tensor:
    """``x`` as a tensor if it is floating with ``dim`` features on its last axis (and a
    sequence axis before it), else a ShapeError or DTypeError naming it."""
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if x.ndim < 2 or x.shape[-1] != dim:
        raise ember.ShapeError(f"{layer}: {what} of shape {x.shape} must be (..., seq, {dim}) "
                               f"(the layer's dim on the last axis)")
    if not x.dtype.is_floating:
        raise ember.DTypeError(f"{layer}: {what} must be floating point, got {x.dtype}; cast "
                               f"with .astype(ember.float32)")
    return x


class MultiHeadAttention(Module):
    """Multi-head attention on batch-first ``(batch, seq, dim)`` inputs (any leading axes):
    ``out_proj(concat_h softmax(q_h k_h^T / sqrt(dim / num_heads) + mask) v_h)``.

    ``layer(x)`` is self-attention; ``layer(query, keys, values)`` cross-attention (``values``
    defaults to ``keys``). ``mask`` (boolean, True attends, or additive) broadcasts to
    ``(batch, num_heads, L, S)``: a ``(L, S)`` mask applies to every example and head, a
    padding mask ``(batch, S)`` goes in as ``mask[:, None, None, :]``. ``causal=True`` lets
    query ``i`` see keys ``j <= i + S - L``. A query that sees no key gives NaN (as in torch).

    Variables: ``in_proj.weight`` ``(dim, 3 * dim)`` (query, key and value projections side by
    side: torch's ``in_proj_weight`` transposed), ``in_proj.bias`` ``(3 * dim,)``,
    ``out_proj.weight`` ``(dim, dim)`` and ``out_proj.bias``; Glorot-uniform weights, zero
    biases. ``dropout`` drops attention weights in training mode (then the weights are
    computed in ember ops, not by the fused attention kernel).

    >>> mha = ember_nn.MultiHeadAttention(16, 4, key=0)
    >>> mha(ember.ones((2, 5, 16))).shape
    (2, 5, 16)
    >>> mha(ember.ones((2, 3, 16)), ember.ones((2, 7, 16)), causal=True).shape
    (2, 3, 16)
    """

    def __init__(self, dim: int, num_heads: int, *, bias: bool = True, dropout: float = 0.0,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        self.dim = positive_int("MultiHeadAttention", "dim", dim)
        self.num_heads = positive_int("MultiHeadAttention", "num_heads", num_heads)
        if dim % num_heads:
            raise ConfigError(f"MultiHeadAttention: dim {dim} is not divisible by num_heads "
                              f"{num_heads}; each head takes dim / num_heads features")
        if not isinstance(bias, bool):
            raise ConfigError(f"MultiHeadAttention: bias must be True or False, got {bias!r}")
        rate = dropout_rate("MultiHeadAttention", dropout)
        k_in, k_out, k_drop = ember.random.split(next_key(key), 3)
        self.in_proj = Dense(dim, 3 * dim, use_bias=bias, dtype=dtype, key=k_in)
        self.out_proj = Dense(dim, dim, use_bias=bias, dtype=dtype, key=k_out)
        self.dropout = Dropout(rate, key=k_drop) if rate else None

    def forward(self, query: Any, keys: Any = None, values: Any = None, *, mask: Any = None,
                causal: bool = False) -> ember.Tensor:
        if not isinstance(causal, bool):
            raise ember.ArgumentError(f"MultiHeadAttention: causal must be True or False, "
                                      f"got {causal!r}")
        if keys is None and values is not None:
            raise ember.ArgumentError("MultiHeadAttention: values given without keys; pass "
                                      "keys too (values default to keys, not the reverse)")
        name = "MultiHeadAttention"
        x = checked_input(name, "query", query, self.dim)
        if keys is None or (keys is query and (values is None or values is query)):
            q, k, v = self._split(self.in_proj(x), 3)
        else:
            kx = checked_input(name, "keys", keys, self.dim)
            vx = kx if values is None or values is keys else \
                checked_input(name, "values", values, self.dim)
            if vx.shape[-2] != kx.shape[-2]:
                raise ember.ShapeError(
                    f"MultiHeadAttention: keys of shape {kx.shape} and values of shape "
                    f"{vx.shape} have different sequence lengths ({kx.shape[-2]} and "
                    f"{vx.shape[-2]}); each key needs its value")
            q = self._split(self._project(x, 0, 1), 1)[0]
            if vx is kx:
                k, v = self._split(self._project(kx, 1, 3), 2)
            else:
                k = self._split(self._project(kx, 1, 2), 1)[0]
                v = self._split(self._project(vx, 2, 3), 1)[0]
        if self.dropout is not None and self.training:
            out = ember.matmul(self.dropout(attention_weights(q, k, mask, causal)), v)
        else:
            out = ember.nn.scaled_dot_product_attention(q, k, v, mask=mask, is_causal=causal)
        out = ember.moveaxis(out, -3, -2)  # (..., L, heads, head_dim)
        return self.out_proj(ember.reshape(out, (*out.shape[:-2], self.dim)))

    def _project(self, x: ember.Tensor, start: int, stop: int) -> ember.Tensor:
        """``x`` through the projections ``start:stop`` (0 query, 1 key, 2 value) of in_proj."""
        d, w, b = self.dim, self.in_proj.weight, self.in_proj.bias
        y = ember.matmul(x, w[:, start * d:stop * d])
        return y if b is None else y + b[start * d:stop * d]

    def _split(self, y: ember.Tensor, n: int) -> list[ember.Tensor]:
        """``(..., L, n * dim)`` projections as ``n`` tensors ``(..., heads, L, head_dim)``."""
        lead, seq = y.shape[:-2], y.shape[-2]
        y = ember.reshape(y, (*lead, seq, n, self.num_heads, self.dim // self.num_heads))
        r = len(lead)  # (..., L, n, H, Dh) -> (n, ..., H, L, Dh)
        y = ember.permute_dims(y, (r + 1, *range(r), r + 2, r, r + 3))
        return list(ember.unstack(y, axis=0))

    def extra_repr(self) -> str:
        return brief_repr(self)


def attention_weights(q: ember.Tensor, k: ember.Tensor, mask: Any, causal: bool) -> ember.Tensor:
    """``softmax(q @ k^T / sqrt(head_dim) + mask)`` over the keys, with the masking rules of
    ``ember.nn.scaled_dot_product_attention`` (boolean masks hide keys, additive ones are
    added, ``causal`` aligns query ``i`` with key ``i + S - L``): the weights attention dropout
    drops."""
    scores = ember.matmul(q, ember.matrix_transpose(k)) * (1.0 / math.sqrt(q.shape[-1]))
    L, S = scores.shape[-2], scores.shape[-1]
    if causal:
        i = ember.reshape(ember.arange(L, backend=q.backend, device=q.device), (L, 1)) + (S - L)
        scores = ember.where(ember.arange(S, backend=q.backend, device=q.device) <= i, scores, -math.inf)
    if mask is not None:
        m = mask if isinstance(mask, ember.Tensor) else ember.asarray(mask, backend=q.backend,
                                                                        device=q.device)
        scores = ember.where(m, scores, -math.inf) if m.dtype is ember.bool else \
            scores + ember.astype(m, scores.dtype)
    return ember.nn.softmax(scores, axis=-1)
