"""The argument checks the losses and metrics share: reductions, dtypes, shapes, class axes,
label ranges and [0, 1] ranges. The range checks read the host once per call."""

from __future__ import annotations

from typing import Any

import ember

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x: Any, like: ember.Tensor | None = None) -> ember.Tensor:
    if isinstance(x, ember.Tensor):
        return x
    if like is None:
        return ember.asarray(x)
    return ember.asarray(x, backend=like.backend, device=like.device)


def _check_reduction(op: str, reduction: Any) -> None:
    if reduction not in _REDUCTIONS:
        raise ember.ArgumentError(
            f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_smoothing(op: str, s: Any) -> None:
    if isinstance(s, bool) or not isinstance(s, int | float) or not 0.0 <= s < 1.0:
        raise ember.ArgumentError(f"{op}: label_smoothing must be a number in [0, 1), got {s!r}")


def _check_eps(op: str, eps: Any) -> None:
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not 0.0 < eps < 0.5:
        raise ember.ArgumentError(f"{op}: eps must be a number in (0, 0.5), got {eps!r}")


def _floating(op: str, x: ember.Tensor, what: str) -> ember.Tensor:
    if not x.dtype.is_floating:
        raise ember.DTypeError(
            f"{op}: {what} must be floating point, got {x.dtype}; cast with .astype(ember.float32)")
    return x


def _same_shape(op: str, a: ember.Tensor, b: ember.Tensor, what: str = "targets") -> None:
    if a.shape != b.shape:
        raise ember.ShapeError(
            f"{op}: predictions of shape {a.shape} and {what} of shape {b.shape} differ; "
            f"they must have the same shape (reshape one; losses do not broadcast)")


def _class_axis(op: str, x: ember.Tensor, axis: Any) -> int:
    if x.ndim == 0:
        raise ember.ShapeError(f"{op}: logits need a class axis, got a scalar")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -x.ndim <= axis < x.ndim:
        raise ember.ShapeError(f"{op}: axis {axis!r} is out of range for logits of shape {x.shape}")
    return axis % x.ndim


def _check_label_range(op: str, labels: ember.Tensor, num_classes: int,
                       ignore_index: int | None = None, what: str = "labels") -> None:
    """Raise OutOfBoundsError if an integer label is outside [0, num_classes). The labels are
    read to the host once and compared there: a batch of labels is small, and one read costs
    less than comparisons on the device followed by a read of their result (a GPU sync
    either way; on MLX an evaluation either way, of a graph of five ops that way). Skipped
    inside a compiled program, where no value is on the host: the eager step checks."""
    if labels.size == 0 or ember.compiling():
        return
    y = labels.numpy()  # a NumPy array: compared with its own methods (ember_nn imports none)
    info = ember.iinfo(labels.dtype)
    bad = y < 0
    if num_classes <= info.max:
        bad |= y >= num_classes
    if ignore_index is not None and info.min <= ignore_index <= info.max:
        bad &= y != ignore_index
    if bad.any():
        found = sorted(set(y[bad].tolist()))
        shown = ", ".join(str(v) for v in found[:5]) + (", ..." if len(found) > 5 else "")
        hint = "" if ignore_index is None else f" or ignore_index={ignore_index}"
        raise ember.OutOfBoundsError(
            f"{op}: {what} must be class indices in [0, {num_classes}){hint}; found {shown}")


def _check_unit_range(op: str, named: list[tuple[str, ember.Tensor, str]]) -> None:
    """ArgumentError if a tensor holds values outside [0, 1] (NaN passes: non-finite values are
    ``TerminateOnNaN``'s and fit's data check's business). One boolean is read on the host
    (the details only when it is set); skipped inside a compiled program, like the label check."""
    if ember.compiling():
        return
    flags = [ember.any((t < 0.0) | (t > 1.0)) for _, t, _ in named if t.size]
    if not flags or not bool(flags[0] if len(flags) == 1 else ember.any(ember.stack(flags))):
        return
    for what, t, hint in named:
        bad = (t < 0.0) | (t > 1.0)
        n = int(ember.count_nonzero(bad))
        if n:
            lo, hi = float(ember.min(t)), float(ember.max(t))
            raise ember.ArgumentError(
                f"{op}: {what} must be in [0, 1]; {n} of {t.size} are outside (they range from "
                f"{lo:g} to {hi:g}); {hint}")


def _reduce(loss: ember.Tensor, reduction: str) -> ember.Tensor:
    if reduction == "mean":
        return ember.mean(loss)
    if reduction == "sum":
        return ember.sum(loss)
    return loss


