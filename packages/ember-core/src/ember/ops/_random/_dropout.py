"""dropout: random zeroing with the same mask on every backend (a random op, so it lives with
them; public as ``ember.nn.dropout``)."""

from __future__ import annotations

from typing import Any

from ..._errors import EmberError
from ..._tensor import Tensor
from .. import _elementwise as ew
from .._creation import asarray
from .._searching import where
from ._discrete import bernoulli

__all__ = ["dropout"]


def dropout(x: Any, rate: float, key: Any) -> Tensor:
    """Zero each element with probability rate (using key) and scale the rest by 1/(1-rate)."""
    x = x if isinstance(x, Tensor) else asarray(x)
    if not 0.0 <= rate <= 1.0:
        raise EmberError(f"dropout: rate must be in [0, 1], got {rate}")
    if rate == 0.0:
        return x
    if rate == 1.0:
        return ew.multiply(x, 0)
    # drop where uniform(key, x.shape, float32) < rate, compared exactly: the same mask everywhere
    drop = bernoulli(key, rate, x.shape, backend=x._b, device=x.device)
    return where(drop, ew.multiply(x, 0), ew.divide(x, 1.0 - rate))
