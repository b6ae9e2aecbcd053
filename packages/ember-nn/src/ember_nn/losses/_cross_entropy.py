"""Cross-entropy losses: ``binary_cross_entropy``, ``categorical_cross_entropy``,
``sparse_categorical_cross_entropy`` (plain functions) and their Module shells.

``reduction`` is ``"mean"`` (over every example; over the non-ignored ones with
``ignore_index``), ``"sum"`` or ``"none"`` (the per-example losses).
"""

from __future__ import annotations

from typing import Any

import ember

from .._core._checks import (
    _check_eps,
    _check_label_range,
    _check_reduction,
    _check_smoothing,
    _check_unit_range,
    _class_axis,
    _floating,
    _reduce,
    _same_shape,
    _tensor,
)
from .._core._errors import ConfigError
from .._core._module import Module

__all__ = ["BinaryCrossEntropyLoss", "CategoricalCrossEntropyLoss",
           "SparseCategoricalCrossEntropyLoss", "binary_cross_entropy",
           "categorical_cross_entropy", "sparse_categorical_cross_entropy"]


def _pos_weight(op: str, w: Any, x: ember.Tensor) -> Any:
    if isinstance(w, bool):
        raise ember.ArgumentError(f"{op}: pos_weight must be a number or a tensor, got {w!r}")
    if isinstance(w, int | float):
        return float(w)
    t = _floating(op, _tensor(w, like=x), "pos_weight")
    small, big = t.shape, x.shape
    if len(small) > len(big) or any(s not in (1, b) for s, b in zip(small[::-1], big[::-1])):
        raise ember.ShapeError(
            f"{op}: pos_weight of shape {small} does not broadcast to the logits' shape {big}; "
            f"give one weight per class along the last axis, shape ({big[-1] if big else 1},)")
    return t


def binary_cross_entropy(logits: Any, targets: Any, *, from_logits: bool = True,
                         pos_weight: Any = None, eps: float = 1e-7,
                         reduction: str = "mean") -> ember.Tensor:
    """Binary cross-entropy of independent yes/no predictions against targets in [0, 1].

    With ``from_logits`` (the default) the inputs are logits and the loss is
    ``pos_weight * t * softplus(-x) + (1 - t) * softplus(x)``, finite for any logit; otherwise
    they are probabilities, clipped to ``[eps, 1 - eps]`` before the logs. ``pos_weight``
    (a number, or a tensor broadcasting to the logits' shape, e.g. one per class) scales the
    positive term, as in torch's ``binary_cross_entropy_with_logits``. Targets are floats of
    the logits' shape (booleans are taken as 0/1).

    Targets outside [0, 1] (and, without ``from_logits``, probabilities outside [0, 1]) are an
    ``ArgumentError`` naming their range, as torch's ``BCELoss`` refuses them: the check reads
    one boolean on the host per call (so under ``ember.compile`` MLX runs the function
    uncompiled and torch breaks its graph there). NaN is let through.

    >>> round(float(ember_nn.binary_cross_entropy(ember.tensor([0.0]), ember.tensor([1.0]))), 4)
    0.6931
    """
    op = "binary_cross_entropy"
    _check_reduction(op, reduction)
    x = _floating(op, _tensor(logits), "logits" if from_logits else "probabilities")
    t = _tensor(targets, like=x)
    if t.dtype is ember.bool:
        t = ember.astype(t, x.dtype)
    _floating(op, t, "targets")
    _same_shape(op, x, t)
    w = None if pos_weight is None else _pos_weight(op, pos_weight, x)
    named = [("targets", t, "they are probabilities of the positive class (for -1/+1 labels "
                            "use (t + 1) / 2)")]
    if not from_logits:
        named.append(("probabilities", x, "for logits (any real number) pass from_logits=True"))
    _check_unit_range(op, named)
    if from_logits:
        pos, neg = ember.nn.softplus(-x), ember.nn.softplus(x)  # -log sigmoid(x), -log(1 - sigmoid(x))
    else:
        _check_eps(op, eps)
        p = ember.clip(x, eps, 1.0 - eps)
        pos, neg = -ember.log(p), -ember.log1p(-p)
    pos = t * pos if w is None else (w * t) * pos
    return _reduce(pos + (1.0 - t) * neg, reduction)


def categorical_cross_entropy(logits: Any, target_probs: Any, *, from_logits: bool = True,
                              label_smoothing: float = 0.0, axis: int = -1, eps: float = 1e-7,
                              reduction: str = "mean") -> ember.Tensor:
    """Cross-entropy against class probabilities of the logits' shape (one-hot or soft).

    ``label_smoothing`` ``s`` mixes the targets with the uniform distribution,
    ``(1 - s) * t + s / C``. Without ``from_logits`` the inputs are probabilities, clipped to
    ``[eps, 1 - eps]`` (not renormalised). The mean is over examples (every position but
    ``axis``).

    >>> x = ember.tensor([[2.0, 0.0, 0.0]])
    >>> round(float(ember_nn.categorical_cross_entropy(x, ember.tensor([[1.0, 0.0, 0.0]]))), 4)
    0.2395
    """
    op = "categorical_cross_entropy"
    _check_reduction(op, reduction)
    _check_smoothing(op, label_smoothing)
    x = _floating(op, _tensor(logits), "logits" if from_logits else "probabilities")
    t = _tensor(target_probs, like=x)
    if t.dtype.is_integer:
        raise ember.DTypeError(
            f"{op}: target_probs must be floating class probabilities, got {t.dtype}; for integer "
            f"class labels use sparse_categorical_cross_entropy")
    _floating(op, t, "target_probs")
    _same_shape(op, x, t, "target_probs")
    ax = _class_axis(op, x, axis)
    if from_logits:
        return ember.nn.cross_entropy(x, t, axis=ax, label_smoothing=float(label_smoothing),
                                      reduction=reduction)
    _check_eps(op, eps)
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + label_smoothing / x.shape[ax]
    loss = -ember.sum(t * ember.log(ember.clip(x, eps, 1.0 - eps)), axis=ax)
    return _reduce(loss, reduction)


def sparse_categorical_cross_entropy(logits: Any, labels: Any, *, ignore_index: int | None = None,
                                     label_smoothing: float = 0.0, axis: int = -1,
                                     reduction: str = "mean") -> ember.Tensor:
    """Cross-entropy of logits against integer class labels (torch's ``cross_entropy``).

    ``labels`` has the logits' shape without ``axis``; each must be in ``[0, C)`` or equal to
    ``ignore_index`` (checked: reading one boolean on the host). Ignored positions contribute
    0 and the mean is over the others (NaN if all are ignored, as in torch). Label smoothing
    ``s`` gives ``(1 - s) * nll + s * mean over classes of -log p``.

    >>> x = ember.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> round(float(ember_nn.sparse_categorical_cross_entropy(x, ember.tensor([0, 1]))), 4)
    0.6691
    """
    op = "sparse_categorical_cross_entropy"
    _check_reduction(op, reduction)
    _check_smoothing(op, label_smoothing)
    if ignore_index is not None and (isinstance(ignore_index, bool)
                                     or not isinstance(ignore_index, int)):
        raise ember.ArgumentError(f"{op}: ignore_index must be an int or None, got {ignore_index!r}")
    x = _floating(op, _tensor(logits), "logits")
    y = _tensor(labels, like=x)
    ax = _class_axis(op, x, axis)
    if not y.dtype.is_integer:
        raise ember.DTypeError(
            f"{op}: labels must be integer class indices, got {y.dtype}; cast with "
            f".astype(ember.int64), or use categorical_cross_entropy for class probabilities")
    want = x.shape[:ax] + x.shape[ax + 1:]
    if y.shape != want:
        raise ember.ShapeError(
            f"{op}: labels of shape {y.shape} do not fit logits of shape {x.shape}: labels need "
            f"the logits' shape without the class axis {axis}, {want}")
    _check_label_range(op, y, x.shape[ax], ignore_index)
    return ember.nn.cross_entropy(x, y, axis=ax, ignore_index=ignore_index,
                                  label_smoothing=float(label_smoothing), reduction=reduction)


class BinaryCrossEntropyLoss(Module):
    """``binary_cross_entropy`` as a module; ``pos_weight`` is a number or a list (per class).

    >>> loss = ember_nn.BinaryCrossEntropyLoss(pos_weight=[1.0, 2.0])
    >>> round(float(loss(ember.tensor([[0.0, 0.0]]), ember.tensor([[1.0, 1.0]]))), 4)
    1.0397
    """

    def __init__(self, *, from_logits: bool = True, pos_weight: float | list[Any] | None = None,
                 eps: float = 1e-7, reduction: str = "mean") -> None:
        super().__init__()
        if pos_weight is not None and (isinstance(pos_weight, bool)
                                       or not isinstance(pos_weight, int | float | list)):
            raise ConfigError(
                f"BinaryCrossEntropyLoss: pos_weight must be a number or a list of numbers (so the "
                f"config is JSON), got {type(pos_weight).__name__}; pass tensor.tolist()")
        _check_reduction("BinaryCrossEntropyLoss", reduction)
        _check_eps("BinaryCrossEntropyLoss", eps)
        self.from_logits, self.pos_weight, self.eps = from_logits, pos_weight, eps
        self.reduction = reduction

    def forward(self, logits: Any, targets: Any) -> ember.Tensor:
        return binary_cross_entropy(logits, targets, from_logits=self.from_logits,
                                    pos_weight=self.pos_weight, eps=self.eps,
                                    reduction=self.reduction)


class CategoricalCrossEntropyLoss(Module):
    """``categorical_cross_entropy`` as a module.

    >>> loss = ember_nn.CategoricalCrossEntropyLoss(label_smoothing=0.1)
    >>> round(float(loss(ember.tensor([[0.0, 0.0]]), ember.tensor([[1.0, 0.0]]))), 4)
    0.6931
    """

    def __init__(self, *, from_logits: bool = True, label_smoothing: float = 0.0, axis: int = -1,
                 eps: float = 1e-7, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction("CategoricalCrossEntropyLoss", reduction)
        _check_smoothing("CategoricalCrossEntropyLoss", label_smoothing)
        _check_eps("CategoricalCrossEntropyLoss", eps)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis
        self.eps, self.reduction = eps, reduction

    def forward(self, logits: Any, target_probs: Any) -> ember.Tensor:
        return categorical_cross_entropy(logits, target_probs, from_logits=self.from_logits,
                                         label_smoothing=self.label_smoothing, axis=self.axis,
                                         eps=self.eps, reduction=self.reduction)


class SparseCategoricalCrossEntropyLoss(Module):
    """``sparse_categorical_cross_entropy`` as a module (torch's ``CrossEntropyLoss``).

    >>> loss = ember_nn.SparseCategoricalCrossEntropyLoss(ignore_index=-100)
    >>> round(float(loss(ember.tensor([[0.0, 0.0], [5.0, 0.0]]), ember.tensor([1, -100]))), 4)
    0.6931
    """

    def __init__(self, *, ignore_index: int | None = None, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction("SparseCategoricalCrossEntropyLoss", reduction)
        _check_smoothing("SparseCategoricalCrossEntropyLoss", label_smoothing)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.axis, self.reduction = axis, reduction

    def forward(self, logits: Any, labels: Any) -> ember.Tensor:
        return sparse_categorical_cross_entropy(
            logits, labels, ignore_index=self.ignore_index, label_smoothing=self.label_smoothing,
            axis=self.axis, reduction=self.reduction)
