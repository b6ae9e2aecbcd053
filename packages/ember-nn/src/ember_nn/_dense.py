"""``Dense`` (an affine map over the last axis) and ``Embedding`` (a lookup table)."""

from __future__ import annotations

import inspect
from typing import Any

import ember

from . import _init
from ._core._activation_names import get as get_activation
from ._core._activation_names import name_of
from ._core._errors import ConfigError
from ._core._module import Module, _short
from ._core._random import next_key

__all__ = ["Dense", "Embedding"]


def positive_int(layer: str, name: str, value: Any) -> int:
    """``value`` if it is a positive int (not a bool), else a ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value


def brief_repr(module: Module) -> str:
    """The constructor arguments worth reading: positional ones always, keyword-only ones where
    they differ from their defaults (``key`` never)."""
    sig = inspect.signature(type(module).__init__)
    parts = []
    for p in list(sig.parameters.values())[1:]:
        if p.name not in module._config or p.name == "key":
            continue
        v = module._config[p.name]
        if isinstance(v, Module) or p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.KEYWORD_ONLY and (v is p.default or v == p.default):
            continue
        shown = repr(name_of(v)) if callable(v) and name_of(v) else _short(v)
        parts.append(shown if p.kind is p.POSITIONAL_OR_KEYWORD else f"{p.name}={shown}")
    return ", ".join(parts)


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

    def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True,
                 activation: Any = None, kernel_init: Any = "glorot_uniform",
                 bias_init: Any = "zeros", dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        self.in_features = positive_int("Dense", "in_features", in_features)
        self.out_features = positive_int("Dense", "out_features", out_features)
        d = _init._layer_dtype("Dense", dtype)
        k_w, k_b = ember.random.split(next_key(key))
        self.activation = get_activation(activation)
        w_init = _init._resolve(self, "kernel_init", kernel_init)
        self.weight = _init._variable("Dense", w_init, k_w, (in_features, out_features), d,
                                     "weight")
        self.bias = None
        if use_bias:
            b_init = _init._resolve(self, "bias_init", bias_init)
            self.bias = _init._variable("Dense", b_init, k_b, (out_features,), d, "bias")

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


class Embedding(Module):
    """Rows of a ``(num_embeddings, features)`` table for integer ids of any shape.

    ``ids`` of shape ``S`` give ``S + (features,)``. Every call checks the ids are integers in
    ``[0, num_embeddings)`` (one read of their min and max: a device sync on GPUs) and raises
    ``ember.OutOfBoundsError`` naming the offending id otherwise, on every backend alike.

    >>> emb = ember_nn.Embedding(10, 4, key=0)
    >>> emb(ember.tensor([[1, 2, 3]])).shape
    (1, 3, 4)
    """

    def __init__(self, num_embeddings: int, features: int, *, init: Any = "normal",
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        self.num_embeddings = positive_int("Embedding", "num_embeddings", num_embeddings)
        self.features = positive_int("Embedding", "features", features)
        d = _init._layer_dtype("Embedding", dtype)
        fn = _init._resolve(self, "init", init)
        self.weight = _init._variable("Embedding", fn, next_key(key),
                                     (num_embeddings, features), d, "weight")

    def forward(self, ids: Any) -> ember.Tensor:
        ids = ids if isinstance(ids, ember.Tensor) else ember.asarray(ids)
        if not ids.dtype.is_integer:
            raise ember.DTypeError(
                f"Embedding: ids must be integers, got {ids.dtype} of shape {ids.shape}; cast "
                f"with ember.astype(ids, ember.int64) if they hold whole numbers")
        if ids.size:
            lo, hi = int(ember.min(ids)), int(ember.max(ids))
            if lo < 0 or hi >= self.num_embeddings:
                bad = lo if lo < 0 else hi
                raise ember.OutOfBoundsError(
                    f"Embedding: id {bad} is outside the table of {self.num_embeddings} rows "
                    f"(ids must be in [0, {self.num_embeddings}))")
        rows = ember.take(self.weight, ember.reshape(ids, (-1,)), axis=0)
        return ember.reshape(rows, (*ids.shape, self.features))

    def extra_repr(self) -> str:
        return brief_repr(self)
