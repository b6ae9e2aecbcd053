"""ember_nn.wirings against ncps 1.0.1: the same arguments and seeds give ncps's matrices;
counts, neuron types and layers; configs (and JSON) round-trip, NCP included; bad arguments
are ConfigErrors naming the value; draw_graph writes a PNG.

The wirings use no backend, so these tests ask for none (they run once per backend session).
"""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.wirings import (
    NCP,
    AutoNCP,
    FullyConnected,
    Random,
    Wiring,
    _draw,
    _fully_connected,
    _ncp,
    _random,
    _wiring,
    deserialize_wiring,
    draw_graph,
    serialize_wiring,
)
from ember_nn.wirings._rng import PCG64, Legacy


def _ncps():
    return pytest.importorskip("ncps.wirings")


def _same(ours: Wiring, theirs) -> None:
    assert np.array_equal(np.array(ours.adjacency_matrix), theirs.adjacency_matrix)
    if theirs.sensory_adjacency_matrix is None:
        assert ours.sensory_adjacency_matrix is None
    else:
        assert np.array_equal(np.array(ours.sensory_adjacency_matrix),
                              theirs.sensory_adjacency_matrix)
    assert (ours.units, ours.input_dim, ours.output_dim) == (
        theirs.units, theirs.input_dim, theirs.output_dim)


# -- NumPy's draws ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 22222, 2**32 - 1])
def test_legacy_draws_are_numpy_random_states(seed: int) -> None:
    ours, numpy = Legacy(seed), np.random.RandomState(seed)
    for k in range(120):
        seq = list(range(10, 11 + k % 29))
        if k % 3 == 0:
            assert ours.choice(seq) == numpy.choice(seq)
        else:
            size = k % (len(seq) + 1)
            assert ours.sample(seq, size) == numpy.choice(seq, size, replace=False).tolist()


@pytest.mark.parametrize("seed", [0, 1111, 2**32 - 1, 2**70 + 3])
def test_pcg64_draws_are_numpy_default_rng(seed: int) -> None:
    ours, numpy = PCG64(seed), np.random.default_rng(seed)
    for k in range(120):
        seq = list(range(1 + k % 31))
        if k % 3 == 0:
            assert ours.choice([-1, 1, 1]) == numpy.choice([-1, 1, 1])
        else:
            size = k % (len(seq) + 1)
            assert ours.sample(seq, size) == numpy.choice(seq, size, replace=False).tolist()
    big = list(range(10_500))  # over 10,000: a tail shuffle for a large sample, else Floyd's
    for size in (300, 5000):
        assert ours.sample(big, size) == numpy.choice(big, size, replace=False).tolist()


# -- ncps's matrices -------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 7, 1111, 40503])
@pytest.mark.parametrize(("units", "inputs"), [(4, 1), (9, 3), (20, 6)])
def test_fully_connected_and_random_give_ncps_matrices(seed: int, units: int,
                                                       inputs: int) -> None:
    nw = _ncps()
    for self_connections in (True, False):
        ours = FullyConnected(units, erev_init_seed=seed, self_connections=self_connections)
        theirs = nw.FullyConnected(units, erev_init_seed=seed, self_connections=self_connections)
        _same(ours, theirs)  # before build too
        ours.build(inputs), theirs.build(inputs)
        _same(ours, theirs)
    for sparsity in (0.0, 0.3, 0.75):
        ours = Random(units, output_dim=1, sparsity_level=sparsity, random_seed=seed)
        theirs = nw.Random(units, output_dim=1, sparsity_level=sparsity, random_seed=seed)
        ours.build(inputs), theirs.build(inputs)
        _same(ours, theirs)


@pytest.mark.parametrize("seed", [0, 3, 22222, 123456789])
@pytest.mark.parametrize(("units", "outputs", "inputs"), [(5, 1, 1), (12, 3, 4), (32, 8, 10),
                                                          (64, 4, 32)])
def test_auto_ncp_gives_ncps_matrices(seed: int, units: int, outputs: int, inputs: int) -> None:
    nw = _ncps()
    for sparsity in (0.1, 0.5, 0.9):
        ours, theirs = AutoNCP(units, outputs, sparsity, seed), nw.AutoNCP(units, outputs,
                                                                          sparsity, seed)
        ours.build(inputs), theirs.build(inputs)
        _same(ours, theirs)
        assert [ours.get_type_of_neuron(i) for i in range(units)] == [
            theirs.get_type_of_neuron(i) for i in range(units)]
        assert [ours.get_neurons_of_layer(i) for i in range(3)] == [
            list(theirs.get_neurons_of_layer(i)) for i in range(3)]


@pytest.mark.parametrize("args", [(10, 3, 2, 4, 3, 5, 2), (3, 10, 2, 1, 3, 0, 10),
                                  (6, 2, 5, 6, 2, 7, 1), (1, 1, 1, 1, 1, 1, 1),
                                  (4, 3, 2, 0, 0, 2, 0)])
@pytest.mark.parametrize("inputs", [1, 5, 17])
def test_ncp_gives_ncps_matrices(args: tuple[int, ...], inputs: int) -> None:
    # (3, 10, ...): inter -> command leaves command neurons unreached, whose fan-in ncps caps
    # at the number of command neurons; (6, 2, 5, ...): command neurons without motor synapse
    nw = _ncps()
    for seed in (0, 5, 22222):
        ours, theirs = NCP(*args, seed=seed), nw.NCP(*args, seed=seed)
        ours.build(inputs), theirs.build(inputs)
        _same(ours, theirs)


@pytest.mark.parametrize("seed", [45, 178])
def test_ncp_caps_the_command_fan_in_as_ncps(seed: int) -> None:
    """Seeds where an inter -> command step leaves a command neuron unreached and the mean
    fan-in (6 * 1 / 2 = 3) is above the 2 command neurons: ncps connects it from 2 inter
    neurons (its cap is the number of command neurons), not 3."""
    nw = _ncps()
    ours, theirs = NCP(6, 2, 1, 2, 1, 1, 1, seed=seed), nw.NCP(6, 2, 1, 2, 1, 1, 1, seed=seed)
    ours.build(3), theirs.build(3)
    _same(ours, theirs)


# -- counts, types, layers -------------------------------------------------------------------
def test_synapse_counts() -> None:
    w = FullyConnected(6, output_dim=2, self_connections=False)
    w.build(4)
    assert (w.synapse_count, w.sensory_synapse_count) == (30, 24)
    assert all(w.adjacency_matrix[i][i] == 0 for i in range(6))
    r = Random(10, sparsity_level=0.45, random_seed=3)
    r.build(5)
    assert (r.synapse_count, r.sensory_synapse_count) == (55, 28)  # round half to even: 27.5
    n = NCP(8, 5, 3, sensory_fanout=4, inter_fanout=2, recurrent_command_synapses=0,
            motor_fanin=3, seed=9)
    n.build(3)
    sensory = np.array(n.sensory_adjacency_matrix)
    adjacency = np.array(n.adjacency_matrix)
    assert (np.abs(sensory).sum(axis=1) >= 4).all()  # each input reaches 4 inter neurons
    inter, command, motor = (n.get_neurons_of_layer(i) for i in range(3))
    assert (motor, command, inter) == ([0, 1, 2], [3, 4, 5, 6, 7], list(range(8, 16)))
    assert (np.abs(sensory)[:, inter].sum(axis=0) >= 1).all()  # every inter neuron reached
    assert (np.abs(adjacency)[np.ix_(command, motor)].sum(axis=0) >= 3).all()
    assert n.synapse_count == int(np.abs(adjacency).sum())
    assert n.sensory_synapse_count == int(np.abs(sensory).sum())
    assert set(np.unique(adjacency)) <= {-1, 0, 1}


def test_neuron_types_layers_and_sizes() -> None:
    w = AutoNCP(16, 4, seed=0)
    assert (w.units, w.state_size, w.output_dim, w.input_dim, w.num_layers) == (16, 16, 4,
                                                                                None, 3)
    assert [w.get_type_of_neuron(i) for i in (0, 3, 4, 7, 8, 15)] == [
        "motor", "motor", "command", "command", "inter", "inter"]
    f = FullyConnected(5, output_dim=2)
    assert [f.get_type_of_neuron(i) for i in range(5)] == ["motor"] * 2 + ["inter"] * 3
    assert (f.num_layers, f.get_neurons_of_layer(0)) == (1, [0, 1, 2, 3, 4])
    assert not w.is_built()
    w.build(3)
    assert w.is_built() and w.input_dim == 3


def test_erev_initializers_are_copies_of_the_matrices() -> None:
    w = AutoNCP(10, 2, seed=4)
    w.build(3)
    erev = w.erev_initializer()
    assert erev == w.adjacency_matrix and w.sensory_erev_initializer((3, 10)) == \
        w.sensory_adjacency_matrix
    erev[0][0] = 99  # a copy: the wiring is unchanged
    assert w.adjacency_matrix[0][0] != 99
    with pytest.raises(ConfigError, match=r"\(4, 4\)"):
        w.erev_initializer((4, 4))


def test_a_hand_made_wiring() -> None:
    w = Wiring(3)
    w.set_output_dim(1)
    w.add_synapse(0, 2, -1)
    w.add_synapse(0, 2, 1)  # replaces
    w.build(2)
    w.add_sensory_synapse(1, 0, -1)
    assert w.adjacency_matrix == [[0, 0, 1], [0, 0, 0], [0, 0, 0]]
    assert w.sensory_adjacency_matrix == [[0, 0, 0], [-1, 0, 0]]
    assert (w.synapse_count, w.sensory_synapse_count) == (1, 1)


def test_building_again_with_the_same_size_changes_nothing() -> None:
    ours = AutoNCP(12, 3, seed=1)
    ours.build(4)
    before = ours.get_config()
    ours.build(4)
    assert ours.get_config() == before
    nw = pytest.importorskip("ncps.wirings")
    theirs = nw.AutoNCP(12, 3, seed=1)  # for contrast: ncps draws more synapses each time
    theirs.build(4)
    first = theirs.adjacency_matrix.copy()
    theirs.build(4)
    assert not np.array_equal(first, theirs.adjacency_matrix)


# -- ncps's Random.build draws each sensory sign twice ---------------------------------------
def test_random_keeps_ncps_second_sensory_sign_draw() -> None:
    """ncps's Random.build adds every sensory synapse twice with two sign draws; the second
    stays. The synapses and their number are right, so ember keeps ncps's two draws (and its
    matrices); a single draw would give other signs for the same seed."""
    nw = _ncps()
    units, inputs, seed = 6, 4, 5
    rng = np.random.default_rng(seed)
    pairs = [(s, d) for s in range(units) for d in range(units)]
    rng.choice(pairs, size=len(pairs), replace=False)  # the synapses between neurons
    [rng.choice([-1, 1, 1]) for _ in pairs]  # and their signs
    chosen = rng.choice([(s, d) for s in range(inputs) for d in range(units)],
                        size=inputs * units, replace=False)
    twice = np.zeros((inputs, units), dtype=int)
    once = np.zeros((inputs, units), dtype=int)
    draws = [rng.choice([-1, 1, 1]) for _ in range(2 * len(chosen))]
    for k, (s, d) in enumerate(chosen):
        twice[s, d] = draws[2 * k + 1]
        once[s, d] = draws[k]
    theirs = nw.Random(units, random_seed=seed)
    theirs.build(inputs)
    ours = Random(units, random_seed=seed)
    ours.build(inputs)
    assert np.array_equal(theirs.sensory_adjacency_matrix, twice)
    assert np.array_equal(np.array(ours.sensory_adjacency_matrix), twice)
    assert not np.array_equal(once, twice)  # one draw per synapse: other signs, same synapses
    assert np.array_equal(np.abs(once), np.abs(twice))
    assert ours.sensory_synapse_count == inputs * units


# -- configs ---------------------------------------------------------------------------------
WIRINGS = [
    lambda: FullyConnected(5, output_dim=2, erev_init_seed=3, self_connections=False),
    lambda: Random(7, output_dim=3, sparsity_level=0.4, random_seed=11),
    lambda: NCP(5, 4, 2, 3, 2, 4, 2, seed=8),
    lambda: AutoNCP(14, 3, sparsity_level=0.3, seed=6),
]


@pytest.mark.parametrize("make", WIRINGS)
@pytest.mark.parametrize("built", [False, True])
def test_configs_round_trip_through_json(make, built: bool) -> None:
    w = make()
    if built:
        w.build(3)
    text = json.dumps(serialize_wiring(w))
    back = deserialize_wiring(json.loads(text))
    assert type(back) is type(w) and back.get_config() == w.get_config()
    assert back.adjacency_matrix == w.adjacency_matrix
    assert back.sensory_adjacency_matrix == w.sensory_adjacency_matrix
    again = type(w).from_config(json.loads(json.dumps(w.get_config())))
    assert again.get_config() == w.get_config()
    if not built:  # an unbuilt wiring from a config draws as the original would
        again.build(3), w.build(3)
        assert again.get_config() == w.get_config()


def test_configs_keep_synapses_added_by_hand() -> None:
    w = AutoNCP(10, 2, seed=1)
    w.build(2)
    w.add_synapse(9, 9, -1)
    w.add_sensory_synapse(0, 9, 1)
    back = AutoNCP.from_config(json.loads(json.dumps(w.get_config())))
    assert back.adjacency_matrix[9][9] == -1 and back.sensory_adjacency_matrix[0][9] == 1
    plain = Wiring(3)
    plain.add_synapse(1, 2, -1)
    assert Wiring.from_config(plain.get_config()).adjacency_matrix == plain.adjacency_matrix


def test_ncps_configs_load_and_ncps_ncp_config_is_broken() -> None:
    nw = _ncps()
    for theirs in (nw.FullyConnected(6, 2, erev_init_seed=4), nw.Random(6, 2, 0.5, 9),
                   nw.AutoNCP(12, 3, 0.5, 7)):
        theirs.build(3)
        ours = deserialize_wiring({"class": type(theirs).__name__,
                                   "config": theirs.get_config()})
        ours.build(3)
        _same(ours, theirs)
    base = nw.Wiring(4)
    base.set_output_dim(1)
    base.add_synapse(0, 3, -1)
    base.build(2)
    base.add_sensory_synapse(1, 2, 1)
    _same(Wiring.from_config(base.get_config()), base)
    ncp = nw.NCP(5, 4, 2, 3, 2, 4, 2, seed=8)  # ncps's NCP config: id lists and seed None
    with pytest.raises(Exception):  # noqa: B017 - whatever ncps raises
        nw.NCP.from_config(ncp.get_config())
    ours = NCP(5, 4, 2, 3, 2, 4, 2, seed=8)
    assert NCP.from_config(ours.get_config()).get_config() == ours.get_config()


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "match"), [
    (lambda: AutoNCP(5, 3), r"output_size=3 .* units - 2 = 3"),
    (lambda: AutoNCP(20, 4, sparsity_level=0.05), r"\[0.1, 0.9\], got 0.05"),
    (lambda: AutoNCP(20, 4, sparsity_level=0.95), r"\[0.1, 0.9\], got 0.95"),
    (lambda: AutoNCP(20, 0), r"output_size must be an int >= 1, got 0"),
    (lambda: NCP(4, 3, 2, 5, 2, 1, 2), r"sensory_fanout=5 is more than the 4 inter"),
    (lambda: NCP(4, 3, 2, 2, 4, 1, 2), r"inter_fanout=4 is more than the 3 command"),
    (lambda: NCP(4, 3, 2, 2, 2, 1, 4), r"motor_fanin=4 is more than the 3 command"),
    (lambda: NCP(4, 3, 2, 2, 2, -1, 2), r"recurrent_command_synapses must be an int >= 0"),
    (lambda: NCP(4, 3, 2, -1, 2, 1, 2), r"sensory_fanout must be an int >= 0, got -1"),
    (lambda: NCP(0, 3, 2, 2, 2, 1, 2), r"inter_neurons must be an int >= 1, got 0"),
    (lambda: NCP(4, 3, 2, 2, 2, 1, 2, seed=-1), r"seed must be an int in \[0, 2\*\*32\)"),
    (lambda: Random(5, sparsity_level=1.0), r"\[0, 1\), got 1.0"),
    (lambda: FullyConnected(5, output_dim=6), r"output_dim=6 is more than the 5 units"),
    (lambda: FullyConnected(2.5), r"units must be an int >= 1, got 2.5"),
])
def test_bad_arguments_are_config_errors_naming_the_value(make, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make()


def test_bad_uses_are_config_errors() -> None:
    w = FullyConnected(4)
    with pytest.raises(ConfigError, match=r"src=4 is not in \[0, 4\)"):
        w.add_synapse(4, 0, 1)
    with pytest.raises(ConfigError, match=r"polarity must be -1 or \+1, got 0"):
        w.add_synapse(0, 0, 0)
    with pytest.raises(ConfigError, match="not built"):
        w.add_sensory_synapse(0, 0, 1)
    with pytest.raises(ConfigError, match="not built"):
        _ = w.sensory_synapse_count
    w.build(2)
    with pytest.raises(ConfigError, match="built for input_dim=2, not 3"):
        w.build(3)
    with pytest.raises(ConfigError, match=r"layer_id=1 is not in \[0, 1\)"):
        w.get_neurons_of_layer(1)
    with pytest.raises(ConfigError, match=r"neuron_id=-1"):
        w.get_type_of_neuron(-1)
    with pytest.raises(ConfigError, match=r"unknown keys \['colour'\]"):
        FullyConnected.from_config({"units": 3, "colour": "red"})
    with pytest.raises(ConfigError, match=r"no \['inter_neurons'"):
        NCP.from_config({"seed": 1})
    with pytest.raises(ConfigError, match=r"3 x 3 matrix of -1, 0 and \+1"):
        Wiring.from_config({"units": 3, "adjacency_matrix": [[0, 2, 0]] * 3})
    with pytest.raises(ConfigError, match="unknown wiring class 'Grid'"):
        deserialize_wiring({"class": "Grid", "config": {}})
    with pytest.raises(ConfigError, match="unknown layout 'grid'"):
        w.draw_graph(layout="grid")


# -- pictures --------------------------------------------------------------------------------
def test_draw_graph_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("networkx")
    pytest.importorskip("matplotlib")
    w = AutoNCP(12, 2, seed=3)
    w.build(3)
    graph = w.get_graph()
    assert graph.number_of_edges() == w.synapse_count + w.sensory_synapse_count
    assert graph.number_of_nodes() == 15
    assert w.get_graph(include_sensory_neurons=False).number_of_nodes() == 12
    inhibitory = sum(d["polarity"] == "inhibitory" for *_, d in graph.edges(data=True))
    assert inhibitory == int((np.array(w.adjacency_matrix) < 0).sum()
                             + (np.array(w.sensory_adjacency_matrix) < 0).sum())
    out = draw_graph(w, tmp_path / "ncp.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    handles = w.draw_graph(layout="shell", path=tmp_path / "shell.png")
    assert [h.get_label() for h in handles] == [
        "Sensory neurons", "Inter neurons", "Command neurons", "Motor neurons",
        "Excitatory synapses", "Inhibitory synapses"]
    assert [h.get_linestyle() for h in handles[-2:]] == ["-", "--"]
    assert (tmp_path / "shell.png").stat().st_size > 5000


def test_exports() -> None:
    assert ember_nn.AutoNCP is AutoNCP and ember_nn.wirings.Random is Random
    assert {"Wiring", "FullyConnected", "NCP", "AutoNCP", "wirings"} <= set(ember_nn.__all__)


@pytest.mark.parametrize("module", [_wiring, _fully_connected, _random, _ncp, _draw,
                                    ember_nn.wirings])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, extraglobs=vars(ember_nn.wirings))
    assert result.failed == 0
