"""``CfC``: a closed-form continuous-time RNN over sequences, ncps's ``CfC`` (arguments,
defaults, parameter names, initialisation and numbers), plain or wired, with batched timespans
that work."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ..layers._support import layer_dtype, positive_int
from ._cfc_cell import CfCCell
from ._liquid_sequence import run_sequence
from ._liquid_support import (
    Linear,
    config_wiring_decoded,
    config_with_wiring,
    liquid_repr,
    torch_bias_init,
)
from ._mixed_memory import MixedMemoryLSTM
from ._wired_cfc import WiredCfCCell

__all__ = ["CfC"]


class CfC(Module):
    """A CfC RNN (ncps's ``CfC``): ``forward(x, hx=None, timespans=None) -> (output, hx)``.

    Arguments:
        input_size: input features.
        units: the number of hidden units (a CfC cell with a backbone), or an
            ``ember_nn.wirings.Wiring`` (a wired CfC: one masked cell per wiring layer; the
            backbone arguments must then be None).
        proj_size: None, or the size of a linear map (``fc``) applied to every output.
        return_sequences: every step's output (True), or the last one's.
        batch_first: inputs (and outputs) of shape (batch, steps, features), else
            (steps, batch, features); a 2-D input is one unbatched sequence.
        mixed_memory: run ncps's LSTM memory cell before the CfC cell at every step; the state
            is then a pair ``(h, c)``.
        mode: ``"default"``, ``"no_gate"`` or ``"pure"``.
        activation: the backbone activation (``"lecun_tanh"``, ``"silu"``, ``"relu"``,
            ``"tanh"``, ``"gelu"``).
        backbone_units, backbone_layers, backbone_dropout: None for ncps's defaults (128, 1,
            0.0).

    ``timespans``: None (1 per step), a number, one per sample (shape ``(batch,)``), or one
    per sample and step (``(batch, steps)`` or ``(batch, steps, 1)``, time first when
    ``batch_first=False``). ``hx``: the initial state, shape ``(batch, state_size)`` (a pair
    with mixed memory), zeros when None.

    Parameters keep ncps's names (``rnn_cell.ff1.weight``, ``lstm.input_map.weight``,
    ``fc.weight``, ...) and torch's layouts: an ncps ``state_dict`` loads unchanged
    (:func:`ember_nn.from_ncps` converts a whole module).

    >>> rnn = ember_nn.CfC(3, 8, backbone_units=16, key=0)
    >>> y, h = rnn(ember.ones((2, 5, 3)), timespans=ember.ones((2, 5)))
    >>> y.shape, h.shape
    ((2, 5, 8), (2, 8))
    """

    def __init__(self, input_size: int, units: Any, proj_size: int | None = None,
                 return_sequences: bool = True, batch_first: bool = True,
                 mixed_memory: bool = False, mode: str = "default",
                 activation: str = "lecun_tanh", backbone_units: int | None = None,
                 backbone_layers: int | None = None, backbone_dropout: float | None = None, *,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        from ..wirings import Wiring

        name = "CfC"
        self.input_size = positive_int(name, "input_size", input_size)
        d = layer_dtype(name, dtype)
        k_cell, k_lstm, k_fc = ember.random.split(next_key(key), 3)
        self.batch_first = bool(batch_first)
        self.return_sequences = bool(return_sequences)
        self.use_mixed = bool(mixed_memory)
        self.wired = isinstance(units, Wiring)
        self.rnn_cell: CfCCell | WiredCfCCell
        if self.wired:
            given = {k: v for k, v in (("backbone_units", backbone_units),
                                       ("backbone_layers", backbone_layers),
                                       ("backbone_dropout", backbone_dropout)) if v is not None}
            if given:
                raise ConfigError(f"{name}: a wired CfC has no backbone; got {given} with a "
                                  f"{type(units).__name__} wiring (leave them None)")
            self.rnn_cell = WiredCfCCell(input_size, units, mode, dtype=dtype, key=k_cell)
            self.state_size = int(units.units)
        else:
            if isinstance(units, bool) or not isinstance(units, int) or units < 1:
                raise ConfigError(f"{name}: units must be a positive int or an "
                                  f"ember_nn.wirings.Wiring, got {units!r:.60}")
            self.rnn_cell = CfCCell(
                input_size, units, mode, activation,
                128 if backbone_units is None else backbone_units,
                1 if backbone_layers is None else backbone_layers,
                0.0 if backbone_dropout is None else backbone_dropout, dtype=dtype, key=k_cell)
            self.state_size = units
        self.output_size = self.rnn_cell.output_size
        self.lstm = (MixedMemoryLSTM(input_size, self.state_size, dtype=d, key=k_lstm)
                     if self.use_mixed else None)
        self.proj_size = None if proj_size is None else positive_int(name, "proj_size",
                                                                     proj_size)
        self.fc = None
        if self.proj_size is not None:
            self.fc = Linear(self.output_size, self.proj_size,
                             weight_init=torch_bias_init(self.output_size), dtype=d, key=k_fc)

    @property
    def wiring(self) -> Any:
        """The wiring of a wired CfC (None for a plain one)."""
        return self.rnn_cell.wiring if isinstance(self.rnn_cell, WiredCfCCell) else None

    def forward(self, x: ember.Tensor, hx: Any = None,
                timespans: Any = None) -> tuple[ember.Tensor, Any]:
        """``(output, hx)``: the outputs (every step's or the last), and the final state."""
        return run_sequence("CfC", self, x, hx, timespans)

    def _cell_plan(self) -> Any:
        return self.rnn_cell.plan()

    def _memory_plan(self) -> Any:
        assert self.lstm is not None
        return self.lstm.plan()

    def _readout(self, y: ember.Tensor) -> ember.Tensor:
        return y if self.fc is None else self.fc(y)

    def get_config(self) -> dict[str, Any]:
        return config_with_wiring(self, "units")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        return super().from_config(config_wiring_decoded(config, "units"))

    def extra_repr(self) -> str:
        return liquid_repr(self)
