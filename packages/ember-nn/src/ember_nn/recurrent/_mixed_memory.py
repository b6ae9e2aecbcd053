"""The memory cell of ``mixed_memory=True`` (ncps's ``LSTMCell``): an LSTM run before the
liquid cell at every step, whose output becomes the liquid cell's incoming state
(Lechner & Hasani, "Learning long-term dependencies in irregularly-sampled time series").

Its gates differ from ``torch.nn.LSTM``'s: one input map with a bias and one recurrent map
without, gates in the order (input activation, input gate, forget gate, output gate), and the
forget gate's pre-activation shifted by +1.
"""

from __future__ import annotations

from typing import Any

import ember

from .. import init
from .._core._module import Module
from .._core._random import next_key
from ._liquid_support import Linear, uniform_init

__all__ = ["MixedMemoryLSTM"]


class MixedMemoryLSTM(Module):
    """ncps's ``LSTMCell`` (parameters ``input_map.weight``, ``input_map.bias``,
    ``recurrent_map.weight``, in torch's layout); ``step(x_t, (h, c))`` gives the new
    ``(h, c)``."""

    config_name = "_MixedMemoryLSTM"

    def __init__(self, input_size: int, hidden_size: int, *, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        k_in, k_rec = ember.random.split(next_key(key))
        # ncps: Glorot-uniform input weights, orthogonal recurrent weights, biases in ±0.1
        self.input_map = Linear(input_size, 4 * hidden_size, bias_init=uniform_init(-0.1, 0.1),
                                dtype=dtype, key=k_in)
        self.recurrent_map = Linear(hidden_size, 4 * hidden_size, use_bias=False,
                                    weight_init=init.orthogonal, dtype=dtype, key=k_rec)

    def plan(self) -> _MemoryPlan:
        """The weights prepared for a sequence of steps."""
        return _MemoryPlan(self)

    def step(self, x_t: ember.Tensor, state: tuple[ember.Tensor, ember.Tensor]
             ) -> tuple[ember.Tensor, ember.Tensor]:
        """One step: ``(h, c)`` after input ``x_t`` of shape (batch, input_size)."""
        return self.plan().step(x_t, state, 1.0)


class _MemoryPlan:
    __slots__ = ("bias", "hidden", "in_t", "rec_t")

    def __init__(self, cell: MixedMemoryLSTM) -> None:
        self.in_t = ember.matrix_transpose(cell.input_map.weight)
        self.bias = cell.input_map.bias
        self.rec_t = ember.matrix_transpose(cell.recurrent_map.weight)
        self.hidden = cell.hidden_size

    def step(self, x_t: ember.Tensor, state: tuple[ember.Tensor, ember.Tensor],
             ts: Any) -> tuple[ember.Tensor, ember.Tensor]:
        h, c = state
        z = (ember.matmul(x_t, self.in_t) + self.bias) + ember.matmul(h, self.rec_t)
        i, ig, fg, og = ember.unstack(ember.reshape(z, (z.shape[0], 4, self.hidden)), axis=1)
        c = c * ember.nn.sigmoid(fg + 1.0) + ember.tanh(i) * ember.nn.sigmoid(ig)
        return ember.tanh(c) * ember.nn.sigmoid(og), c
