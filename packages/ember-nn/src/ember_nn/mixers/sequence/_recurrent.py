"""``RecurrentMixer``: a recurrent or liquid cell (LSTM, GRU, Elman RNN, CfC, LTC) as a sequence
mixer, so MAD blocks and language models can stack them beside attention, Hyena or Mamba."""

from __future__ import annotations

from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._support import brief_repr, positive_int
from ...recurrent._cell import Cell
from ...recurrent._cfc_cell import CfCCell
from ...recurrent._driver import RNN
from ...recurrent._gru import GRUCell
from ...recurrent._lstm import LSTMCell
from ...recurrent._ltc import LTCCell
from ...recurrent._simple import SimpleRNNCell
from ...wirings._fully_connected import FullyConnected
from .._base import SequenceMixer, check_sequence, check_step

__all__ = ["CELLS", "RecurrentMixer"]

#: the cell names a RecurrentMixer takes
CELLS = ("lstm", "gru", "rnn", "cfc", "ltc")


def _cell(name: str, dim: int, key: Any, args: dict[str, Any]) -> Cell:
    if name == "lstm":
        return LSTMCell(dim, dim, key=key, **args)
    if name == "gru":
        return GRUCell(dim, dim, key=key, **args)
    if name == "rnn":
        return SimpleRNNCell(dim, dim, key=key, **args)
    if name == "cfc":
        return CfCCell(dim, dim, key=key, **args)
    if name == "ltc":  # all-to-all synapses among dim neurons, every one an output
        return LTCCell(FullyConnected(dim), dim, key=key, **args)
    raise ConfigError(f"RecurrentMixer: cell must be one of {list(CELLS)}, got {name!r}")


class RecurrentMixer(SequenceMixer):
    """A recurrent cell run over the sequence: ``h_t, s_t = cell(x_t, s_{t-1})``, ``y_t = h_t``,
    from a zero state; causal, with the cell's own recurrent ``step``.

    Arguments:
        dim: the input and output width (the cell's input size and hidden size / units).
        cell: ``"lstm"`` (Hochreiter & Schmidhuber 1997, torch.nn.LSTM's equations), ``"gru"``
            (Cho et al. 2014, torch.nn.GRU's), ``"rnn"`` (Elman, tanh), ``"cfc"`` (closed-form
            continuous-time cell, Hasani et al. 2022, "Closed-form continuous-time neural
            networks", ncps's CfCCell) or ``"ltc"`` (liquid time-constant cell, Hasani et al.
            2021, "Liquid Time-constant Networks", ncps's LTCCell on a fully connected wiring
            of ``dim`` neurons).
        **cell_args: further arguments of the cell class (``backbone_units`` for CfC,
            ``ode_unfolds`` for LTC, ``bias`` for LSTM/GRU, ...).

    Cost: ``O(L * dim^2)`` time in ``L`` sequential steps (no parallel form; LSTM, GRU and RNN
    run the fused ``ember.nn.lstm``/``gru``/``rnn`` ops, CfC prepares its weights once and takes
    the inputs' share of its first product for all steps in one matrix product), ``O(dim)``
    state.

    >>> mixer = ember_nn.mixers.RecurrentMixer(8, "gru", key=0)
    >>> mixer(ember.ones((2, 5, 8))).shape
    (2, 5, 8)
    >>> state = mixer.init_state(2)
    >>> y, state = mixer.step(ember.ones((2, 8)), state)
    >>> y.shape
    (2, 8)
    """

    def __init__(self, dim: int, cell: str = "lstm", *, key: Any = None,
                 **cell_args: Any) -> None:
        super().__init__()
        self.dim = positive_int("RecurrentMixer", "dim", dim)
        self.cell_name = cell
        self.cell = _cell(cell, dim, next_key(key), cell_args)
        self.rnn = RNN(self.cell, return_sequences=True)

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence("RecurrentMixer", x, self.dim)
        out: ember.Tensor = self.rnn(x)
        return out

    def init_state(self, batch: int, dtype: Any = None) -> tuple[ember.Tensor, ...]:
        like = ember.zeros((1,), dtype=dtype or self._dtype())
        return self.cell.initial_state(batch, like=like)

    def step(self, x_t: Any, state: Any) -> tuple[ember.Tensor, Any]:
        x_t = check_step("RecurrentMixer", x_t, self.dim)
        y, new = self.cell.step(x_t, self.cell.check_state(state, x_t))
        return y, new

    def _dtype(self) -> ember.DType:
        return next(v for _, v in self.cell.named_variables()).dtype

    def extra_repr(self) -> str:
        return brief_repr(self)


