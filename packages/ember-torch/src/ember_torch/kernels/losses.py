"""Loss kernels: fused overrides of ember-core's composites."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._util import Tensor

__all__ = ["nn_cross_entropy"]

#: ``ignore_index=None``: no target equals this (torch's own default, -100, is a real value)
_NO_INDEX = torch.iinfo(torch.int64).min


def nn_cross_entropy(logits: Tensor, targets: Tensor, axis: int, ignore_index: int | None,
                     label_smoothing: float, reduction: str) -> Tensor:
    """``F.cross_entropy`` over the class ``axis`` (ember-core calls it with integer targets of
    the logits' shape without that axis, checked, and no size zero): one kernel forward and
    one backward where the composite runs a one-hot product."""
    c = logits.shape[axis]
    x = logits.movedim(axis, -1).reshape(-1, c)
    loss = F.cross_entropy(x, targets.reshape(-1).long(),
                           ignore_index=_NO_INDEX if ignore_index is None else ignore_index,
                           label_smoothing=label_smoothing, reduction=reduction)
    return loss.reshape(targets.shape) if reduction == "none" else loss
