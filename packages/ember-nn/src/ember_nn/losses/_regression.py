"""Regression losses: ``mse``, ``mae``, ``huber`` (plain functions of ``(predictions, targets,
*, reduction=...)``) and their Module shells.

``reduction`` is ``"mean"`` (over every element), ``"sum"`` or ``"none"`` (the per-element
losses).
"""

from __future__ import annotations

from typing import Any

import ember

from .._core._checks import _check_reduction, _floating, _reduce, _same_shape, _tensor
from .._core._module import Module

__all__ = ["HuberLoss", "MAELoss", "MSELoss", "huber", "mae", "mse"]


def _regression(op: str, predictions: Any, targets: Any,
                reduction: str) -> tuple[ember.Tensor, ember.Tensor]:
    _check_reduction(op, reduction)
    p = _floating(op, _tensor(predictions), "predictions")
    t = _floating(op, _tensor(targets, like=p), "targets")
    _same_shape(op, p, t)
    return p, t


def mse(predictions: Any, targets: Any, *, reduction: str = "mean") -> ember.Tensor:
    """Mean squared error, ``(predictions - targets) ** 2`` reduced.

    >>> float(ember_nn.mse(ember.tensor([1.0, 2.0]), ember.tensor([0.0, 4.0])))
    2.5
    """
    p, t = _regression("mse", predictions, targets, reduction)
    return _reduce(ember.square(p - t), reduction)


def mae(predictions: Any, targets: Any, *, reduction: str = "mean") -> ember.Tensor:
    """Mean absolute error, ``|predictions - targets|`` reduced (torch's L1 loss).

    >>> float(ember_nn.mae(ember.tensor([1.0, 2.0]), ember.tensor([0.0, 4.0])))
    1.5
    """
    p, t = _regression("mae", predictions, targets, reduction)
    return _reduce(ember.abs(p - t), reduction)


def huber(predictions: Any, targets: Any, *, delta: float = 1.0,
          reduction: str = "mean") -> ember.Tensor:
    """Huber loss: ``0.5 d**2`` where ``|d| <= delta``, ``delta * (|d| - 0.5 delta)`` beyond,
    for ``d = predictions - targets`` (torch's ``huber_loss``, Keras' ``Huber``).

    >>> ember_nn.huber(ember.tensor([0.5, 3.0]), ember.tensor([0.0, 0.0]), reduction="none").tolist()
    [0.125, 2.5]
    """
    if isinstance(delta, bool) or not isinstance(delta, int | float) or not delta > 0:
        raise ember.ArgumentError(f"huber: delta must be a positive number, got {delta!r}")
    p, t = _regression("huber", predictions, targets, reduction)
    d = p - t
    ad = ember.abs(d)
    loss = ember.where(ad <= delta, 0.5 * ember.square(d), delta * (ad - 0.5 * delta))
    return _reduce(loss, reduction)


class MSELoss(Module):
    """``mse`` as a module.

    >>> float(ember_nn.MSELoss()(ember.tensor([1.0]), ember.tensor([0.0])))
    1.0
    """

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction("MSELoss", reduction)
        self.reduction = reduction

    def forward(self, predictions: Any, targets: Any) -> ember.Tensor:
        return mse(predictions, targets, reduction=self.reduction)


class MAELoss(Module):
    """``mae`` as a module.

    >>> float(ember_nn.MAELoss()(ember.tensor([1.0]), ember.tensor([3.0])))
    2.0
    """

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction("MAELoss", reduction)
        self.reduction = reduction

    def forward(self, predictions: Any, targets: Any) -> ember.Tensor:
        return mae(predictions, targets, reduction=self.reduction)


class HuberLoss(Module):
    """``huber`` as a module.

    >>> float(ember_nn.HuberLoss(2.0)(ember.tensor([3.0]), ember.tensor([0.0])))
    4.0
    """

    def __init__(self, delta: float = 1.0, *, reduction: str = "mean") -> None:
        super().__init__()
        if isinstance(delta, bool) or not isinstance(delta, int | float) or not delta > 0:
            raise ember.ArgumentError(f"HuberLoss: delta must be a positive number, got {delta!r}")
        _check_reduction("HuberLoss", reduction)
        self.delta, self.reduction = delta, reduction

    def forward(self, predictions: Any, targets: Any) -> ember.Tensor:
        return huber(predictions, targets, delta=self.delta, reduction=self.reduction)
