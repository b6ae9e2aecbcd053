"""Metrics by name: ``get`` (a batch metric function), ``streaming`` (a fresh streaming
metric)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._names import lookup
from ._batch import accuracy, binary_accuracy, macro_accuracy
from ._streaming import Accuracy, BinaryAccuracy, MacroAccuracy, Mean

__all__ = ["get", "streaming"]


_FUNCTIONS: dict[str, Callable[..., ember.Tensor]] = {
    "accuracy": accuracy, "binary_accuracy": binary_accuracy, "macro_accuracy": macro_accuracy,
    "balanced_accuracy": macro_accuracy,
}
_STREAMING: dict[str, type[Any]] = {
    "accuracy": Accuracy, "binary_accuracy": BinaryAccuracy, "macro_accuracy": MacroAccuracy,
    "balanced_accuracy": MacroAccuracy, "mean": Mean,
}


def get(name: str | Callable[..., ember.Tensor]) -> Callable[..., ember.Tensor]:
    """The batch metric function for a name (a callable is returned as it is).

    >>> ember_nn.get_metric("accuracy") is ember_nn.accuracy
    True
    """
    return lookup("metric", _FUNCTIONS, name)


def streaming(name: str, **kwargs: Any) -> Any:
    """A fresh streaming metric for a name, built with ``kwargs``.

    >>> ember_nn.streaming_metric("macro_accuracy", num_classes=3)
    MacroAccuracy(num_classes=3, result=nan)
    """
    cls = _STREAMING.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown streaming metric {name!r}; known: {sorted(_STREAMING)}")
    return cls(**kwargs)
