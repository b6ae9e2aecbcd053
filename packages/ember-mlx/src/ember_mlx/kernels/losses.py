"""Loss kernels: fused overrides of ember-core's composites."""

from __future__ import annotations

from typing import Any

import mlx.core as mx

from .activations import nn_log_softmax

__all__ = ["nn_cross_entropy"]


def nn_cross_entropy(logits: Any, targets: Any, axis: int, ignore_index: int | None,
                     label_smoothing: float, reduction: str) -> Any:
    """The target's log-probability gathered (``take_along_axis``) where the composite
    multiplies by a one-hot array (ember-core calls it with integer targets of the logits'
    shape without ``axis``, checked, and no size zero)."""
    logp = nn_log_softmax(mx.moveaxis(logits, axis, -1), -1)
    t, valid = targets, None
    if ignore_index is not None:
        valid = t != ignore_index
        t = mx.where(valid, t, 0)
    index = mx.expand_dims(t.astype(mx.int32), -1)
    loss = -mx.take_along_axis(logp, index, axis=-1).squeeze(-1)
    if label_smoothing:
        c = logp.shape[-1]
        loss = loss * (1.0 - label_smoothing) - mx.sum(logp, axis=-1) * (label_smoothing / c)
    if valid is not None:
        loss = mx.where(valid, loss, mx.zeros((), loss.dtype))
    if reduction == "none":
        return loss
    total = mx.sum(loss)
    if reduction == "sum":
        return total
    count = mx.sum(valid).astype(total.dtype) if valid is not None else loss.size
    return total / count
