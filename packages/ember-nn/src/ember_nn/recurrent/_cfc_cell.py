"""``CfCCell``: the closed-form continuous-time cell (Hasani et al., "Closed-form continuous-
time neural networks", 2022) with ncps's mathematics, arguments, parameter names and
initialisation.

With ``z = backbone([x, h])`` (or ``[x, h]`` without a backbone) and the elapsed time ``ts``:

- ``default``: ``h' = tanh(ff1(z)) * (1 - s) + s * tanh(ff2(z))``, ``s = sigmoid(time_a(z) * ts
  + time_b(z))``
- ``no_gate``: ``h' = tanh(ff1(z)) + s * tanh(ff2(z))``
- ``pure``: ``h' = -A * exp(-ts * (|w_tau| + |ff1(z)|)) * ff1(z) + A``
"""

from __future__ import annotations

from typing import Any

import ember

from .. import init
from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ..layers._dropout import Dropout
from ..layers._support import layer_dtype, new_variable, positive_int
from ._cell import Cell, State
from ._liquid_sequence import Timespan, cell_timespan
from ._liquid_support import (
    BACKBONE_ACTIVATIONS,
    Linear,
    check_choice,
    liquid_repr,
    make_activation,
    matrix,
)

__all__ = ["CFC_MODES", "CfCCell"]

CFC_MODES = ("default", "pure", "no_gate")


def _non_negative_int(layer: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{layer}: {name} must be an int >= 0, got {value!r}")
    return value


def _rate(layer: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise ConfigError(f"{layer}: backbone_dropout must be a number in [0, 1), got {value!r}")
    return float(value)


class CfCCell(Cell):
    """One CfC step (ncps's ``CfCCell``): ``step(x_t, h, timespan=None) -> (h', (h',))``, a
    :class:`Cell` that ``ember_nn.RNN`` drives.

    Arguments:
        input_size: features of each input step.
        hidden_size: units of the state.
        mode: ``"default"``, ``"no_gate"`` or ``"pure"`` (see the module docstring).
        backbone_activation: ``"lecun_tanh"`` (ncps's ``1.7159 * tanh(0.666 x)``), ``"silu"``,
            ``"relu"``, ``"tanh"`` or ``"gelu"``.
        backbone_units, backbone_layers, backbone_dropout: the backbone, a stack of
            ``backbone_layers`` linear layers of ``backbone_units`` each with the activation
            (dropout after the second and later ones, as ncps); 0 layers: no backbone.
        sparsity_mask: ``None`` or a matrix whose absolute values mask ``ff1`` and ``ff2`` (the
            wired CfC's), of shape ``(inputs of the heads, hidden_size)``: ``(input_size +
            hidden_size, hidden_size)`` without a backbone, ``(backbone_units, hidden_size)``
            with one (as ncps masks the heads' weights).

    Parameters (ncps's names, torch's ``(out, in)`` layout): ``backbone.{0,2,..}.weight/bias``,
    ``ff1``, and ``ff2``, ``time_a``, ``time_b`` (modes default and no_gate) or ``w_tau``, ``A``
    (pure); ``sparsity_mask`` (not trainable) with a mask. Every 2-D trainable parameter is
    Glorot-uniform and the biases are torch's default, as ncps draws them (so ``w_tau`` and
    ``A``, shape ``(1, hidden_size)``, are Glorot-uniform too, as ncps leaves them).

    >>> cell = ember_nn.CfCCell(3, 4, backbone_units=8, key=0)
    >>> out, (h,) = cell.step(ember.ones((2, 3)), ember.zeros((2, 4)), timespan=0.5)
    >>> out.shape, h.shape
    ((2, 4), (2, 4))
    """

    def __init__(self, input_size: int, hidden_size: int, mode: str = "default",
                 backbone_activation: str = "lecun_tanh", backbone_units: int = 128,
                 backbone_layers: int = 1, backbone_dropout: float = 0.0,
                 sparsity_mask: Any = None, *, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        name = "CfCCell"
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.mode = check_choice(name, "mode", mode, CFC_MODES)
        self.output_size = hidden_size
        self.state_sizes = (hidden_size,)
        check_choice(name, "backbone_activation", backbone_activation,
                     tuple(BACKBONE_ACTIVATIONS))
        self.backbone_layers = _non_negative_int(name, "backbone_layers", backbone_layers)
        if self.backbone_layers:
            positive_int(name, "backbone_units", backbone_units)
        rate = _rate(name, backbone_dropout)
        d = layer_dtype(name, dtype)
        keys = ember.random.split(next_key(key), 7 + self.backbone_layers)
        cat = input_size + hidden_size
        head_in = backbone_units if self.backbone_layers else cat
        self.sparsity_mask = None
        if sparsity_mask is not None:
            rows = matrix(sparsity_mask)
            if len(rows) != head_in or any(len(r) != hidden_size for r in rows):
                got = (len(rows), len(rows[0]) if rows else 0)
                what = ("backbone_units" if self.backbone_layers
                        else "input_size + hidden_size")
                raise ember.ShapeError(
                    f"{name}: sparsity_mask of shape {got}; it masks the heads ff1 and ff2, "
                    f"whose inputs are {what}: need ({what}, hidden_size) = ({head_in}, "
                    f"{hidden_size})")
            mask = ember.abs(ember.matrix_transpose(ember.asarray(rows, dtype=d)))
            self.sparsity_mask = ember.Variable(mask, trainable=False, name="sparsity_mask")
        self.backbone: list[Module] | None = None
        if self.backbone_layers:
            layers: list[Module] = [Linear(cat, backbone_units, dtype=d, key=keys[7]),
                                    make_activation(name, backbone_activation)]
            for i in range(1, self.backbone_layers):
                layers.append(Linear(backbone_units, backbone_units, dtype=d, key=keys[7 + i]))
                layers.append(make_activation(name, backbone_activation))
                if rate > 0.0:
                    layers.append(Dropout(rate, key=ember.random.fold_in(keys[6], i)))
            self.backbone = layers
        self.ff1 = Linear(head_in, hidden_size, dtype=d, key=keys[0])
        if self.mode == "pure":
            self.w_tau = new_variable(name, init.glorot_uniform, keys[1], (1, hidden_size), d,
                                      "w_tau")
            self.A = new_variable(name, init.glorot_uniform, keys[2], (1, hidden_size), d, "A")
        else:
            self.ff2 = Linear(head_in, hidden_size, dtype=d, key=keys[3])
            self.time_a = Linear(head_in, hidden_size, dtype=d, key=keys[4])
            self.time_b = Linear(head_in, hidden_size, dtype=d, key=keys[5])

    @property
    def state_size(self) -> int:
        return self.hidden_size

    def _heads(self) -> tuple[ember.Tensor, ember.Tensor]:
        """The heads' weights as one ``(k * hidden, in)`` matrix (masked where a mask is) and
        their biases: ff1 (pure), or ff1, ff2, time_a, time_b."""
        if self.mode == "pure":
            heads = [self.ff1]
        else:
            heads = [self.ff1, self.ff2, self.time_a, self.time_b]
        ws: list[ember.Tensor] = []
        for i, lin in enumerate(heads):
            masked = self.sparsity_mask is not None and i < 2
            ws.append(lin.weight * self.sparsity_mask if masked else lin.weight)
        bs: list[ember.Tensor] = [lin.bias for lin in heads]  # type: ignore[misc]
        if len(heads) == 1:
            return ws[0], bs[0]
        return ember.concat(ws, axis=0), ember.concat(bs, axis=0)

    def plan(self) -> CfCPlan:
        """The weights prepared for a sequence of steps (``plan.step(x_t, h, ts)``)."""
        return CfCPlan(self)

    def step(self, x_t: ember.Tensor, state: Any, *,
             timespan: Any = None) -> tuple[ember.Tensor, State]:
        """``(output, (new_state,))`` (the same tensor) after input ``x_t`` of shape (batch,
        input_size) from state ``h`` (or ``(h,)``) of shape (batch, hidden_size),
        ``timespan`` later (None: 1; a number, or a tensor of shape (), (batch,), (batch, 1))."""
        x_t = x_t if isinstance(x_t, ember.Tensor) else ember.asarray(x_t)
        ts = cell_timespan("CfCCell", timespan, x_t)
        h = state[0] if isinstance(state, tuple | list) else state
        out, new = self.plan().step(x_t, h, ts)
        return out, (new,)

    def sequence(self, x: ember.Tensor, state: State, *, lengths: Any, mask: Any,
                 reverse: bool) -> tuple[ember.Tensor, State] | None:
        """The whole time-major ``x`` at unit time spans (what ``ember_nn.RNN`` runs without
        timespans): the weights prepared once and the input's share of the first product
        taken for every step in one matrix product (``CfCPlan.sequence``); None (the driver's
        loop of ``step``) with lengths or a mask."""
        if lengths is not None or mask is not None:
            return None
        ys, h = self.plan().sequence(x, state[0], reverse)
        return ys, (h,)

    def extra_repr(self) -> str:
        return liquid_repr(self)


class CfCPlan:
    """A CfC cell's weights prepared once per sequence (masked, transposed, the heads side by
    side); ``step(x_t, h, ts)`` is one step."""

    __slots__ = ("abs_tau", "bias", "cell", "head_b", "head_w", "rest", "w_t")

    def __init__(self, cell: CfCCell) -> None:
        w, b = cell._heads()
        self.cell = cell
        self.rest: list[Module] = []
        if cell.backbone is not None:
            first = cell.backbone[0]
            assert isinstance(first, Linear) and first.bias is not None
            self.head_w, self.head_b = ember.matrix_transpose(w), b
            w, b = first.weight, first.bias
            self.rest = cell.backbone[1:]
        self.w_t, self.bias = ember.matrix_transpose(w), b
        self.abs_tau = ember.abs(cell.w_tau) if cell.mode == "pure" else None

    def step(self, x_t: ember.Tensor, h: ember.Tensor,
             ts: Timespan) -> tuple[ember.Tensor, ember.Tensor]:
        """One step from state ``h`` with input ``x_t``: ``(output, new state)``."""
        return self._update(ember.matmul(ember.concat([x_t, h], axis=1), self.w_t) + self.bias,
                            ts)

    def sequence(self, x: ember.Tensor, h: ember.Tensor,
                 reverse: bool) -> tuple[ember.Tensor, ember.Tensor]:
        """Every step of a time-major ``x`` (steps, batch, input_size) from state ``h`` at unit
        time spans: ``(outputs (steps, batch, hidden_size), final state)``. The first product
        ``[x_t, h] W`` is split as ``x_t W_x + h W_h``: the inputs' share for all steps is one
        matrix product, only the state's runs per step (the same sum, rounded in another
        order)."""
        n = self.cell.input_size
        w_h = self.w_t[n:]
        xs = ember.unstack(ember.matmul(x, self.w_t[:n]) + self.bias, axis=0)
        outs: list[ember.Tensor] = list(xs)
        for t in (range(len(xs) - 1, -1, -1) if reverse else range(len(xs))):
            outs[t], h = self._update(xs[t] + ember.matmul(h, w_h), 1.0)
        return ember.stack(outs), h

    def _update(self, z: ember.Tensor, ts: Timespan) -> tuple[ember.Tensor, ember.Tensor]:
        """The rest of a step after the first product ``z = [x_t, h] W + b``."""
        if self.rest:
            for m in self.rest:
                z = m(z)
            z = ember.matmul(z, self.head_w) + self.head_b
        cell = self.cell
        if cell.mode == "pure":
            a = cell.A
            decay = ember.exp(-ts * (self.abs_tau + ember.abs(z)))
            new = -a * decay * z + a
            return new, new
        ff1, ff2, t_a, t_b = ember.unstack(
            ember.reshape(z, (z.shape[0], 4, cell.hidden_size)), axis=1)
        ff1, ff2 = ember.tanh(ff1), ember.tanh(ff2)
        gate = ember.nn.sigmoid((t_a if isinstance(ts, float) and ts == 1.0 else t_a * ts) + t_b)
        if cell.mode == "no_gate":
            new = ff1 + gate * ff2
        else:
            new = ff1 * (1.0 - gate) + gate * ff2
        return new, new
