"""``NCP`` and ``AutoNCP``: neural circuit policies, four layers wired sparsely in sequence.

Neurons are numbered motor first, then command, then inter (ncps's order); the inputs are the
sensory neurons. ``build`` connects sensory -> inter -> command (plus recurrent command
synapses) -> motor, each step as ncps takes it, with ``np.random.RandomState(seed)``'s draws in
ncps's order, so the same arguments and seed give ncps's matrices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._core import ConfigError
from ._rng import Legacy
from ._wiring import Wiring, _count, _from_config, _seed

__all__ = ["NCP", "AutoNCP"]

_SIGNS = (-1, 1)  # NCP signs: excitatory or inhibitory with probability 1/2


class NCP(Wiring):
    """A neural circuit policy: ``inter_neurons + command_neurons + motor_neurons`` units.

    Each input connects to ``sensory_fanout`` inter neurons, each inter neuron to
    ``inter_fanout`` command neurons, ``recurrent_command_synapses`` synapses are drawn among
    the command neurons (a pair may be drawn twice: the last sign stays), and each motor neuron
    takes ``motor_fanin`` command neurons; a neuron left unconnected by a step gets the step's
    mean number of synapses. For an NCP from two numbers see ``AutoNCP``.

    Arguments:
        inter_neurons: the number of inter neurons (layer 0).
        command_neurons: the number of command neurons (layer 1).
        motor_neurons: the number of motor neurons (layer 2, the outputs).
        sensory_fanout: synapses from each input to the inter neurons (<= inter_neurons;
            0 as in ncps: then every inter neuron is connected as an unreached one).
        inter_fanout: synapses from each inter neuron to the command neurons
            (<= command_neurons).
        recurrent_command_synapses: synapses drawn among the command neurons (>= 0).
        motor_fanin: synapses into each motor neuron from the command neurons
            (<= command_neurons).
        seed: the seed of the draws (an int in [0, 2**32)).

    >>> w = NCP(6, 4, 2, sensory_fanout=3, inter_fanout=2, recurrent_command_synapses=4,
    ...         motor_fanin=2, seed=1)
    >>> w.build(3)
    >>> [w.get_type_of_neuron(i) for i in (0, 2, 6)]
    ['motor', 'command', 'inter']
    """

    def __init__(self, inter_neurons: int, command_neurons: int, motor_neurons: int,
                 sensory_fanout: int, inter_fanout: int, recurrent_command_synapses: int,
                 motor_fanin: int, seed: int = 22222) -> None:
        name = type(self).__name__
        inter = _count(name, "inter_neurons", inter_neurons)
        command = _count(name, "command_neurons", command_neurons)
        motor = _count(name, "motor_neurons", motor_neurons)
        super().__init__(inter + command + motor)
        self.set_output_dim(motor)
        for arg, value, limit, of in (("sensory_fanout", sensory_fanout, inter, "inter"),
                                      ("inter_fanout", inter_fanout, command, "command"),
                                      ("motor_fanin", motor_fanin, command, "command")):
            if _count(name, arg, value, low=0) > limit:
                raise ConfigError(f"{name}: {arg}={value} is more than the {limit} {of} "
                                  f"neurons it chooses from; lower it or add {of} neurons")
        self._num_inter_neurons, self._num_command_neurons = inter, command
        self._num_motor_neurons = motor
        self._sensory_fanout, self._inter_fanout = sensory_fanout, inter_fanout
        self._recurrent_command_synapses = _count(name, "recurrent_command_synapses",
                                                  recurrent_command_synapses, low=0)
        self._motor_fanin = motor_fanin
        self._seed = _seed(name, "seed", seed)
        self._rng = Legacy(seed)
        self._motor_neurons = list(range(motor))
        self._command_neurons = list(range(motor, motor + command))
        self._inter_neurons = list(range(motor + command, motor + command + inter))

    @property
    def num_layers(self) -> int:
        """3: inter (0), command (1) and motor (2) neurons."""
        return 3

    def get_neurons_of_layer(self, layer_id: int) -> list[int]:
        """The ids of the inter (0), command (1) or motor (2) neurons."""
        self._check_layer(layer_id)
        return list((self._inter_neurons, self._command_neurons, self._motor_neurons)[layer_id])

    def get_type_of_neuron(self, neuron_id: int) -> str:
        """``"motor"``, ``"command"`` or ``"inter"``."""
        self._check_neuron(neuron_id)
        if neuron_id < self._num_motor_neurons:
            return "motor"
        if neuron_id < self._num_motor_neurons + self._num_command_neurons:
            return "command"
        return "inter"

    def _build_sensory(self) -> None:
        assert self.input_dim is not None
        sensory = list(range(self.input_dim))
        self._connect(sensory, self._inter_neurons, self._sensory_fanout, len(sensory),
                      sensory=True)
        # ncps caps the inter -> command fan-in at the number of command neurons (its comment
        # says inter neurons); the same cap keeps its matrices
        self._connect(self._inter_neurons, self._command_neurons, self._inter_fanout,
                      len(self._command_neurons))
        for _ in range(self._recurrent_command_synapses):
            src = self._rng.choice(self._command_neurons)
            dest = self._rng.choice(self._command_neurons)
            self.add_synapse(src, dest, self._rng.choice(_SIGNS))
        self._connect_fanin(self._command_neurons, self._motor_neurons, self._motor_fanin)

    def _connect(self, sources: Sequence[int], targets: Sequence[int], fanout: int, cap: int,
                 sensory: bool = False) -> None:
        """Each source to ``fanout`` targets; then each target none reached from its mean
        fan-in (clipped to [1, cap]) of sources."""
        add = self.add_sensory_synapse if sensory else self.add_synapse
        unreached = list(targets)
        for src in sources:
            for dest in self._rng.sample(targets, fanout):
                if dest in unreached:
                    unreached.remove(dest)
                add(src, dest, self._rng.choice(_SIGNS))
        fanin = min(max(len(sources) * fanout // len(targets), 1), cap)
        for dest in unreached:
            for src in self._rng.sample(sources, fanin):
                add(src, dest, self._rng.choice(_SIGNS))

    def _connect_fanin(self, sources: Sequence[int], targets: Sequence[int], fanin: int) -> None:
        """Each target from ``fanin`` sources; then each source that reaches none to its mean
        fan-out (clipped to [1, len(targets)]) of targets."""
        unused = list(sources)
        for dest in targets:
            for src in self._rng.sample(sources, fanin):
                if src in unused:
                    unused.remove(src)
                self.add_synapse(src, dest, self._rng.choice(_SIGNS))
        fanout = min(max(len(targets) * fanin // len(sources), 1), len(targets))
        for src in unused:
            for dest in self._rng.sample(targets, fanout):
                self.add_synapse(src, dest, self._rng.choice(_SIGNS))

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (neuron counts and the seed: ncps's own ``get_config``
        writes id lists and no seed, so its ``from_config`` fails), the input size and both
        matrices."""
        return {"inter_neurons": self._num_inter_neurons,
                "command_neurons": self._num_command_neurons,
                "motor_neurons": self._num_motor_neurons,
                "sensory_fanout": self._sensory_fanout, "inter_fanout": self._inter_fanout,
                "recurrent_command_synapses": self._recurrent_command_synapses,
                "motor_fanin": self._motor_fanin, "seed": self._seed,
                "input_dim": self.input_dim, "adjacency_matrix": self.adjacency_matrix,
                "sensory_adjacency_matrix": self.sensory_adjacency_matrix}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NCP:
        """The wiring ``get_config`` described."""
        args = ("inter_neurons", "command_neurons", "motor_neurons", "sensory_fanout",
                "inter_fanout", "recurrent_command_synapses", "motor_fanin", "seed")
        return _from_config(cls, config, args, args[:-1])


class AutoNCP(NCP):
    """An NCP from the number of units and outputs: of the ``units - output_size`` other
    neurons 40% (at least one) are command neurons and the rest inter neurons; fan-outs and
    fan-ins are ``1 - sparsity_level`` of the layer they choose from (at least one), and there
    are twice as many recurrent command synapses as command fan-ins.

    Arguments:
        units: the number of neurons (more than ``output_size + 2``).
        output_size: the number of motor neurons (the outputs).
        sparsity_level: in [0.1, 0.9]: 0.1 dense, 0.9 sparse. (ncps accepts up to 1.0, where
            every fan-out is 1, though its message says 0.9.)
        seed: the seed of the draws.

    >>> w = AutoNCP(16, 4, seed=0)
    >>> w.build(3)
    >>> [len(w.get_neurons_of_layer(i)) for i in range(w.num_layers)]
    [8, 4, 4]
    """

    def __init__(self, units: int, output_size: int, sparsity_level: float = 0.5,
                 seed: int = 22222) -> None:
        units = _count("AutoNCP", "units", units)
        output_size = _count("AutoNCP", "output_size", output_size)
        if output_size >= units - 2:
            raise ConfigError(f"AutoNCP: output_size={output_size} must be less than units - 2 "
                              f"= {units - 2} (units={units}: at least one command and two "
                              f"inter neurons besides the outputs); ncps suggests output_size "
                              f"about 0.3 * units")
        if (isinstance(sparsity_level, bool) or not isinstance(sparsity_level, int | float)
                or not 0.1 <= sparsity_level <= 0.9):
            raise ConfigError(f"AutoNCP: sparsity_level must be a number in [0.1, 0.9], got "
                              f"{sparsity_level!r}")
        self._output_size, self._sparsity_level = output_size, sparsity_level
        density = 1.0 - sparsity_level
        others = units - output_size
        command = max(int(0.4 * others), 1)
        inter = others - command
        super().__init__(inter, command, output_size,
                         sensory_fanout=max(int(inter * density), 1),
                         inter_fanout=max(int(command * density), 1),
                         recurrent_command_synapses=max(int(command * density * 2), 1),
                         motor_fanin=max(int(command * density), 1), seed=seed)

    def get_config(self) -> dict[str, Any]:
        """ncps's keys (units, output_size, sparsity_level, seed), the input size and both
        matrices."""
        return {"units": self.units, "output_size": self._output_size,
                "sparsity_level": self._sparsity_level, "seed": self._seed,
                "input_dim": self.input_dim, "adjacency_matrix": self.adjacency_matrix,
                "sensory_adjacency_matrix": self.sensory_adjacency_matrix}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AutoNCP:
        """The wiring ``get_config`` described (also takes ncps's config)."""
        return _from_config(cls, config, ("units", "output_size", "sparsity_level", "seed"),
                            ("units", "output_size"))
