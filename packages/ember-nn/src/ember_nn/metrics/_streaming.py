"""Streaming metrics: objects that accumulate exact counts over batches (``update``,
``result() -> float``, ``reset``), so the result over batches equals the result over the whole
data."""

from __future__ import annotations

import math
from typing import Any

import ember

from .._core._checks import _tensor
from ._batch import _binary, _classes, _per_class

__all__ = ["Accuracy", "BinaryAccuracy", "MacroAccuracy", "Mean"]


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
