"""``FullyConnected``: every neuron connects to every neuron, and every input to every neuron."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core import ConfigError
from ._rng import PCG64
from ._wiring import Wiring, _from_config, _seed

__all__ = ["FullyConnected"]

#: ncps draws each polarity as ``choice([-1, 1, 1])``: excitatory two times in three
_POLARITIES = (-1, 1, 1)


class FullyConnected(Wiring):
    """All-to-all synapses with random signs (+1 with probability 2/3), drawn as ncps draws
    them (``np.random.default_rng(erev_init_seed)``), so a seed gives ncps's matrices.

    Arguments:
        units: the number of neurons.
        output_dim: the number of motor neurons (the outputs); ``units`` if None.
        erev_init_seed: the seed of the signs.
        self_connections: whether a neuron connects to itself.

    >>> w = FullyConnected(4, output_dim=2)
    >>> w.build(3)
    >>> (w.synapse_count, w.sensory_synapse_count)
    (16, 12)
    """

    def __init__(self, units: int, output_dim: int | None = None, erev_init_seed: int = 1111,
                 self_connections: bool = True) -> None:
        super().__init__(units)
        if not isinstance(self_connections, bool):
            raise ConfigError(f"FullyConnected: self_connections must be True or False, got "
                              f"{self_connections!r}")
        self.set_output_dim(units if output_dim is None else output_dim)
        self.self_connections = self_connections
        self._erev_init_seed = _seed("FullyConnected", "erev_init_seed", erev_init_seed)
        self._rng = PCG64(erev_init_seed)
        for src in range(units):
            for dest in range(units):
                if src != dest or self_connections:
                    self.add_synapse(src, dest, self._rng.choice(_POLARITIES))

    def _build_sensory(self) -> None:
        assert self.input_dim is not None
        for src in range(self.input_dim):
            for dest in range(self.units):
                self.add_sensory_synapse(src, dest, self._rng.choice(_POLARITIES))

    def get_config(self) -> dict[str, Any]:
        """ncps's keys (units, output_dim, erev_init_seed, self_connections), the input size
        and both matrices (so synapses added by hand survive the round trip)."""
        return {"units": self.units, "output_dim": self.output_dim,
                "erev_init_seed": self._erev_init_seed, "self_connections": self.self_connections,
                "input_dim": self.input_dim, "adjacency_matrix": self.adjacency_matrix,
                "sensory_adjacency_matrix": self.sensory_adjacency_matrix}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FullyConnected:
        """The wiring ``get_config`` described (also takes ncps's config)."""
        return _from_config(cls, config, ("units", "output_dim", "erev_init_seed",
                                          "self_connections"), ("units",))
