"""cross_entropy, written once from primitives."""

from __future__ import annotations

from typing import Any

from .._dispatch import backend_of, native_of, norm_axis, rebase
from .._errors import DTypeError, EmberError, ShapeError
from .._tensor import Tensor
from . import _elementwise as ew
from ._activations import _float, log_softmax, one_hot
from ._creation import asarray
from ._dtypes import astype
from ._manipulation import moveaxis
from ._searching import where
from ._statistical import sum as _sum

__all__ = ["cross_entropy"]

T = Tensor


def cross_entropy(
    logits: Any, targets: Any, *, axis: int = -1, ignore_index: int | None = None,
    label_smoothing: float = 0.0, reduction: str = "mean",
) -> Tensor:
    """Cross-entropy between logits and integer class targets (or class probabilities).

    Integer targets have logits' shape without ``axis``; probability targets have logits' shape.
    ``ignore_index`` drops those targets (the mean is over the rest); ``label_smoothing`` mixes
    the target distribution with the uniform one. ``reduction`` is 'mean', 'sum' or 'none'.
    With integer targets a backend's fused ``nn_cross_entropy`` kernel runs where it has one
    (torch: ``F.cross_entropy``); this composite is its reference.
    """
    if reduction not in ("mean", "sum", "none"):
        raise EmberError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise EmberError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = rebase(backend_of("cross_entropy", logits, targets), _float(logits))
    if x.ndim == 0:
        raise ShapeError("cross_entropy: logits need a class axis")
    ax = norm_axis("cross_entropy", axis, x.ndim)
    t = targets if isinstance(targets, Tensor) else asarray(targets, backend=x._b, device=x.device)
    if t.dtype.is_integer:
        rest = x.shape[:ax] + x.shape[ax + 1:]
        if t.shape != rest:
            raise ShapeError(
                f"cross_entropy: integer targets must have shape {rest} (logits {tuple(logits.shape)} "
                f"without the class axis), got {t.shape}"
            )
        f = x._b.kernels.nn_cross_entropy
        if f is not None and x.size:  # the backend's fused kernel (integer targets only)
            return T(f(x._n, t._n, ax, ignore_index, float(label_smoothing), reduction), x._b)
    x = moveaxis(x, ax, -1)
    c = x.shape[-1]
    logp = log_softmax(x, axis=-1)
    valid = None
    if t.dtype.is_integer:
        probs, valid = class_targets(t, c, x.dtype, ignore_index)
    elif t.dtype.is_floating:
        probs = moveaxis(T(native_of(x._b, t, "cross_entropy", x.dtype), x._b), axis, -1)
        if probs.shape != x.shape:
            raise ShapeError(f"cross_entropy: probability targets must have the logits' shape, got {t.shape}")
    else:
        raise DTypeError(f"cross_entropy: targets must be integer classes or float probabilities, got {t.dtype}")
    probs = smoothed(probs, label_smoothing)
    loss = ew.negative(_sum(ew.multiply(probs, logp), axis=-1))
    if valid is not None:
        loss = where(valid, loss, 0.0)
    if reduction == "none":
        return loss
    total = _sum(loss)
    if reduction == "sum":
        return total
    count = _sum(valid) if valid is not None else loss.size
    return ew.divide(total, astype(count, x.dtype) if isinstance(count, Tensor) else float(count))


def class_targets(t: Tensor, c: int, dtype: Any, ignore_index: int | None
                  ) -> tuple[Tensor, Tensor | None]:
    """Integer targets as one-hot rows of ``c`` classes in ``dtype`` (an ignored target's row:
    class 0's), and the mask of the counted positions (None without ``ignore_index``): shared
    by the composite and the fused kernel's gradient rule."""
    valid = None
    if ignore_index is not None:
        valid = ew.not_equal(t, ignore_index)
        t = where(valid, t, 0)
    return one_hot(t, c, dtype=dtype), valid


def smoothed(probs: Tensor, label_smoothing: float) -> Tensor:
    """The target distribution mixed with the uniform one over the last axis's classes."""
    if not label_smoothing:
        return probs
    return ew.add(ew.multiply(probs, 1.0 - label_smoothing), label_smoothing / probs.shape[-1])

