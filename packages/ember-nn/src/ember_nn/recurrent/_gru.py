"""``GRUCell`` and ``GRU``: ``torch.nn.GRUCell`` and ``torch.nn.GRU`` with their parameter
names, layouts and numbers."""

from __future__ import annotations

from typing import Any

import ember

from ..layers._support import brief_repr
from ._stacked import _TorchCell, _TorchLayer

__all__ = ["GRU", "GRUCell"]


class GRUCell(_TorchCell):
    """One GRU step with ``torch.nn.GRUCell``'s parameters (``r, z, n`` stacked in that
    order; ``n = tanh(x w_in^T + b_in + r (h w_hn^T + b_hn))``, ``h' = (1 - z) n + z h``).
    ``cell(x, h=None) -> (h', (h',))``.

    >>> cell = ember_nn.GRUCell(3, 4, key=0)
    >>> y, (h,) = cell(ember.ones((2, 3)))
    >>> y.shape
    (2, 4)
    """

    _op = "gru"
    _gates = 3


class GRU(_TorchLayer):
    """``torch.nn.GRU``: ``num_layers`` GRU layers, optionally bidirectional, with dropout
    between layers in training mode. ``layer(x, hx=None, *, lengths=None, mask=None) ->
    (output, h_n)``; see ``SimpleRNN`` for the shapes, lengths and masks.

    >>> gru = ember_nn.GRU(3, 4, num_layers=2, key=0)
    >>> out, h = gru(ember.ones((5, 2, 3)))
    >>> out.shape, h.shape
    ((5, 2, 4), (2, 2, 4))
    """

    _op = "gru"
    _gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        self._build(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout,
                    bidirectional, 0, dtype, key)

    def extra_repr(self) -> str:
        return brief_repr(self)
