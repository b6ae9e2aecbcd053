"""``Embedding``: a lookup table of vectors for integer ids."""

from __future__ import annotations

from typing import Any

import ember

from .._core._module import Module
from .._core._random import next_key
from ._support import brief_repr, layer_dtype, new_variable, positive_int, resolve_init

__all__ = ["Embedding"]


class Embedding(Module):
    """Rows of a ``(num_embeddings, features)`` table for integer ids of any shape.

    ``ids`` of shape ``S`` give ``S + (features,)``. Every call checks the ids are integers in
    ``[0, num_embeddings)`` (one read of their min and max: a device sync on GPUs) and raises
    ``ember.OutOfBoundsError`` naming the offending id otherwise, on every backend alike
    (inside a compiled program, where no value is on the host, the eager step checks).

    >>> emb = ember_nn.Embedding(10, 4, key=0)
    >>> emb(ember.tensor([[1, 2, 3]])).shape
    (1, 3, 4)
    """

    def __init__(self, num_embeddings: int, features: int, *, init: Any = "normal",
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        self.num_embeddings = positive_int("Embedding", "num_embeddings", num_embeddings)
        self.features = positive_int("Embedding", "features", features)
        d = layer_dtype("Embedding", dtype)
        fn = resolve_init(self, "init", init)
        self.weight = new_variable("Embedding", fn, next_key(key),
                                     (num_embeddings, features), d, "weight")

    def forward(self, ids: Any) -> ember.Tensor:
        ids = ids if isinstance(ids, ember.Tensor) else ember.asarray(ids)
        if not ids.dtype.is_integer:
            raise ember.DTypeError(
                f"Embedding: ids must be integers, got {ids.dtype} of shape {ids.shape}; cast "
                f"with ember.astype(ids, ember.int64) if they hold whole numbers")
        if ids.size and not ember.compiling():
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
