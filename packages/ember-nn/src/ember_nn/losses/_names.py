"""Losses by name: ``get`` resolves one (``Trainer(loss="mse")``), ``name_of`` gives the name
a config stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember

from .._core._names import lookup, name_in
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
    return lookup("loss", _BY_NAME, name)


def name_of(fn: Any) -> str | None:
    """The registered name of a loss function (None for anything else).

    >>> ember_nn.loss_name_of(ember_nn.huber)
    'huber'
    """
    return name_in(_BY_NAME, fn)
