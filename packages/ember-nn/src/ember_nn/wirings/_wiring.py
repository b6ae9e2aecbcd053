"""``Wiring``: which neurons of a recurrent cell connect, and with which sign, as plain data.

A wiring of ``units`` neurons holds two matrices of -1/0/+1 ints (nested lists):
``adjacency_matrix[src][dest]`` between neurons and, once ``build(input_dim)`` knows the input
size, ``sensory_adjacency_matrix[src][dest]`` from the inputs to the neurons. +1 is an
excitatory synapse, -1 an inhibitory one, 0 none. The LTC and CfC cells turn them into masks
(and reversal potentials) on the model's backend, so a wiring belongs to no backend.

The API is ncps's (``ncps.wirings.Wiring``) with its names and defaults; where ncps fails late
or silently (an out-of-range layer id, a second ``build`` drawing more synapses), ember raises
a ``ConfigError`` naming the value, and ``build`` may be called again with the same size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .._core import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Wiring", "deserialize_wiring", "serialize_wiring"]

Matrix = list[list[int]]
_REGISTRY: dict[str, type[Wiring]] = {}
W = TypeVar("W", bound="Wiring")


def _count(owner: str, name: str, value: Any, low: int = 1) -> int:
    """``value`` if it is an int >= ``low`` (not a bool), else a ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{owner}: {name} must be an int >= {low}, got {value!r}")
    return value


def _seed(owner: str, name: str, value: Any) -> int:
    """A seed NumPy's generators take: an int in [0, 2**32)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ConfigError(f"{owner}: {name} must be an int in [0, 2**32), got {value!r}")
    return value


def _matrix(owner: str, name: str, value: Any, rows: int, cols: int) -> Matrix:
    """A copy of ``value`` if it is a ``rows`` x ``cols`` nested sequence of -1/0/+1 ints."""
    try:
        out = [[int(v) for v in row] for row in value]
        ok = (len(out) == rows and all(len(r) == cols for r in out)
              and all(v in (-1, 0, 1) and v == w for r, row in zip(out, value)
                      for v, w in zip(r, row)))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(f"{owner}: {name} must be a {rows} x {cols} matrix of -1, 0 and +1 "
                          f"ints, got {_short(value)}")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Wiring:
    """The connectivity of ``units`` neurons: synapses between neurons, and from the inputs once
    ``build(input_dim)`` is called. Subclasses draw synapses; this class starts with none and
    takes them from ``add_synapse`` and ``add_sensory_synapse``.

    Arguments:
        units: the number of neurons (the state size of the cell).

    >>> w = Wiring(3)
    >>> w.add_synapse(0, 1, -1)
    >>> w.build(2)
    >>> w.add_sensory_synapse(1, 2, 1)
    >>> (w.synapse_count, w.sensory_synapse_count, w.adjacency_matrix[0])
    (1, 1, [0, -1, 0])
    """

    #: the name ``serialize_wiring`` writes (the class name; never renamed)
    config_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.config_name = cls.__name__
        taken = _REGISTRY.get(cls.__name__)
        if taken is not None and (taken.__module__, taken.__qualname__) != (
                cls.__module__, cls.__qualname__):
            raise ConfigError(f"Wiring subclass name {cls.__name__!r} is taken by "
                              f"{_REGISTRY[cls.__name__].__module__}; choose another name")
        _REGISTRY[cls.__name__] = cls

    def __init__(self, units: int) -> None:
        self.units = _count(type(self).__name__, "units", units)
        self._adjacency: Matrix = [[0] * units for _ in range(units)]
        self._sensory: Matrix | None = None
        self._input_dim: int | None = None
        self._output_dim: int | None = None
        self._drawn = False  # build() has drawn the subclass's sensory synapses

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(units={self.units}, input_dim={self._input_dim}, "
                f"output_dim={self._output_dim}, synapses={self.synapse_count})")

    # -- the matrices and sizes ------------------------------------------------------------
    @property
    def adjacency_matrix(self) -> Matrix:
        """``units`` x ``units`` -1/0/+1 ints, ``[src][dest]`` (a copy: change it with
        ``add_synapse``)."""
        return [row[:] for row in self._adjacency]

    @property
    def sensory_adjacency_matrix(self) -> Matrix | None:
        """``input_dim`` x ``units`` -1/0/+1 ints, ``[src][dest]``; None before ``build``."""
        return None if self._sensory is None else [row[:] for row in self._sensory]

    @property
    def input_dim(self) -> int | None:
        """The number of inputs (sensory neurons); None before ``build``."""
        return self._input_dim

    @property
    def output_dim(self) -> int | None:
        """The number of motor neurons (neurons ``0 .. output_dim - 1`` are the outputs)."""
        return self._output_dim

    @property
    def state_size(self) -> int:
        """The state size of a cell with this wiring: ``units``."""
        return self.units

    @property
    def synapse_count(self) -> int:
        """The number of synapses between neurons."""
        return sum(v != 0 for row in self._adjacency for v in row)

    @property
    def sensory_synapse_count(self) -> int:
        """The number of synapses from the inputs to the neurons (the wiring must be built)."""
        self._require_built("sensory_synapse_count")
        assert self._sensory is not None
        return sum(v != 0 for row in self._sensory for v in row)

    @property
    def num_layers(self) -> int:
        """How many layers of neurons the wiring has (NCP: 3, inter, command, motor)."""
        return 1

    def get_neurons_of_layer(self, layer_id: int) -> list[int]:
        """The neuron ids of layer ``layer_id`` (0 <= layer_id < num_layers)."""
        self._check_layer(layer_id)
        return list(range(self.units))

    def get_type_of_neuron(self, neuron_id: int) -> str:
        """``"motor"`` for the output neurons ``0 .. output_dim - 1``, else ``"inter"``."""
        self._check_neuron(neuron_id)
        if self._output_dim is None:
            raise ConfigError(f"{type(self).__name__}.get_type_of_neuron: the output size is "
                              f"not set; call set_output_dim first")
        return "motor" if neuron_id < self._output_dim else "inter"

    def is_built(self) -> bool:
        """Whether the input size is known (``build`` or ``set_input_dim`` was called)."""
        return self._input_dim is not None

    # -- building --------------------------------------------------------------------------
    def build(self, input_dim: int) -> None:
        """Fix the number of inputs and draw the synapses from them (once: building again with
        the same size changes nothing; another size is a ConfigError)."""
        input_dim = _count(type(self).__name__, "input_dim", input_dim)
        if self._input_dim is not None and self._input_dim != input_dim:
            raise ConfigError(f"{type(self).__name__}.build: the wiring was built for "
                              f"input_dim={self._input_dim}, not {input_dim}; make a new "
                              f"wiring for another input size")
        if self._input_dim is None:
            self.set_input_dim(input_dim)
        if not self._drawn:
            self._drawn = True
            self._build_sensory()

    def _build_sensory(self) -> None:
        """Draw the sensory synapses (subclasses); the input size is set."""

    def set_input_dim(self, input_dim: int) -> None:
        """Set the number of inputs and start with no sensory synapses (``build`` calls it)."""
        input_dim = _count(type(self).__name__, "input_dim", input_dim)
        if self._input_dim is not None and self._input_dim != input_dim:
            raise ConfigError(f"{type(self).__name__}.set_input_dim: input_dim is already "
                              f"{self._input_dim}, not {input_dim}")
        if self._input_dim is None:
            self._input_dim = input_dim
            self._sensory = [[0] * self.units for _ in range(input_dim)]

    def set_output_dim(self, output_dim: int) -> None:
        """Set the number of motor neurons (1 <= output_dim <= units)."""
        output_dim = _count(type(self).__name__, "output_dim", output_dim)
        if output_dim > self.units:
            raise ConfigError(f"{type(self).__name__}: output_dim={output_dim} is more than "
                              f"the {self.units} units")
        self._output_dim = output_dim

    def add_synapse(self, src: int, dest: int, polarity: int) -> None:
        """Connect neuron ``src`` to neuron ``dest``: +1 excitatory, -1 inhibitory (replaces
        a synapse already there)."""
        self._check_id("add_synapse", "src", src, self.units, "units")
        self._check_id("add_synapse", "dest", dest, self.units, "units")
        self._adjacency[src][dest] = self._polarity("add_synapse", polarity)

    def add_sensory_synapse(self, src: int, dest: int, polarity: int) -> None:
        """Connect input ``src`` to neuron ``dest`` (after ``build``)."""
        self._require_built("add_sensory_synapse")
        assert self._sensory is not None and self._input_dim is not None
        self._check_id("add_sensory_synapse", "src", src, self._input_dim, "inputs")
        self._check_id("add_sensory_synapse", "dest", dest, self.units, "units")
        self._sensory[src][dest] = self._polarity("add_sensory_synapse", polarity)

    def erev_initializer(self, shape: Any = None, dtype: Any = None) -> Matrix:
        """The reversal potentials an LTC cell starts from: the adjacency matrix (a copy).
        ``shape``, if given, must be ``(units, units)``; ``dtype`` is the cell's business (it
        casts) and is accepted for ncps's signature only."""
        self._check_shape("erev_initializer", shape, (self.units, self.units))
        return self.adjacency_matrix

    def sensory_erev_initializer(self, shape: Any = None, dtype: Any = None) -> Matrix:
        """The sensory reversal potentials: the sensory adjacency matrix (after ``build``)."""
        self._require_built("sensory_erev_initializer")
        self._check_shape("sensory_erev_initializer", shape, (self._input_dim, self.units))
        out = self.sensory_adjacency_matrix
        assert out is not None
        return out

    # -- configs ---------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """JSON-able data ``from_config`` rebuilds this wiring from (ncps's keys)."""
        return {"units": self.units, "adjacency_matrix": self.adjacency_matrix,
                "sensory_adjacency_matrix": self.sensory_adjacency_matrix,
                "input_dim": self._input_dim, "output_dim": self._output_dim}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Wiring:
        """The wiring ``get_config`` described (also takes ncps's ``Wiring.get_config()``)."""
        config = _mapping(cls, config)
        known = {"units", "adjacency_matrix", "sensory_adjacency_matrix", "input_dim",
                 "output_dim"}
        _no_extra(cls, config, known)
        if "units" not in config:
            raise ConfigError(f"{cls.__name__}.from_config: the config has no 'units'")
        wiring = Wiring(config["units"])
        if config.get("output_dim") is not None:
            wiring.set_output_dim(config["output_dim"])
        wiring._restore(config)
        return wiring

    def _restore(self, config: Mapping[str, Any]) -> None:
        """Build for the config's input_dim and take its matrices (those of a config written
        after ``add_synapse`` calls, or ncps's)."""
        owner = f"{type(self).__name__}.from_config"
        if config.get("input_dim") is not None:
            self.build(config["input_dim"])
        elif config.get("sensory_adjacency_matrix") is not None:
            raise ConfigError(f"{owner}: a sensory_adjacency_matrix without an input_dim")
        if config.get("adjacency_matrix") is not None:
            self._adjacency = _matrix(owner, "adjacency_matrix", config["adjacency_matrix"],
                                      self.units, self.units)
        if config.get("sensory_adjacency_matrix") is not None:
            assert self._input_dim is not None
            self._sensory = _matrix(owner, "sensory_adjacency_matrix",
                                    config["sensory_adjacency_matrix"], self._input_dim,
                                    self.units)

    # -- drawing ---------------------------------------------------------------------------
    def get_graph(self, include_sensory_neurons: bool = True) -> Any:
        """The wiring as a ``networkx.DiGraph`` (nodes ``neuron_i``/``sensory_i`` with a
        ``neuron_type``, edges with a ``polarity``); needs networkx."""
        from ._draw import get_graph

        return get_graph(self, include_sensory_neurons)

    def draw_graph(self, layout: str = "shell", neuron_colors: Mapping[str, str] | None = None,
                   synapse_colors: str | Mapping[str, str] | None = None,
                   draw_labels: bool = False, *, path: str | Path | None = None,
                   ax: Any = None) -> list[Any]:
        """Draw the wiring with matplotlib (ncps's arguments); with ``path``, on a figure of
        its own with a legend, written to that PNG. Returns the legend handles (neuron types,
        then excitatory and inhibitory synapses); needs networkx and matplotlib."""
        from ._draw import draw

        return draw(self, layout=layout, neuron_colors=neuron_colors,
                    synapse_colors=synapse_colors, draw_labels=draw_labels, path=path, ax=ax)

    # -- checks ----------------------------------------------------------------------------
    def _require_built(self, what: str) -> None:
        if self._input_dim is None:
            raise ConfigError(f"{type(self).__name__}.{what}: the wiring is not built; call "
                              f"build(input_dim) first (a cell does when it sees its input)")

    def _check_id(self, what: str, name: str, value: Any, limit: int, of: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
            raise ConfigError(f"{type(self).__name__}.{what}: {name}={value!r} is not in "
                              f"[0, {limit}) (there are {limit} {of})")

    def _check_neuron(self, neuron_id: Any) -> None:
        self._check_id("get_type_of_neuron", "neuron_id", neuron_id, self.units, "units")

    def _check_layer(self, layer_id: Any) -> None:
        self._check_id("get_neurons_of_layer", "layer_id", layer_id, self.num_layers, "layers")

    def _polarity(self, what: str, polarity: Any) -> int:
        if isinstance(polarity, bool) or polarity not in (-1, 1) or int(polarity) != polarity:
            raise ConfigError(f"{type(self).__name__}.{what}: polarity must be -1 or +1, got "
                              f"{polarity!r}")
        return int(polarity)

    def _check_shape(self, what: str, shape: Any, expected: tuple[Any, ...]) -> None:
        if shape is not None and tuple(shape) != expected:
            raise ConfigError(f"{type(self).__name__}.{what}: shape {tuple(shape)} is not the "
                              f"wiring's {expected}")


_REGISTRY["Wiring"] = Wiring
Wiring.config_name = "Wiring"


def _mapping(cls: type, config: Any) -> Mapping[str, Any]:
    if not isinstance(config, Mapping):
        raise ConfigError(f"{cls.__name__}.from_config: expected a dict, got "
                          f"{type(config).__name__}")
    return config


def _no_extra(cls: type, config: Mapping[str, Any], known: set[str]) -> None:
    extra = sorted(set(config) - known)
    if extra:
        raise ConfigError(f"{cls.__name__}.from_config: unknown keys {extra}; expected some of "
                          f"{sorted(known)}")


_MATRICES = ("input_dim", "adjacency_matrix", "sensory_adjacency_matrix")


def _from_config(cls: type[W], config: Any, args: tuple[str, ...], required: tuple[str, ...]
                 ) -> W:
    """A subclass's ``from_config``: its constructor ``args`` (the ``required`` ones must be
    there), then the input size and the matrices the config holds, if any."""
    config = _mapping(cls, config)
    _no_extra(cls, config, {*args, *_MATRICES})
    missing = [a for a in required if a not in config]
    if missing:
        raise ConfigError(f"{cls.__name__}.from_config: the config has no {missing}")
    wiring = cls(**{k: config[k] for k in args if k in config})
    wiring._restore(config)
    return wiring


def serialize_wiring(wiring: Wiring) -> dict[str, Any]:
    """``{"class": name, "config": wiring.get_config()}``: JSON-able, for a cell's config."""
    if not isinstance(wiring, Wiring):
        raise ConfigError(f"serialize_wiring: expected an ember_nn.wirings.Wiring, got "
                          f"{type(wiring).__name__}")
    return {"class": wiring.config_name, "config": wiring.get_config()}


def deserialize_wiring(data: Mapping[str, Any]) -> Wiring:
    """The wiring ``serialize_wiring`` described (its class must be a registered Wiring)."""
    if not isinstance(data, Mapping) or set(data) != {"class", "config"}:
        raise ConfigError(f"deserialize_wiring: expected {{'class': name, 'config': {{...}}}}, "
                          f"got {_short(data)}")
    cls = _REGISTRY.get(data["class"]) if isinstance(data["class"], str) else None
    if cls is None:
        raise ConfigError(f"deserialize_wiring: unknown wiring class {data['class']!r}; known: "
                          f"{sorted(_REGISTRY)}")
    return cls.from_config(data["config"])
