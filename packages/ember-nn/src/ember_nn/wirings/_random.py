"""``Random``: a random share of all possible synapses, between neurons and from the inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core import ConfigError
from ._rng import PCG64
from ._wiring import Wiring, _from_config, _seed

__all__ = ["Random"]

_POLARITIES = (-1, 1, 1)  # as ncps: excitatory two times in three


class Random(Wiring):
    """``round(n * (1 - sparsity_level))`` of the ``n`` possible synapses (self-connections
    included), chosen without repetition, with random signs (+1 with probability 2/3); the
    same for the inputs at ``build``. Drawn as ncps draws them
    (``np.random.default_rng(random_seed)``), so a seed gives ncps's matrices.

    ncps's ``Random.build`` draws the sign of each sensory synapse twice and keeps the second
    (its ``add_sensory_synapse`` line is repeated). The synapses, their number and the law of
    their signs are what they should be: only the seed-to-signs map differs from a single
    draw, so ember draws twice too and keeps ncps's matrices for every seed (see
    docs/recurrent.md, "Wirings").

    Arguments:
        units: the number of neurons.
        output_dim: the number of motor neurons; ``units`` if None.
        sparsity_level: the share of possible synapses left out, in [0, 1).
        random_seed: the seed of the choice and the signs.

    >>> w = Random(10, sparsity_level=0.5)
    >>> w.build(4)
    >>> (w.synapse_count, w.sensory_synapse_count)
    (50, 20)
    """

    def __init__(self, units: int, output_dim: int | None = None, sparsity_level: float = 0.0,
                 random_seed: int = 1111) -> None:
        super().__init__(units)
        self.set_output_dim(units if output_dim is None else output_dim)
        if (isinstance(sparsity_level, bool) or not isinstance(sparsity_level, int | float)
                or not 0.0 <= sparsity_level < 1.0):
            raise ConfigError(f"Random: sparsity_level must be a number in [0, 1), got "
                              f"{sparsity_level!r}")
        self.sparsity_level = sparsity_level
        self._random_seed = _seed("Random", "random_seed", random_seed)
        self._rng = PCG64(random_seed)
        pairs = [(src, dest) for src in range(units) for dest in range(units)]
        for src, dest in self._rng.sample(pairs, self._how_many(len(pairs))):
            self.add_synapse(src, dest, self._rng.choice(_POLARITIES))

    def _how_many(self, possible: int) -> int:
        # NumPy's round and Python's both round half to even
        return round(possible * (1 - self.sparsity_level))

    def _build_sensory(self) -> None:
        assert self.input_dim is not None
        pairs = [(src, dest) for src in range(self.input_dim) for dest in range(self.units)]
        for src, dest in self._rng.sample(pairs, self._how_many(len(pairs))):
            self._rng.choice(_POLARITIES)  # ncps's first draw, overwritten by its second
            self.add_sensory_synapse(src, dest, self._rng.choice(_POLARITIES))

    def get_config(self) -> dict[str, Any]:
        """ncps's keys (units, output_dim, sparsity_level, random_seed), the input size and
        both matrices."""
        return {"units": self.units, "output_dim": self.output_dim,
                "sparsity_level": self.sparsity_level, "random_seed": self._random_seed,
                "input_dim": self.input_dim, "adjacency_matrix": self.adjacency_matrix,
                "sensory_adjacency_matrix": self.sensory_adjacency_matrix}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Random:
        """The wiring ``get_config`` described (also takes ncps's config)."""
        return _from_config(cls, config, ("units", "output_dim", "sparsity_level",
                                          "random_seed"), ("units",))
