"""VJP rule of the fused cross-entropy kernel (see ``activations.py`` on fused composites and
their rules)."""

from __future__ import annotations

from typing import Any

from ...ops import _elementwise as ew
from ...ops._activations import softmax
from ...ops._dtypes import astype
from ...ops._losses import class_targets, smoothed
from ...ops._manipulation import expand_dims, moveaxis
from ...ops._searching import where
from ...ops._statistical import sum as _sum
from . import vjp


@vjp("nn_cross_entropy", diff=(0,))
def _cross_entropy(needs: Any, g: Any, out: Any, logits: Any, targets: Any, axis: int,
                   ignore_index: int | None, label_smoothing: float,
                   reduction: str) -> tuple[Any]:
    """With p = softmax(logits) and q the target distribution ((1 - s) one_hot(t) + s / C),
    a counted position's loss -sum(q log p) has the gradient p - q; each position's cotangent
    is g ('none'), the scalar g ('sum') or g / the number of counted positions ('mean'), and
    0 where the target is ``ignore_index``. The kernel gets integer targets only."""
    x = moveaxis(logits, axis, -1)
    q, valid = class_targets(targets, x.shape[-1], x.dtype, ignore_index)
    q = smoothed(q, label_smoothing)
    w = g  # 'none': a cotangent per position; else a scalar, broadcast below
    if reduction == "mean":
        count = astype(_sum(valid), g.dtype) if valid is not None else float(targets.size)
        w = ew.divide(g, count)
    if valid is not None:
        w = where(valid, w, 0.0)
    grad = ew.multiply(ew.subtract(softmax(x, axis=-1), q), expand_dims(w, axis=-1))
    return (moveaxis(grad, -1, axis),)
