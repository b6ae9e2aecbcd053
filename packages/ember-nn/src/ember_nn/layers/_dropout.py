"""``Dropout``: random zeroing in training mode, the identity in eval mode."""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ._support import brief_repr

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``,
    in training mode only (``layer.eval()`` makes it the identity).

    Call ``i`` (counting training-mode calls from 0) uses ``fold_in(key, i)``, ``key`` the
    layer's key (``key=``, else the next key of the ``ember_nn.seeded`` stream): the same seed
    gives the same masks run after run, on every backend. ``forward(x, key=k)`` uses ``k``
    instead and leaves the counter alone. The counter is not part of ``state_dict``.

    >>> drop = ember_nn.Dropout(0.5, key=0)
    >>> y = drop(ember.ones((4, 4)))
    >>> set(sum(y.tolist(), [])) <= {0.0, 2.0}
    True
    >>> drop.eval()(ember.ones((2,))).tolist()
    [1.0, 1.0]
    """

    def __init__(self, rate: float, *, key: Any = None) -> None:
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate < 1.0:
            raise ConfigError(f"Dropout: rate must be a number in [0, 1), got {rate!r} (the "
                              f"fraction of elements zeroed; 1 would zero everything)")
        self.rate = float(rate)
        self.key = next_key(key)
        self.calls = 0

    def forward(self, x: ember.Tensor, *, key: Any = None) -> ember.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        if key is None:
            key = ember.random.fold_in(self.key, self.calls)
            self.calls += 1
        return ember.nn.dropout(x, self.rate, key)

    def extra_repr(self) -> str:
        return brief_repr(self)
