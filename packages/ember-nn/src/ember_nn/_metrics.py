"""Metrics: functions of a batch (0-d float32 tensors, no host sync) and streaming objects that
accumulate exact counts over batches (``update``, ``result() -> float``, ``reset``), so the
result over batches equals the result over the whole data.

Class predictions are either scores of shape ``labels.shape + (C,)`` (logits or probabilities;
the argmax over the last axis is the prediction) or integer class indices of labels' shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ember

from ._core._checks import _check_label_range, _floating, _tensor
from ._core._errors import ConfigError

__all__ = ["Accuracy", "BinaryAccuracy", "MacroAccuracy", "Mean", "accuracy", "binary_accuracy",
           "confusion_matrix", "get", "macro_accuracy", "streaming"]


# -- batch helpers ---------------------------------------------------------------------------------
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


# -- batch metrics ---------------------------------------------------------------------------------
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


# -- streaming metrics -----------------------------------------------------------------------------
class Mean:
    """A running (optionally weighted) mean of values, accumulated on the host in float64.

    >>> m = ember_nn.Mean()
    >>> m.update(ember.tensor([1.0, 2.0])); m.update(6.0)
    >>> m.result()
    3.0
    """

    def __init__(self, name: str = "mean") -> None:
        self.name = name
        self.reset()

    def reset(self) -> None:
        """Forget everything accumulated."""
        self._total, self._weight = 0.0, 0.0

    def update(self, values: Any, weight: Any = None) -> None:
        """Add every element of ``values``, each with ``weight`` (a number or a tensor
        broadcasting to ``values``; default 1). To average per-batch means over examples, pass
        the batch size as the weight."""
        if isinstance(values, int | float) and not isinstance(values, bool):
            scale = 1.0 if weight is None else float(weight)
            self._total += float(values) * scale
            self._weight += scale
            return
        v = _tensor(values)
        if v.dtype is ember.bool or v.dtype.is_complex:
            raise ember.DTypeError(f"Mean.update: values must be real numbers, got {v.dtype}")
        if weight is None:
            self._total += float(ember.sum(v))
            self._weight += v.size
            return
        w = _tensor(weight, like=v)
        try:
            w = ember.broadcast_to(w, v.shape)
        except ember.EmberError:
            raise ember.ShapeError(f"Mean.update: weight of shape {w.shape} does not broadcast "
                                   f"to values of shape {v.shape}") from None
        self._total += float(ember.sum(v * w))
        self._weight += float(ember.sum(w))

    def result(self) -> float:
        """The mean so far (NaN before any update)."""
        return self._total / self._weight if self._weight else math.nan

    def __repr__(self) -> str:
        return f"Mean(name={self.name!r}, result={self.result()!r})"


class Accuracy:
    """Running ``accuracy``: exact counts of correct predictions over every update.

    >>> acc = ember_nn.Accuracy()
    >>> acc.update(ember.tensor([1, 0]), ember.tensor([1, 1])); acc.update(ember.tensor([2]), ember.tensor([2]))
    >>> round(acc.result(), 4)
    0.6667
    """

    name = "accuracy"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything accumulated."""
        self._correct, self._count = 0, 0

    def update(self, predictions: Any, labels: Any) -> None:
        """Count a batch (scores or class indices, as ``accuracy`` takes them)."""
        pred, y, _ = _classes("Accuracy.update", predictions, labels)
        self._correct += int(ember.sum(pred == y))
        self._count += y.size

    def result(self) -> float:
        """Correct / seen so far (NaN before any update)."""
        return self._correct / self._count if self._count else math.nan

    def __repr__(self) -> str:
        return f"Accuracy(result={self.result()!r})"


class BinaryAccuracy(Accuracy):
    """Running ``binary_accuracy``.

    >>> acc = ember_nn.BinaryAccuracy(threshold=0.5)
    >>> acc.update(ember.tensor([0.9, 0.2]), ember.tensor([1.0, 1.0])); acc.result()
    0.5
    """

    name = "binary_accuracy"

    def __init__(self, *, threshold: float = 0.0) -> None:
        self.threshold = threshold
        super().__init__()

    def update(self, logits: Any, targets: Any) -> None:
        """Count a batch of logits and targets (as ``binary_accuracy`` takes them)."""
        ok = _binary("BinaryAccuracy.update", logits, targets, self.threshold)
        self._correct += int(ember.sum(ok))
        self._count += ok.size

    def __repr__(self) -> str:
        return f"BinaryAccuracy(threshold={self.threshold!r}, result={self.result()!r})"


class MacroAccuracy:
    """Running ``macro_accuracy``: exact per-class counts over every update, so the result is
    the class-balanced accuracy of all the data seen. Without ``num_classes`` the class count
    grows with the labels seen.

    >>> m = ember_nn.MacroAccuracy()
    >>> m.update(ember.tensor([0, 0]), ember.tensor([0, 0])); m.update(ember.tensor([0]), ember.tensor([1]))
    >>> m.result()
    0.5
    """

    name = "macro_accuracy"

    def __init__(self, num_classes: int | None = None) -> None:
        if num_classes is not None and (isinstance(num_classes, bool)
                                        or not isinstance(num_classes, int) or num_classes < 1):
            raise ember.ArgumentError(
                f"MacroAccuracy: num_classes must be a positive int or None, got {num_classes!r}")
        self.num_classes = num_classes
        self.reset()

    def reset(self) -> None:
        """Forget everything accumulated."""
        self._correct: list[int] = []
        self._total: list[int] = []

    def update(self, predictions: Any, labels: Any) -> None:
        """Count a batch (scores or class indices, as ``macro_accuracy`` takes them)."""
        correct, total = _per_class("MacroAccuracy.update", predictions, labels, self.num_classes)
        c, t = correct.tolist(), total.tolist()
        grow = len(c) - len(self._correct)
        if grow > 0:
            self._correct += [0] * grow
            self._total += [0] * grow
        for i, (a, b) in enumerate(zip(c, t)):
            self._correct[i] += a
            self._total[i] += b

    def per_class(self) -> list[float]:
        """Each class's recall so far (NaN for classes not seen in the labels)."""
        return [a / b if b else math.nan for a, b in zip(self._correct, self._total)]

    def result(self) -> float:
        """The mean recall over the classes seen in the labels (NaN before any update)."""
        seen = [r for r in self.per_class() if not math.isnan(r)]
        return sum(seen) / len(seen) if seen else math.nan

    def __repr__(self) -> str:
        return f"MacroAccuracy(num_classes={self.num_classes!r}, result={self.result()!r})"


# -- names -----------------------------------------------------------------------------------------
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
    if callable(name):
        return name
    fn = _FUNCTIONS.get(name) if isinstance(name, str) else None
    if fn is None:
        raise ConfigError(f"unknown metric {name!r}; known: {sorted(_FUNCTIONS)}")
    return fn


def streaming(name: str, **kwargs: Any) -> Any:
    """A fresh streaming metric for a name, built with ``kwargs``.

    >>> ember_nn.streaming_metric("macro_accuracy", num_classes=3)
    MacroAccuracy(num_classes=3, result=nan)
    """
    cls = _STREAMING.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown streaming metric {name!r}; known: {sorted(_STREAMING)}")
    return cls(**kwargs)
