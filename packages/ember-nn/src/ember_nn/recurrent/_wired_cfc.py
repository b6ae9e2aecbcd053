"""``WiredCfCCell``: a CfC shaped by a wiring (ncps's ``WiredCfCCell``): one masked CfC cell
per layer of the wiring (for an NCP: inter, command, motor neurons), each fed by the layer
before it (the first by the inputs), with masks read from the wiring's sensory and neuron
adjacency matrices plus full recurrence inside each layer.

The state is the layers' states side by side, in layer order (the first layer's neurons first);
the output is the last layer's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ._cell import Cell, State
from ._cfc_cell import CFC_MODES, CfCCell, CfCPlan
from ._liquid_sequence import Timespan, cell_timespan
from ._liquid_support import (
    check_choice,
    config_wiring_decoded,
    config_with_wiring,
    liquid_repr,
    matrix,
)

__all__ = ["WiredCfCCell", "built_wiring"]


def built_wiring(layer: str, wiring: Any, input_size: int | None, arg: str) -> Any:
    """``wiring`` built for ``input_size`` features (or already built when None), else a
    ConfigError naming the sizes."""
    from ..wirings import Wiring

    if not isinstance(wiring, Wiring):
        raise ConfigError(f"{layer}: expected an ember_nn.wirings.Wiring, got "
                          f"{type(wiring).__name__} {wiring!r:.60}")
    if input_size is not None:
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
            raise ConfigError(f"{layer}: {arg} must be a positive int, got {input_size!r}")
        if wiring.input_dim is not None and wiring.input_dim != input_size:
            raise ConfigError(
                f"{layer}: the wiring was built for {wiring.input_dim} input features but "
                f"{arg}={input_size}; pass {arg}={wiring.input_dim} or a fresh wiring")
        wiring.build(input_size)
    if wiring.input_dim is None:
        raise ConfigError(f"{layer}: the wiring is not built, so the number of input features "
                          f"is unknown; pass {arg}=<features> or call wiring.build(features)")
    return wiring


def _layer_masks(wiring: Any) -> list[list[list[float]]]:
    """Each wiring layer's input mask, rows ``[inputs of the layer..., the layer's own
    neurons...]``, columns the layer's neurons (ncps's ``input_sparsity``)."""
    sensory = matrix(wiring.sensory_adjacency_matrix)
    adjacency = matrix(wiring.adjacency_matrix)
    masks = []
    prev: list[int] = []
    for layer in range(wiring.num_layers):
        neurons = [int(n) for n in wiring.get_neurons_of_layer(layer)]
        sources = sensory if layer == 0 else [adjacency[i] for i in prev]
        rows = [[row[j] for j in neurons] for row in sources]
        rows += [[1.0] * len(neurons) for _ in neurons]
        masks.append(rows)
        prev = neurons
    return masks


class WiredCfCCell(Cell):
    """A CfC cell per wiring layer (ncps's ``WiredCfCCell``; parameters ``layer_0.ff1.weight``,
    ``layer_0.sparsity_mask``, ...). ``step(x_t, h, timespan=None) -> (output, (h',))`` with
    ``h`` of shape (batch, wiring.units) and the output the last layer's units; a
    :class:`Cell` that ``ember_nn.RNN`` drives.

    Arguments:
        input_size: input features (builds the wiring), or None for a wiring already built.
        wiring: an ``ember_nn.wirings.Wiring`` (``NCP``, ``AutoNCP``, ...).
        mode: ``"default"``, ``"no_gate"`` or ``"pure"`` (every layer's).

    >>> wiring = ember_nn.wirings.AutoNCP(8, 2, seed=1)
    >>> cell = ember_nn.WiredCfCCell(3, wiring, key=0)
    >>> cell.layer_sizes, cell.step(ember.ones((5, 3)), ember.zeros((5, 8)))[0].shape
    ([4, 2, 2], (5, 2))
    """

    def __init__(self, input_size: int | None, wiring: Any, mode: str = "default", *,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "WiredCfCCell"
        self.wiring = built_wiring(name, wiring, input_size, "input_size")
        self.mode = check_choice(name, "mode", mode, CFC_MODES)
        self.input_size = int(self.wiring.input_dim)
        masks = _layer_masks(self.wiring)
        keys = ember.random.split(next_key(key), max(len(masks), 2))
        in_features = self.input_size
        self.layer_sizes: list[int] = []
        for i, mask in enumerate(masks):
            size = len(mask[0])
            cell = CfCCell(in_features, size, mode, "lecun_tanh", 0, 0, 0.0, sparsity_mask=mask,
                           dtype=dtype, key=keys[i])
            setattr(self, f"layer_{i}", cell)
            self.layer_sizes.append(size)
            in_features = size
        self.output_size = self.layer_sizes[-1]
        self.state_sizes = (int(self.wiring.units),)

    def get_config(self) -> dict[str, Any]:
        return config_with_wiring(self, "wiring")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        return super().from_config(config_wiring_decoded(config, "wiring"))

    @property
    def layers(self) -> list[CfCCell]:
        return [getattr(self, f"layer_{i}") for i in range(len(self.layer_sizes))]

    @property
    def state_size(self) -> int:
        return int(self.wiring.units)

    def plan(self) -> WiredCfCPlan:
        """The weights prepared for a sequence of steps (``plan.step(x_t, h, ts)``)."""
        return WiredCfCPlan(self)

    def step(self, x_t: ember.Tensor, state: Any, *,
             timespan: Any = None) -> tuple[ember.Tensor, State]:
        """``(output, (new_state,))`` after input ``x_t`` of shape (batch, input_size) from
        ``state`` (or ``(state,)``) of shape (batch, wiring.units), ``timespan`` later."""
        x_t = x_t if isinstance(x_t, ember.Tensor) else ember.asarray(x_t)
        ts = cell_timespan("WiredCfCCell", timespan, x_t)
        h = state[0] if isinstance(state, tuple | list) else state
        out, new = self.plan().step(x_t, h, ts)
        return out, (new,)

    def extra_repr(self) -> str:
        return liquid_repr(self)


class WiredCfCPlan:
    """The wired cell's layers prepared once per sequence; ``step(x_t, h, ts)`` runs them in
    order, each fed by the one before it."""

    __slots__ = ("bounds", "plans")

    def __init__(self, cell: WiredCfCCell) -> None:
        self.plans = [CfCPlan(c) for c in cell.layers]
        bounds, start = [], 0
        for size in cell.layer_sizes:
            bounds.append((start, start + size))
            start += size
        self.bounds = bounds

    def step(self, x_t: ember.Tensor, h: ember.Tensor,
             ts: Timespan) -> tuple[ember.Tensor, ember.Tensor]:
        new = []
        out = x_t
        for plan, (a, b) in zip(self.plans, self.bounds, strict=True):
            out, _ = plan.step(out, h[:, a:b], ts)
            new.append(out)
        return out, (new[0] if len(new) == 1 else ember.concat(new, axis=1))
