"""Scoring as the MAD paper does it: class-balanced (macro) accuracy over the targets that are
not ignored, best test accuracy of a run, best run of the lr x wd grid, mean over a task's
settings, mean over tasks; and the paper's table."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import ember
import numpy as np

from ._errors import MADError
from ._tasks import LR_GRID, TASKS, WD_GRID

__all__ = ["PAPER_SCORES", "macro_accuracy", "mad_score", "run_result", "setting_result",
           "task_score"]

_TRANSFORMER = ("mh-attention", "swiglu", "mh-attention", "swiglu")
_HYENA = ("mh-hyena", "swiglu", "mh-hyena", "swiglu")
_MAMBA = ("mamba", "swiglu", "mamba", "swiglu")


def _row(compression: float, fuzzy: float, recall: float, memorization: float, noisy: float,
         copying: float, mean: float) -> Mapping[str, float]:
    return MappingProxyType({
        "compression": compression, "fuzzy-in-context-recall": fuzzy,
        "in-context-recall": recall, "memorization": memorization,
        "noisy-in-context-recall": noisy, "selective-copying": copying, "mean": mean})


#: The MAD scores (%) of Poli et al. 2024 (Table: MAD synthetics), keyed by the layer list:
#: per task and their ``"mean"`` as printed (the mean of the six, rounded).
PAPER_SCORES: Mapping[tuple[str, ...], Mapping[str, float]] = MappingProxyType({
    _TRANSFORMER: _row(51.6, 29.8, 94.1, 85.2, 86.8, 99.6, 74.5),
    _HYENA: _row(44.8, 14.4, 99.0, 89.4, 98.6, 93.0, 73.2),
    _MAMBA: _row(52.7, 6.7, 90.4, 89.5, 90.1, 86.3, 69.3),
})


def _labels(x: Any, name: str, *, logits_ok: bool, ndim: int | None = None) -> np.ndarray:
    """Integer labels as a NumPy array: floats with one more axis than the targets are logits
    (argmax over the last axis, on the tensor's own device for an ember tensor)."""
    if isinstance(x, ember.Tensor):
        if logits_ok and ember.isdtype(x.dtype, "real floating") and x.ndim == ndim:
            x = ember.argmax(x, axis=-1)
        x = x.numpy()
    a = np.asarray(x)
    if logits_ok and a.ndim == ndim and np.issubdtype(a.dtype, np.floating):
        a = a.argmax(axis=-1)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or a.size == 0):
        what = "integer class ids, or logits with one more axis" if logits_ok else "integers"
        raise MADError(f"{name} must be {what}; got dtype {a.dtype} and shape {a.shape}")
    return a.astype(np.int64, copy=False)


def _macro(p: np.ndarray, t: np.ndarray, num_classes: int) -> float:
    confusion = np.bincount(t * num_classes + p, minlength=num_classes**2)
    confusion = confusion.reshape(num_classes, num_classes)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)  # tp + fn
    predicted = confusion.sum(axis=0)  # tp + fp
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    counted = (support + predicted) > 0  # torchmetrics drops classes with tp + fp + fn == 0
    return float(recall[counted].mean()) if counted.any() else 0.0


def macro_accuracy(predictions: Any, targets: Any, *, num_classes: int, ignore_index: int = -100,
                   batch_size: int | None = None) -> float:
    """Class-balanced accuracy over the targets that are not ``ignore_index``: the paper's test
    accuracy, equal to torchmetrics' ``MulticlassAccuracy(num_classes, average="macro",
    ignore_index=-100)``.

    Each class's recall (correct / its targets) is averaged over the classes that occur among
    the targets or the predictions at the positions kept; a class that is predicted there but
    never a target counts with recall 0, a class neither predicted nor a target is left out. No
    position kept: 0.0.

    With ``batch_size``, the score is what MAD-Lab logs as an epoch's test accuracy: the
    accuracy of each batch of ``batch_size`` sequences (the leading axis, in order), averaged
    with the batches' sizes as weights (Lightning's epoch mean of the per-batch values).

    Arguments:
        predictions: class ids shaped like ``targets``, or logits with one more axis (classes
            last; argmax, first maximum on ties), as NumPy arrays, ember tensors (any backend)
            or nested lists.
        targets: class ids in ``[0, num_classes)`` or ``ignore_index``.
        num_classes: the number of classes (the vocabulary size).
        ignore_index: the target value that is left out.
        batch_size: ``None`` for the whole set at once; else MAD-Lab's per-batch mean.

    Returns:
        The accuracy, a float in [0, 1].

    Raises:
        MADError: shapes that do not match, ids outside ``[0, num_classes)``, bad arguments.

    >>> macro_accuracy([[0, 1, 1, 2]], [[0, 1, 2, -100]], num_classes=3)
    0.6666666666666666
    >>> macro_accuracy([0, 0, 0, 1], [0, 0, 0, 2], num_classes=3)  # class 1 predicted, never a target
    0.3333333333333333
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise MADError(f"num_classes must be an integer >= 1, got {num_classes!r}")
    num_classes = int(num_classes)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise MADError(f"ignore_index must be an integer, got {ignore_index!r}")
    t = _labels(targets, "targets", logits_ok=False)
    p = _labels(predictions, "predictions", logits_ok=True, ndim=t.ndim + 1)
    if p.shape != t.shape:
        raise MADError(f"predictions of shape {p.shape} do not match targets of shape {t.shape} "
                       f"(give class ids of the targets' shape, or logits of shape "
                       f"{(*t.shape, num_classes)})")
    keep = t != ignore_index
    for name, a in (("targets", t[keep]), ("predictions", p)):
        bad = a[(a < 0) | (a >= num_classes)]
        if bad.size:
            raise MADError(f"{name} hold {int(bad[0])}, outside [0, {num_classes}) "
                           f"(num_classes={num_classes}, ignore_index={ignore_index})")
    if batch_size is None:
        return _macro(p[keep], t[keep], num_classes)
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise MADError(f"batch_size must be an integer >= 1 or None, got {batch_size!r}")
    if t.ndim == 0 or len(t) == 0:
        raise MADError(f"batch_size needs targets with a leading axis of sequences, got shape "
                       f"{t.shape}")
    total = 0.0
    for start in range(0, len(t), batch_size):
        pb, tb, kb = p[start:start + batch_size], t[start:start + batch_size], \
            keep[start:start + batch_size]
        total += _macro(pb[kb], tb[kb], num_classes) * len(tb)
    return total / len(t)


def _scores(values: Iterable[Any], name: str) -> list[float]:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(float(v)):
            raise MADError(f"{name} must be numbers, got {v!r}")
        out.append(float(v))
    if not out:
        raise MADError(f"{name} is empty: give at least one")
    return out


def run_result(test_accuracies: Iterable[float]) -> float:
    """A run's result: its best test accuracy over the epochs.

    >>> run_result([0.2, 0.7, 0.65])
    0.7
    """
    return max(_scores(test_accuracies, "test_accuracies"))


def setting_result(runs: Mapping[tuple[float, float], float] | Iterable[float]) -> float:
    """A task setting's result: the best run over the learning-rate x weight-decay grid.

    Arguments:
        runs: run results keyed by ``(lr, weight_decay)`` (each a point of :data:`LR_GRID` x
            :data:`WD_GRID`; points not run yet may be missing), or the results alone.

    Raises:
        MADError: a key outside the grid, no runs, values that are not numbers.

    >>> setting_result({(1e-4, 0.0): 0.61, (5e-4, 0.1): 0.83, (1e-3, 0.0): 0.80})
    0.83
    """
    if isinstance(runs, Mapping):
        for key in runs:
            ok = isinstance(key, tuple) and len(key) == 2 and key[0] in LR_GRID \
                and key[1] in WD_GRID
            if not ok:
                raise MADError(f"run key {key!r} is not an (lr, weight_decay) of the grid "
                               f"lr in {LR_GRID} x weight_decay in {WD_GRID}")
        runs = runs.values()
    return max(_scores(runs, "runs"))


def task_score(setting_results: Iterable[float]) -> float:
    """A task's score: the mean of its settings' results (the baseline and the difficulty
    changes of ``task_settings(task, "full")``, or the baseline alone).

    >>> task_score([1.0, 0.5, 0.75])
    0.75
    """
    s = _scores(setting_results, "setting_results")
    return sum(s) / len(s)


def mad_score(task_scores: Mapping[str, float]) -> float:
    """The MAD score: the mean of the task scores.

    Arguments:
        task_scores: task name -> score; the names must be MAD tasks (all six for the
            benchmark's score; fewer give the mean of those).

    Raises:
        MADError: an unknown task name, no tasks.

    >>> mad_score({"in-context-recall": 0.9, "memorization": 0.7})
    0.8
    """
    if not isinstance(task_scores, Mapping):
        raise MADError(f"task_scores must be a mapping of task name to score, got "
                       f"{type(task_scores).__name__}")
    unknown = [t for t in task_scores if t not in TASKS]
    if unknown:
        raise MADError(f"unknown MAD task {unknown[0]!r} in task_scores: the tasks are "
                       f"{', '.join(TASKS)}")
    s = _scores(task_scores.values(), "task_scores")
    return sum(s) / len(s)
