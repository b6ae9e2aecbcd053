"""``LSTMCell`` and ``LSTM``: ``torch.nn.LSTMCell`` and ``torch.nn.LSTM`` (projections
included) with their parameter names, layouts and numbers."""

from __future__ import annotations

from typing import Any

import ember

from ..layers._support import brief_repr
from ._stacked import _TorchCell, _TorchLayer

__all__ = ["LSTM", "LSTMCell"]


class LSTMCell(_TorchCell):
    """One LSTM step with ``torch.nn.LSTMCell``'s parameters (gates ``i, f, g, o`` stacked in
    that order in ``weight_ih`` ``(4 hidden, input)`` and ``weight_hh`` ``(4 hidden, hidden)``).
    ``cell(x, (h, c)=None) -> (h', (h', c'))``.

    >>> cell = ember_nn.LSTMCell(3, 4, key=0)
    >>> y, (h, c) = cell(ember.ones((2, 3)))
    >>> y.shape, c.shape
    ((2, 4), (2, 4))
    """

    _op = "lstm"
    _gates = 4


class LSTM(_TorchLayer):
    """``torch.nn.LSTM``: ``num_layers`` LSTM layers, optionally bidirectional, with dropout
    between layers in training mode and an optional projection (``proj_size`` > 0:
    ``weight_hr_l{k}`` ``(proj_size, hidden_size)``, ``h`` and the outputs of size
    ``proj_size``). ``layer(x, (h_0, c_0)=None, *, lengths=None, mask=None) -> (output, (h_n,
    c_n))``; see ``SimpleRNN`` for the shapes, lengths and masks.

    >>> lstm = ember_nn.LSTM(3, 4, bidirectional=True, batch_first=True, key=0)
    >>> out, (h, c) = lstm(ember.ones((2, 5, 3)), lengths=[5, 3])
    >>> out.shape, h.shape, c.shape
    ((2, 5, 8), (2, 2, 4), (2, 2, 4))
    """

    _op = "lstm"
    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        self._build(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout,
                    bidirectional, proj_size, dtype, key)

    def extra_repr(self) -> str:
        return brief_repr(self)
