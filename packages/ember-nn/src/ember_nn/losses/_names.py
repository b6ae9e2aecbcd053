"""Losses by name: ``get`` resolves one (``Trainer(loss="mse")``), ``name_of`` gives the name
a config stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember

from .._core._errors import ConfigError
from ._cross_entropy import (
    binary_cross_entropy,
    categorical_cross_entropy,
    sparse_categorical_cross_entropy,
)
from ._regression import huber, mae, mse

__all__ = ["get", "name_of"]


_BY_NAME: dict[str, Callable[..., ember.Tensor]] = {
    "mse": mse, "mae": mae, "huber": huber, "binary_cross_entropy": binary_cross_entropy,
    "categorical_cross_entropy": categorical_cross_entropy,
    "sparse_categorical_cross_entropy": sparse_categorical_cross_entropy,
}


def get(name: str | Callable[..., ember.Tensor]) -> Callable[..., ember.Tensor]:
    """The loss function for a name (a callable is returned as it is).

    >>> ember_nn.get_loss("mse") is ember_nn.mse
    True
    """
    if callable(name):
        return name
    fn = _BY_NAME.get(name) if isinstance(name, str) else None
    if fn is None:
        raise ConfigError(f"unknown loss {name!r}; known: {sorted(_BY_NAME)}")
    return fn


def name_of(fn: Any) -> str | None:
    """The registered name of a loss function (None for anything else).

    >>> ember_nn.loss_name_of(ember_nn.huber)
    'huber'
    """
    if isinstance(fn, str):
        return fn if fn in _BY_NAME else None
    for k, v in _BY_NAME.items():
        if v is fn:
            return k
    return None
