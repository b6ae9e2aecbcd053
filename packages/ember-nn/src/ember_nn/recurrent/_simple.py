"""``SimpleRNNCell`` and ``SimpleRNN``: the Elman RNN, ``torch.nn.RNNCell`` and
``torch.nn.RNN`` with their parameter names, layouts and numbers."""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from ..layers._support import brief_repr
from ._stacked import _TorchCell, _TorchLayer

__all__ = ["SimpleRNN", "SimpleRNNCell"]


class SimpleRNNCell(_TorchCell):
    """One step ``h' = act(x w_ih^T + b_ih + h w_hh^T + b_hh)`` (``act`` tanh or relu), with
    ``torch.nn.RNNCell``'s parameters. ``cell(x, h=None) -> (h', (h',))``.

    >>> cell = ember_nn.SimpleRNNCell(3, 4, key=0)
    >>> y, (h,) = cell(ember.ones((2, 3)))
    >>> y.shape, h.shape
    ((2, 4), (2, 4))
    """

    _op = "rnn"
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"SimpleRNNCell: nonlinearity must be 'tanh' or 'relu', got "
                              f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias=bias, dtype=dtype, key=key)
        self.nonlinearity = nonlinearity


class SimpleRNN(_TorchLayer):
    """``torch.nn.RNN``: ``num_layers`` Elman RNN layers (tanh or relu), optionally
    bidirectional, with dropout between layers in training mode. ``layer(x, hx=None, *,
    lengths=None, mask=None) -> (output, h_n)``: ``x`` ``(steps, batch, input_size)``
    (``(batch, steps, input_size)`` with ``batch_first``) or unbatched ``(steps, input_size)``;
    ``h_n`` ``(num_layers * directions, batch, hidden_size)``. Padded steps (``lengths`` or a
    ``mask``) keep the state and give zero outputs, as torch's packed sequences.

    >>> rnn = ember_nn.SimpleRNN(3, 4, num_layers=2, key=0)
    >>> out, h = rnn(ember.ones((5, 2, 3)))
    >>> out.shape, h.shape
    ((5, 2, 4), (2, 2, 4))
    """

    _op = "rnn"
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        self._build(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first,
                    dropout, bidirectional, 0, dtype, key)

    def extra_repr(self) -> str:
        return brief_repr(self)
