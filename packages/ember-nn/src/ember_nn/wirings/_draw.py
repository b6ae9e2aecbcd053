"""Pictures of a wiring: its networkx graph and a matplotlib drawing (a PNG with ``path``).

networkx and matplotlib are imported inside the functions (``import ember_nn`` stays cheap).
Neurons are coloured by type (sensory, inter, command, motor); excitatory synapses are solid
green lines, inhibitory ones dashed red, and the legend says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._core import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from ._wiring import Wiring

__all__ = ["draw", "draw_graph", "get_graph"]

NEURON_COLORS = {"sensory": "tab:olive", "inter": "tab:blue", "command": "tab:purple",
                 "motor": "tab:orange"}
SYNAPSE_COLORS = {"excitatory": "tab:green", "inhibitory": "tab:red"}
SYNAPSE_STYLES = {"excitatory": "solid", "inhibitory": "dashed"}
LAYOUTS = ("layers", "kamada", "circular", "random", "shell", "spring", "spectral", "spiral")
_ORDER = ("sensory", "inter", "command", "motor")


def _import(what: str, module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"{what} needs {module.split('.')[0]}; install it (pip install "
                          f"'ember-nn[examples]')") from e


def get_graph(wiring: Wiring, include_sensory_neurons: bool = True) -> Any:
    """``wiring`` as a ``networkx.DiGraph``: nodes ``neuron_i`` (and ``sensory_i``) with a
    ``neuron_type``, edges with a ``polarity`` (``"excitatory"`` or ``"inhibitory"``)."""
    nx = _import("get_graph", "networkx")
    wiring._require_built("get_graph")
    graph = nx.DiGraph()
    for i in range(wiring.units):
        graph.add_node(f"neuron_{i}", neuron_type=wiring.get_type_of_neuron(i))
    sensory = wiring.sensory_adjacency_matrix
    assert sensory is not None
    if include_sensory_neurons:
        for i in range(len(sensory)):
            graph.add_node(f"sensory_{i}", neuron_type="sensory")
        _edges(graph, sensory, "sensory")
    _edges(graph, wiring.adjacency_matrix, "neuron")
    return graph


def _edges(graph: Any, matrix: list[list[int]], source: str) -> None:
    for src, row in enumerate(matrix):
        for dest, sign in enumerate(row):
            if sign:
                graph.add_edge(f"{source}_{src}", f"neuron_{dest}",
                               polarity="excitatory" if sign > 0 else "inhibitory")


def _positions(nx: Any, graph: Any, layout: str) -> dict[str, Any]:
    if layout == "layers":  # columns sensory, inter, command, motor; ids from the top down
        # (networkx's multipartite_layout orders a column by a set: it changes from run to run)
        columns: dict[str, list[str]] = {kind: [] for kind in _ORDER}
        for node, kind in graph.nodes(data="neuron_type"):
            columns[kind].append(node)
        pos = {}
        for x, kind in enumerate(k for k in _ORDER if columns[k]):
            nodes = sorted(columns[kind], key=lambda n: int(n.rsplit("_", 1)[1]))
            for i, node in enumerate(nodes):
                pos[node] = (float(x), (len(nodes) - 1) / 2 - i)
        return pos
    functions = {"kamada": nx.kamada_kawai_layout, "circular": nx.circular_layout,
                 "random": nx.random_layout, "shell": nx.shell_layout,
                 "spring": nx.spring_layout, "spectral": nx.spectral_layout,
                 "spiral": nx.spiral_layout}
    return dict(functions[layout](graph))


def draw(wiring: Wiring, *, layout: str = "shell",
         neuron_colors: Mapping[str, str] | None = None,
         synapse_colors: str | Mapping[str, str] | None = None, draw_labels: bool = False,
         path: str | Path | None = None, ax: Any = None) -> list[Any]:
    """Draw ``wiring`` on ``ax`` (the current axes if None; a figure of its own, written to
    ``path`` as a PNG, if ``path`` is given). Returns the legend handles."""
    if layout not in LAYOUTS:
        raise ConfigError(f"draw_graph: unknown layout {layout!r}; use one of {list(LAYOUTS)}")
    if isinstance(synapse_colors, str):
        synapse_colors = dict.fromkeys(SYNAPSE_COLORS, synapse_colors)
    synapses = {**SYNAPSE_COLORS, **(synapse_colors or {})}
    neurons = {**NEURON_COLORS, **(neuron_colors or {})}
    for name, given, known in (("neuron_colors", neuron_colors, NEURON_COLORS),
                               ("synapse_colors", synapse_colors, SYNAPSE_COLORS)):
        extra = sorted(set(given or {}) - set(known))
        if extra:
            raise ConfigError(f"draw_graph: {name} has unknown keys {extra}; use some of "
                              f"{sorted(known)}")
    nx = _import("draw_graph", "networkx")
    lines = _import("draw_graph", "matplotlib.lines")
    patches = _import("draw_graph", "matplotlib.patches")
    graph = get_graph(wiring)
    figure = None
    if path is not None and ax is None:
        figure = _import("draw_graph", "matplotlib.figure").Figure(figsize=(7, 5), dpi=100)
        ax = figure.add_subplot()
    elif ax is None:
        ax = _import("draw_graph", "matplotlib.pyplot").gca()
    pos = _positions(nx, graph, layout)
    present = []
    for kind in _ORDER:
        nodes = [n for n, d in graph.nodes(data=True) if d["neuron_type"] == kind]
        if nodes:
            present.append(kind)
            nx.draw_networkx_nodes(graph, pos, nodelist=nodes, node_color=neurons[kind],
                                   node_size=220, ax=ax)
    types = dict(graph.nodes(data="neuron_type"))
    for polarity in ("excitatory", "inhibitory"):
        edges = [(a, b) for a, b, d in graph.edges(data=True) if d["polarity"] == polarity]
        # in the "layers" layout, synapses within a layer (recurrent command synapses) bend,
        # so that they do not run along the layer's column over one another
        within = layout == "layers"
        for bend, group in ((0.0, [e for e in edges if not within or types[e[0]] != types[e[1]]]),
                            (0.35, [e for e in edges if within and types[e[0]] == types[e[1]]])):
            if group:
                nx.draw_networkx_edges(graph, pos, edgelist=group, edge_color=synapses[polarity],
                                       style=SYNAPSE_STYLES[polarity], arrows=True,
                                       arrowsize=8, width=0.8, alpha=0.7, node_size=220,
                                       connectionstyle=f"arc3,rad={bend}", ax=ax)
    if draw_labels:
        nx.draw_networkx_labels(graph, pos, font_size=6, ax=ax)
    handles = [patches.Patch(color=neurons[k], label=f"{k.capitalize()} neurons")
               for k in present]
    handles += [lines.Line2D([], [], color=synapses[p], linestyle=SYNAPSE_STYLES[p],
                             label=f"{p.capitalize()} synapses")
                for p in ("excitatory", "inhibitory")]
    if figure is not None:
        assert path is not None
        ax.set_axis_off()
        ax.set_title(f"{type(wiring).__name__}: {wiring.units} neurons, {wiring.input_dim} "
                     f"inputs, {wiring.synapse_count} + {wiring.sensory_synapse_count} synapses",
                     fontsize=10)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        figure.savefig(_path(path), format="png", bbox_inches="tight")
    return handles


def draw_graph(wiring: Wiring, path: str | Path, *, layout: str = "layers",
               **options: Any) -> Path:
    """Write a PNG picture of ``wiring`` (built) to ``path``: neurons coloured by layer,
    excitatory synapses solid green, inhibitory ones dashed red, with a legend. ``layout`` is
    ``"layers"`` (columns sensory, inter, command, motor) or one of networkx's (ncps's default
    is ``"shell"``); other options as ``Wiring.draw_graph``. Returns the path.

    >>> w = AutoNCP(12, 2); w.build(3)                 # doctest: +SKIP
    >>> draw_graph(w, "wiring.png")                    # doctest: +SKIP
    PosixPath('wiring.png')
    """
    wiring._require_built("draw_graph")
    draw(wiring, layout=layout, path=path, **options)
    return _path(path)


def _path(path: str | Path) -> Path:
    from pathlib import Path  # pathlib costs ~8 ms of ``import ember_nn`` (urllib.parse)

    return Path(path)
