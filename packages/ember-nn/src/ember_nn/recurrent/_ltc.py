"""``LTCCell`` and ``LTC``: liquid time-constant networks (Hasani et al., "Liquid
time-constant networks", AAAI 2021) with ncps's mathematics, arguments, parameter names and
initialisation ranges, on any wiring.

Each step maps the inputs (``input_w * x + input_b``), then unfolds the semi-implicit Euler
update of the neurons' potentials ``ode_unfolds`` times over the elapsed time ``ts``:

``v <- (cm/(ts/unfolds) * v + gleak * vleak + sum_j a_j * erev_j)
      / (cm/(ts/unfolds) + gleak + sum_j a_j + epsilon)``

with ``a_j = w * sigmoid(sigma * (v_j - mu)) * mask`` over the synapses (sensory synapses from
the mapped inputs, neuron synapses from ``v``); the output is the first ``output_dim`` neurons,
mapped by ``output_w``/``output_b``. With ``implicit_param_constraints`` the positive
parameters (``w``, ``sensory_w``, ``cm``, ``gleak``) pass through softplus; without, call
``apply_weight_constraints()`` after each optimiser step (ncps clips them at 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ..layers._support import layer_dtype, new_variable, positive_int
from ._cell import Cell, State
from ._liquid_sequence import Timespan, cell_timespan, run_sequence
from ._liquid_support import (
    check_choice,
    config_wiring_decoded,
    config_with_wiring,
    liquid_repr,
    matrix,
    uniform_init,
)
from ._mixed_memory import MixedMemoryLSTM
from ._wired_cfc import built_wiring

__all__ = ["LTC", "LTCCell"]

MAPPINGS = ("affine", "linear", "none")
#: ncps's initialisation ranges (uniform in [low, high))
INIT_RANGES = {
    "gleak": (0.001, 1.0), "vleak": (-0.2, 0.2), "cm": (0.4, 0.6), "w": (0.001, 1.0),
    "sigma": (3.0, 8.0), "mu": (0.3, 0.8), "sensory_w": (0.001, 1.0),
    "sensory_sigma": (3.0, 8.0), "sensory_mu": (0.3, 0.8),
}


class LTCCell(Cell):
    """One LTC step (ncps's ``LTCCell``): ``step(x_t, v, timespan=None) -> (output, (v',))``,
    a :class:`Cell` that ``ember_nn.RNN`` drives.

    Arguments:
        wiring: an ``ember_nn.wirings.Wiring`` (``FullyConnected``, ``NCP``, ...).
        in_features: input features (builds the wiring), or None for a built wiring.
        input_mapping, output_mapping: ``"affine"`` (scale and shift), ``"linear"`` (scale)
            or ``"none"``.
        ode_unfolds: solver steps per step; epsilon: added to the denominator.
        implicit_param_constraints: softplus on the positive parameters (else clip them with
            ``apply_weight_constraints``).

    Parameters (ncps's names): ``gleak``, ``vleak``, ``cm`` (units,), ``sigma``, ``mu``,
    ``w``, ``erev`` (units, units), ``sensory_sigma``, ``sensory_mu``, ``sensory_w``,
    ``sensory_erev`` (inputs, units), the masks ``sparsity_mask`` and
    ``sensory_sparsity_mask`` (not trainable), ``input_w``/``input_b`` and
    ``output_w``/``output_b`` by the mappings.

    >>> cell = ember_nn.LTCCell(ember_nn.wirings.FullyConnected(4), 3, key=0)
    >>> out, (v,) = cell.step(ember.ones((2, 3)), ember.zeros((2, 4)), timespan=0.5)
    >>> out.shape, v.shape
    ((2, 4), (2, 4))
    """

    def __init__(self, wiring: Any, in_features: int | None = None,
                 input_mapping: str = "affine", output_mapping: str = "affine",
                 ode_unfolds: int = 6, epsilon: float = 1e-8,
                 implicit_param_constraints: bool = False, *,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "LTCCell"
        self.wiring = built_wiring(name, wiring, in_features, "in_features")
        self.input_mapping = check_choice(name, "input_mapping", input_mapping, MAPPINGS)
        self.output_mapping = check_choice(name, "output_mapping", output_mapping, MAPPINGS)
        self.ode_unfolds = positive_int(name, "ode_unfolds", ode_unfolds)
        if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) or epsilon < 0:
            raise ConfigError(f"{name}: epsilon must be a number >= 0, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.implicit_param_constraints = bool(implicit_param_constraints)
        d = layer_dtype(name, dtype)
        n, s = self.state_size, self.sensory_size
        m = self.motor_size
        self.input_size, self.output_size, self.state_sizes = s, m, (n,)
        keys = iter(ember.random.split(next_key(key), len(INIT_RANGES)))

        def draw(param: str, shape: tuple[int, ...]) -> ember.Variable:
            low, high = INIT_RANGES[param]
            return new_variable(name, uniform_init(low, high), next(keys), shape, d, param)

        def fixed(param: str, rows: Any, trainable: bool = True) -> ember.Variable:
            return ember.Variable(ember.asarray(matrix(rows), dtype=d), trainable=trainable,
                                  name=param)

        def const(param: str, value: float, size: int) -> ember.Variable:
            return ember.Variable(ember.full((size,), value, dtype=d), name=param)

        self.gleak = draw("gleak", (n,))
        self.vleak = draw("vleak", (n,))
        self.cm = draw("cm", (n,))
        self.sigma = draw("sigma", (n, n))
        self.mu = draw("mu", (n, n))
        self.w = draw("w", (n, n))
        self.erev = fixed("erev", self.wiring.erev_initializer())
        self.sensory_sigma = draw("sensory_sigma", (s, n))
        self.sensory_mu = draw("sensory_mu", (s, n))
        self.sensory_w = draw("sensory_w", (s, n))
        self.sensory_erev = fixed("sensory_erev", self.wiring.sensory_erev_initializer())
        self.sparsity_mask = ember.Variable(
            ember.abs(ember.asarray(matrix(self.wiring.adjacency_matrix), dtype=d)),
            trainable=False, name="sparsity_mask")
        self.sensory_sparsity_mask = ember.Variable(
            ember.abs(ember.asarray(matrix(self.wiring.sensory_adjacency_matrix), dtype=d)),
            trainable=False, name="sensory_sparsity_mask")
        self.input_w = const("input_w", 1.0, s) if input_mapping != "none" else None
        self.input_b = const("input_b", 0.0, s) if input_mapping == "affine" else None
        self.output_w = const("output_w", 1.0, m) if output_mapping != "none" else None
        self.output_b = const("output_b", 0.0, m) if output_mapping == "affine" else None

    @property
    def state_size(self) -> int:
        return int(self.wiring.units)

    @property
    def sensory_size(self) -> int:
        return int(self.wiring.input_dim)

    @property
    def motor_size(self) -> int:
        out = self.wiring.output_dim
        return int(self.wiring.units if out is None else out)

    def _positive(self, v: ember.Tensor) -> ember.Tensor:
        return ember.nn.softplus(v) if self.implicit_param_constraints else v

    def apply_weight_constraints(self) -> None:
        """Clip ``w``, ``sensory_w``, ``cm`` and ``gleak`` at 0 (ncps's explicit constraints;
        nothing to do with ``implicit_param_constraints``)."""
        if self.implicit_param_constraints:
            return
        for v in (self.w, self.sensory_w, self.cm, self.gleak):
            v.assign(ember.maximum(ember.stop_gradient(v), 0.0))

    def map_inputs(self, x: ember.Tensor) -> ember.Tensor:
        if self.input_w is not None:
            x = x * self.input_w
        if self.input_b is not None:
            x = x + self.input_b
        return x

    def map_outputs(self, v: ember.Tensor) -> ember.Tensor:
        out = v[..., :self.motor_size] if self.motor_size < self.state_size else v
        if self.output_w is not None:
            out = out * self.output_w
        if self.output_b is not None:
            out = out + self.output_b
        return out

    def plan(self) -> LTCPlan:
        """The parameters prepared for a sequence of steps (``plan.step(x_t, v, ts)``)."""
        return LTCPlan(self)

    def step(self, x_t: ember.Tensor, state: Any, *,
             timespan: Any = None) -> tuple[ember.Tensor, State]:
        """``(output, (new_state,))`` after input ``x_t`` of shape (batch, inputs) from
        potentials ``state`` (or ``(state,)``) of shape (batch, units), ``timespan`` later."""
        x_t = x_t if isinstance(x_t, ember.Tensor) else ember.asarray(x_t)
        ts = cell_timespan("LTCCell", timespan, x_t)
        h = state[0] if isinstance(state, tuple | list) else state
        out, new = self.plan().step(x_t, h, ts)
        return out, (new,)

    def get_config(self) -> dict[str, Any]:
        return config_with_wiring(self, "wiring")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        return super().from_config(config_wiring_decoded(config, "wiring"))

    def extra_repr(self) -> str:
        return liquid_repr(self)


class LTCPlan:
    """An LTC cell's parameters prepared once per sequence (the positive ones through softplus
    with implicit constraints, the masks applied); ``step(x_t, v, ts)`` maps the inputs, sums
    the sensory synapses and unfolds the solver."""

    __slots__ = ("cell", "cm", "gleak", "leak", "mu", "s_erev", "s_mu", "s_sigma", "s_w",
                 "sigma", "w_erev", "w_mask")

    def __init__(self, cell: LTCCell) -> None:
        pos = cell._positive
        self.s_w = pos(cell.sensory_w)
        self.s_erev = cell.sensory_erev
        self.s_sigma, self.s_mu = cell.sensory_sigma, cell.sensory_mu
        self.w_mask = pos(cell.w) * cell.sparsity_mask
        self.w_erev = self.w_mask * cell.erev
        self.cm = pos(cell.cm)
        self.gleak = pos(cell.gleak)
        self.leak = self.gleak * cell.vleak
        self.sigma, self.mu = cell.sigma, cell.mu
        self.cell = cell

    def step(self, x_t: ember.Tensor, v: ember.Tensor,
             ts: Timespan) -> tuple[ember.Tensor, ember.Tensor]:
        """One step from potentials ``v`` with input ``x_t``: ``(output, new potentials)``."""
        cell = self.cell
        x = ember.expand_dims(cell.map_inputs(x_t), -1)  # (batch, inputs, 1)
        act = self.s_w * ember.nn.sigmoid(self.s_sigma * (x - self.s_mu))
        act = act * cell.sensory_sparsity_mask
        num_s = ember.sum(act * self.s_erev, axis=1)
        den_s = ember.sum(act, axis=1)
        cm_t = self.cm / (ts / cell.ode_unfolds)
        den_base = cm_t + self.gleak
        for _ in range(cell.ode_unfolds):
            sig = ember.nn.sigmoid(self.sigma * (ember.expand_dims(v, -1) - self.mu))
            num = ember.sum(sig * self.w_erev, axis=1) + num_s
            den = ember.sum(sig * self.w_mask, axis=1) + den_s
            v = (cm_t * v + self.leak + num) / (den_base + den + cell.epsilon)
        return cell.map_outputs(v), v


class LTC(Module):
    """An LTC RNN (ncps's ``LTC``): ``forward(x, hx=None, timespans=None) -> (output, hx)``.

    Arguments:
        input_size: input features.
        units: the number of neurons (fully connected), or an ``ember_nn.wirings.Wiring``.
        return_sequences, batch_first, mixed_memory: as :class:`CfC`.
        input_mapping, output_mapping, ode_unfolds, epsilon, implicit_param_constraints: as
            :class:`LTCCell` (ncps's ``LTC`` defaults to implicit constraints, its cell not).

    ``timespans`` and ``hx`` as :class:`CfC`. Parameters keep ncps's names
    (``rnn_cell.gleak``, ``rnn_cell.sensory_w``, ``lstm.input_map.weight``, ...).

    >>> rnn = ember_nn.LTC(3, ember_nn.wirings.AutoNCP(8, 2, seed=0), key=0)
    >>> y, h = rnn(ember.ones((2, 5, 3)), timespans=ember.full((2,), 0.5))
    >>> y.shape, h.shape
    ((2, 5, 2), (2, 8))
    """

    def __init__(self, input_size: int, units: Any, return_sequences: bool = True,
                 batch_first: bool = True, mixed_memory: bool = False,
                 input_mapping: str = "affine", output_mapping: str = "affine",
                 ode_unfolds: int = 6, epsilon: float = 1e-8,
                 implicit_param_constraints: bool = True, *, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        from ..wirings import FullyConnected, Wiring

        name = "LTC"
        self.input_size = positive_int(name, "input_size", input_size)
        d = layer_dtype(name, dtype)
        k_cell, k_lstm = ember.random.split(next_key(key))
        if isinstance(units, Wiring):
            wiring = built_wiring(name, units, input_size, "input_size")
        elif isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ConfigError(f"{name}: units must be a positive int or an "
                              f"ember_nn.wirings.Wiring, got {units!r:.60}")
        else:
            wiring = FullyConnected(units)
        self.batch_first = bool(batch_first)
        self.return_sequences = bool(return_sequences)
        self.use_mixed = bool(mixed_memory)
        self.rnn_cell = LTCCell(wiring, input_size, input_mapping, output_mapping, ode_unfolds,
                                epsilon, implicit_param_constraints, dtype=dtype, key=k_cell)
        self.state_size = self.rnn_cell.state_size
        self.output_size = self.rnn_cell.output_size
        self.lstm = (MixedMemoryLSTM(input_size, self.state_size, dtype=d, key=k_lstm)
                     if self.use_mixed else None)

    @property
    def wiring(self) -> Any:
        return self.rnn_cell.wiring

    def forward(self, x: ember.Tensor, hx: Any = None,
                timespans: Any = None) -> tuple[ember.Tensor, Any]:
        """``(output, hx)``: the outputs (every step's or the last), and the final state."""
        return run_sequence("LTC", self, x, hx, timespans)

    def apply_weight_constraints(self) -> None:
        """The cell's :meth:`LTCCell.apply_weight_constraints`."""
        self.rnn_cell.apply_weight_constraints()

    def _cell_plan(self) -> LTCPlan:
        return self.rnn_cell.plan()

    def _memory_plan(self) -> Any:
        assert self.lstm is not None
        return self.lstm.plan()

    def _readout(self, y: ember.Tensor) -> ember.Tensor:
        return y

    def get_config(self) -> dict[str, Any]:
        return config_with_wiring(self, "units")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        return super().from_config(config_wiring_decoded(config, "units"))

    def extra_repr(self) -> str:
        return liquid_repr(self)
