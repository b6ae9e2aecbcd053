"""Batch metrics: functions of one batch of predictions and labels, giving 0-d float32 tensors
without a host sync (``accuracy``, ``binary_accuracy``, ``macro_accuracy``, ``confusion_matrix``).

Class predictions are either scores of shape ``labels.shape + (C,)`` (logits or probabilities;
the argmax over the last axis is the prediction) or integer class indices of labels' shape.
"""

from __future__ import annotations

from typing import Any

import ember

from .._core._checks import _check_label_range, _floating, _tensor

__all__ = ["accuracy", "binary_accuracy", "confusion_matrix", "macro_accuracy"]


def _classes(op: str, predictions: Any,
             labels: Any) -> tuple[ember.Tensor, ember.Tensor, int | None]:
    """(predicted class indices, labels, number of score columns or None)."""
    p = _tensor(predictions)
    y = _tensor(labels, like=p)
    if not y.dtype.is_integer:
        raise ember.DTypeError(f"{op}: labels must be integer class indices, got {y.dtype}; "
                               f"cast with .astype(ember.int64)")
    if p.ndim == y.ndim + 1 and p.shape[:-1] == y.shape:
        if p.dtype is ember.bool or p.dtype.is_complex:
            raise ember.DTypeError(f"{op}: class scores must be real numbers, got {p.dtype}")
        return ember.argmax(p, axis=-1), y, p.shape[-1]
    if p.shape == y.shape:
        if not p.dtype.is_integer:
            raise ember.DTypeError(
                f"{op}: predictions of the labels' shape {y.shape} must be integer class indices, "
                f"got {p.dtype}; pass scores of shape {(*y.shape, 'C')} (argmax over the last "
                f"axis), or use binary_accuracy for one logit per example")
        return p, y, None
    raise ember.ShapeError(
        f"{op}: predictions of shape {p.shape} do not fit labels of shape {y.shape}: pass scores "
        f"of shape labels.shape + (num_classes,) or class indices of shape labels.shape")


def _num_classes(op: str, num_classes: Any, columns: int | None, labels: ember.Tensor,
                 preds: ember.Tensor) -> int:
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ember.ArgumentError(
                f"{op}: num_classes must be a positive int or None, got {num_classes!r}")
        if columns is not None and columns != num_classes:
            raise ember.ShapeError(
                f"{op}: num_classes={num_classes} but the predictions have {columns} class scores")
        return num_classes
    if columns is not None:
        return columns
    if labels.size == 0:
        return 1
    return max(int(ember.max(labels)), int(ember.max(preds)), 0) + 1  # one host read


def _bincount(index: ember.Tensor, length: int, weights: Any = 1) -> ember.Tensor:
    """int64 counts of each value of ``index`` in [0, length) (``weights`` added per element)."""
    zeros = ember.zeros((length,), dtype=ember.int64, backend=index.backend, device=index.device)
    flat = ember.reshape(index, (-1,))
    if flat.shape[0] == 0:
        return zeros
    if isinstance(weights, ember.Tensor):
        weights = ember.reshape(ember.astype(weights, ember.int64), (-1,))
    return ember.index_update(zeros, flat, weights, mode="add")


def _per_class(op: str, predictions: Any, labels: Any,
               num_classes: Any) -> tuple[ember.Tensor, ember.Tensor]:
    """(correct, total) per class, int64 tensors of length C."""
    pred, y, columns = _classes(op, predictions, labels)
    c = _num_classes(op, num_classes, columns, y, pred)
    _check_label_range(op, y, c)
    return _bincount(y, c, pred == y), _bincount(y, c)


def _binary(op: str, logits: Any, targets: Any, threshold: Any) -> ember.Tensor:
    """Booleans: prediction (logit > threshold) equals target (target > 0.5, or a bool)."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ember.ArgumentError(f"{op}: threshold must be a number, got {threshold!r}")
    x = _tensor(logits)
    t = _tensor(targets, like=x)
    if x.shape != t.shape:
        raise ember.ShapeError(f"{op}: logits of shape {x.shape} and targets of shape {t.shape} "
                               f"differ; they must have the same shape")
    pred = x if x.dtype is ember.bool else _floating(op, x, "logits") > threshold
    if t.dtype.is_complex:
        raise ember.DTypeError(f"{op}: targets must be booleans or real 0/1 values, got {t.dtype}")
    truth = t if t.dtype is ember.bool else t > 0.5
    return pred == truth


def accuracy(predictions: Any, labels: Any) -> ember.Tensor:
    """The fraction of predictions equal to the labels (a 0-d float32 tensor; NaN if empty).

    >>> float(ember_nn.accuracy(ember.tensor([[2.0, 1.0], [0.0, 3.0]]), ember.tensor([0, 0])))
    0.5
    """
    pred, y, _ = _classes("accuracy", predictions, labels)
    return ember.mean(ember.astype(pred == y, ember.float32))


def binary_accuracy(logits: Any, targets: Any, *, threshold: float = 0.0) -> ember.Tensor:
    """The fraction of ``logits > threshold`` matching the targets (booleans, or numbers whose
    positives are ``> 0.5``). For probabilities pass ``threshold=0.5``.

    >>> float(ember_nn.binary_accuracy(ember.tensor([2.0, -1.0, 0.5]), ember.tensor([1.0, 0.0, 0.0])))
    0.6666666865348816
    """
    return ember.mean(ember.astype(_binary("binary_accuracy", logits, targets, threshold),
                                   ember.float32))


def macro_accuracy(predictions: Any, labels: Any, num_classes: int | None = None) -> ember.Tensor:
    """Class-balanced accuracy: the mean, over the classes present in ``labels``, of each class's
    recall (sklearn's ``balanced_accuracy_score``). ``num_classes`` defaults to the number of
    score columns, or ``max(labels, predictions) + 1`` for class indices (one host read).

    >>> float(ember_nn.macro_accuracy(ember.tensor([0, 0, 0, 1]), ember.tensor([0, 0, 1, 1])))
    0.75
    """
    correct, total = _per_class("macro_accuracy", predictions, labels, num_classes)
    present = total > 0
    recall = correct / ember.maximum(total, 1)
    return ember.sum(ember.where(present, recall, 0.0)) / ember.sum(ember.astype(present, ember.float32))


def confusion_matrix(predictions: Any, labels: Any, num_classes: int | None = None) -> ember.Tensor:
    """``(C, C)`` int64 counts: row = true label, column = predicted class (sklearn's layout).

    >>> ember_nn.confusion_matrix(ember.tensor([0, 1, 1]), ember.tensor([0, 0, 1]), 2).tolist()
    [[1, 1], [0, 1]]
    """
    op = "confusion_matrix"
    pred, y, columns = _classes(op, predictions, labels)
    c = _num_classes(op, num_classes, columns, y, pred)
    _check_label_range(op, y, c)
    _check_label_range(op, pred, c, what="predictions")
    flat = ember.astype(y, ember.int64) * c + ember.astype(pred, ember.int64)
    return ember.reshape(_bincount(flat, c * c), (c, c))
