"""CfC and LTC on their own, on every backend: configs (JSON) and checkpoints round-trip every
model, timespans of every accepted form agree, ncps's initialisation ranges, weight
constraints, and a clear error of ember's types for each bad argument."""

from __future__ import annotations

import doctest
import importlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import LTC, CfC, CfCCell, ConfigError, LTCCell, WiredCfCCell
from ember_nn.io import load, save
from ember_nn.wirings import NCP, AutoNCP, FullyConnected, Random

C = 3
MODELS: dict[str, Callable[[], Any]] = {
    "cfc": lambda: CfC(C, 5, backbone_units=6, key=1),
    "cfc-pure-2layers": lambda: CfC(C, 4, mode="pure", backbone_units=5, backbone_layers=2,
                                    backbone_dropout=0.25, activation="silu", key=2),
    "cfc-mixed-proj-timefirst": lambda: CfC(C, 5, proj_size=2, mixed_memory=True,
                                            batch_first=False, mode="no_gate", key=3),
    "cfc-wired-autoncp": lambda: CfC(C, AutoNCP(8, 2, seed=3), key=4),
    "cfc-wired-ncp-last": lambda: CfC(C, NCP(3, 3, 2, 2, 2, 2, 2, seed=5), mode="pure",
                                      return_sequences=False, key=5),
    "ltc": lambda: LTC(C, 4, ode_unfolds=2, key=6),
    "ltc-autoncp-mixed": lambda: LTC(C, AutoNCP(7, 2, seed=2), mixed_memory=True,
                                     input_mapping="linear", output_mapping="none", key=7),
    "ltc-random-explicit": lambda: LTC(C, Random(5, 2, sparsity_level=0.5), ode_unfolds=3,
                                       implicit_param_constraints=False, key=8),
}
CELLS: dict[str, Callable[[], Any]] = {
    "cfc-cell": lambda: CfCCell(C, 4, backbone_units=5, key=0),
    "cfc-cell-masked": lambda: CfCCell(C, 2, mode="no_gate", backbone_layers=0,
                                       sparsity_mask=[[1, 0], [-1, 1], [0, 1], [1, 1], [1, 1]],
                                       key=1),
    "wired-cfc-cell": lambda: WiredCfCCell(C, AutoNCP(8, 2, seed=1), key=2),
    "ltc-cell": lambda: LTCCell(FullyConnected(4, 2), C, output_mapping="linear", key=3),
}


def _x(model: Any, batch: int = 2, steps: int = 4, seed: int = 0) -> ember.Tensor:
    shape = (batch, steps, C) if getattr(model, "batch_first", True) else (steps, batch, C)
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _spans(model: Any, batch: int = 2, steps: int = 4) -> ember.Tensor:
    shape = (batch, steps) if model.batch_first else (steps, batch)
    return ember.tensor(np.random.default_rng(9).uniform(0.2, 2, shape).astype(np.float32))


def _outputs(model: Any) -> list[np.ndarray]:
    y, h = model.eval()(_x(model), None, _spans(model))
    return [y.numpy()] + [s.numpy() for s in (h if isinstance(h, tuple) else (h,))]


# -- configs and checkpoints -------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_config_json_round_trip(backend: str, name: str) -> None:
    model = MODELS[name]()
    text = json.dumps(ember_nn.serialize(model))
    again = ember_nn.deserialize(json.loads(text))
    assert type(again) is type(model)
    assert ember_nn.serialize(again) == ember_nn.serialize(model)
    # the same key: the same weights; and a state dict loads into the rebuilt model
    assert {k: v.numpy().tolist() for k, v in again.state_dict().items()} == {
        k: v.numpy().tolist() for k, v in model.state_dict().items()}
    if model.wiring is not None:
        assert again.wiring.adjacency_matrix == model.wiring.adjacency_matrix
        assert again.wiring.sensory_adjacency_matrix == model.wiring.sensory_adjacency_matrix
    for a, b in zip(_outputs(again), _outputs(model), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_checkpoint_round_trip(backend: str, name: str, tmp_path: Path) -> None:
    model = MODELS[name]()
    for v in model.trainable_variables:  # not the initial values: a trained model
        v.assign(v + 0.01 * ember.random.normal(1, v.shape))
    want = _outputs(model)
    loaded = load(save(model, tmp_path / "ckpt"))
    assert type(loaded) is type(model)
    for a, b in zip(_outputs(loaded), want, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_configs_round_trip(backend: str, name: str) -> None:
    cell = CELLS[name]()
    again = ember_nn.deserialize(json.loads(json.dumps(ember_nn.serialize(cell))))
    x = _x(cell)[:, 0]
    h = ember.tensor(np.random.default_rng(1).standard_normal(
        (2, cell.state_size)).astype(np.float32))
    (ya, (ha,)), (yb, (hb,)) = again.step(x, h, timespan=0.7), cell.step(x, h, timespan=0.7)
    np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    np.testing.assert_array_equal(ha.numpy(), hb.numpy())


def test_same_key_same_weights_on_every_backend(backend: str) -> None:
    with ember.use_backend("numpy"):
        ref = CfC(C, AutoNCP(8, 2, seed=3), mixed_memory=True, key=4).state_dict()
    mine = CfC(C, AutoNCP(8, 2, seed=3), mixed_memory=True, key=4).state_dict()
    for k, v in ref.items():  # (the LSTM's recurrent weight is orthogonal: a QR through another
        # LAPACK, whose entries of unit-norm columns agree to a few 1e-7)
        np.testing.assert_allclose(mine[k].numpy(), v.numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg=k)


# -- timespans ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cfc", "cfc-mixed-proj-timefirst", "ltc"])
def test_every_form_of_timespans_agrees(backend: str, name: str) -> None:
    model = MODELS[name]()
    bf = model.batch_first
    x = _x(model, batch=3, steps=4)
    per_sample = np.array([0.5, 1.5, 2.0], np.float32)
    grid = np.broadcast_to(per_sample[:, None] if bf else per_sample[None, :],
                           (3, 4) if bf else (4, 3)).copy()
    want = model(x, None, ember.tensor(grid))[0].numpy()
    for ts in (per_sample, per_sample[:, None] if bf else per_sample[None, :], grid[..., None]):
        got = model(x, None, ember.tensor(ts))[0].numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=str(ts.shape))
    # None is one unit of time per step; a number is that span everywhere
    np.testing.assert_allclose(model(x)[0].numpy(), model(x, None, 1.0)[0].numpy(), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(model(x, None, 0.5)[0].numpy(),
                               model(x, None, ember.full((1, 1), 0.5))[0].numpy(), rtol=1e-6,
                               atol=1e-6)
    # each sample with its spans alone gives the batched numbers (no mixing across samples)
    axis = 0 if bf else 1
    for b in range(3):
        xb = ember.tensor(np.take(x.numpy(), [b], axis=axis))
        tb = ember.tensor(np.take(grid, [b], axis=axis))
        np.testing.assert_allclose(model(xb, None, tb)[0].numpy(),
                                   np.take(want, [b], axis=axis), rtol=1e-5, atol=1e-6)


def test_time_matters(backend: str) -> None:
    """Longer spans change a CfC's and an LTC's states (the spans are not ignored)."""
    for model in (MODELS["cfc"](), MODELS["ltc"]()):
        x = _x(model)
        a, b = model(x, None, 0.1)[1].numpy(), model(x, None, 3.0)[1].numpy()
        assert np.abs(a - b).max() > 1e-3


# -- initialisation and constraints ------------------------------------------------------------
def test_ltc_initialisation_is_ncps(backend: str) -> None:
    wiring = AutoNCP(12, 3, seed=1)
    cell = LTCCell(wiring, 4, key=0)
    ranges = {"gleak": (0.001, 1.0), "vleak": (-0.2, 0.2), "cm": (0.4, 0.6), "w": (0.001, 1.0),
              "sigma": (3, 8), "mu": (0.3, 0.8), "sensory_w": (0.001, 1.0),
              "sensory_sigma": (3, 8), "sensory_mu": (0.3, 0.8)}
    for k, (lo, hi) in ranges.items():
        v = getattr(cell, k).numpy()
        assert lo <= v.min() and v.max() < hi and v.std() > 0.05 * (hi - lo), k
    adj = np.array(wiring.adjacency_matrix, np.float32)
    sens = np.array(wiring.sensory_adjacency_matrix, np.float32)
    np.testing.assert_array_equal(cell.erev.numpy(), adj)
    np.testing.assert_array_equal(cell.sensory_erev.numpy(), sens)
    np.testing.assert_array_equal(cell.sparsity_mask.numpy(), np.abs(adj))
    np.testing.assert_array_equal(cell.sensory_sparsity_mask.numpy(), np.abs(sens))
    assert not cell.sparsity_mask.trainable and not cell.sensory_sparsity_mask.trainable
    np.testing.assert_array_equal(cell.input_w.numpy(), np.ones(4))
    np.testing.assert_array_equal(cell.output_b.numpy(), np.zeros(3))


def test_cfc_initialisation_is_ncps(backend: str) -> None:
    model = CfC(6, 32, mixed_memory=True, backbone_units=48, key=0)
    cell = model.rnn_cell
    w = cell.backbone[0].weight.numpy()
    bound = np.sqrt(6 / (6 + 32 + 48))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound  # Glorot-uniform
    b = cell.ff1.bias.numpy()
    assert np.abs(b).max() <= 1 / np.sqrt(48) and b.std() > 0.1 / np.sqrt(48)  # torch's bias
    lstm = model.lstm
    assert np.abs(lstm.input_map.bias.numpy()).max() <= 0.1
    r = lstm.recurrent_map.weight.numpy()  # orthogonal columns
    np.testing.assert_allclose(r.T @ r, np.eye(32), atol=1e-5)


def test_apply_weight_constraints_clips_at_zero(backend: str) -> None:
    model = LTC(C, 4, implicit_param_constraints=False, key=0)
    cell = model.rnn_cell
    before = {}
    for name in ("w", "sensory_w", "cm", "gleak", "vleak"):
        v = getattr(cell, name)
        v.assign(v - 0.5)
        before[name] = v.numpy()
    assert (before["w"] < 0).any() and (before["w"] > 0).any()
    model.apply_weight_constraints()
    for name in ("w", "sensory_w", "cm", "gleak"):
        np.testing.assert_array_equal(getattr(cell, name).numpy(),
                                      np.maximum(before[name], 0), err_msg=name)
    # vleak is not a positive parameter
    np.testing.assert_array_equal(cell.vleak.numpy(), before["vleak"])


# -- errors ------------------------------------------------------------------------------------
def _raises(kind: type[Exception], *words: str) -> Any:
    class _Check:
        def __enter__(self) -> None:
            self.ctx = pytest.raises(kind)
            self.info = self.ctx.__enter__()

        def __exit__(self, *exc: Any) -> bool:
            out = self.ctx.__exit__(*exc)
            text = str(self.info.value)
            for w in words:
                assert w in text, (w, text)
            return bool(out)

    return _Check()


def test_bad_arguments_raise_ember_errors_naming_the_values(backend: str) -> None:
    with _raises(ConfigError, "'fast'", "'default'", "'pure'", "'no_gate'"):
        CfC(C, 4, mode="fast")
    with _raises(ConfigError, "'swish'", "'lecun_tanh'"):
        CfC(C, 4, activation="swish")
    with _raises(ConfigError, "backbone_units", "AutoNCP"):
        CfC(C, AutoNCP(8, 2), backbone_units=16)
    with _raises(ConfigError, "units", "'8'"):
        CfC(C, "8")
    with _raises(ConfigError, "backbone_dropout", "1.5"):
        CfC(C, 4, backbone_dropout=1.5)
    with _raises(ConfigError, "input_mapping", "'scale'", "'affine'"):
        LTC(C, 4, input_mapping="scale")
    with _raises(ConfigError, "ode_unfolds", "0"):
        LTC(C, 4, ode_unfolds=0)
    with _raises(ember.ShapeError, "sparsity_mask", "(2, 2)", "(5, 2)"):
        CfCCell(C, 2, backbone_layers=0, sparsity_mask=[[1, 1], [1, 1]])
    with _raises(ember.ShapeError, "sparsity_mask", "(5, 2)", "backbone_units", "(6, 2)"):
        CfCCell(C, 2, backbone_units=6, sparsity_mask=np.ones((C + 2, 2)))


def test_wiring_not_built_and_built_for_another_size(backend: str) -> None:
    with _raises(ConfigError, "not built", "in_features"):
        LTCCell(FullyConnected(4))
    with _raises(ConfigError, "not built", "input_size"):
        WiredCfCCell(None, AutoNCP(8, 2))
    wiring = AutoNCP(8, 2)
    wiring.build(5)
    with _raises(ConfigError, "built for 5", "input_size=3"):
        CfC(3, wiring)
    with _raises(ConfigError, "built for 5", "input_size=3"):
        LTC(3, wiring)
    assert CfC(5, wiring, key=0).rnn_cell.input_size == 5  # the same size is fine


def test_bad_inputs_states_and_timespans(backend: str) -> None:
    model = CfC(C, 4, backbone_units=5, key=0)
    x = ember.ones((2, 5, C))
    with _raises(ember.ShapeError, "(2, 6)", "(2, 5, 3)", "(batch, steps)"):
        model(x, None, ember.ones((2, 6)))
    with _raises(ember.ShapeError, "(2, 5, 2)", "(2, 5, 3)"):
        model(x, None, ember.ones((2, 5, 2)))
    with _raises(ember.ShapeError, "(3,)"):
        model(x, None, ember.ones((3,)))
    with _raises(ember.ShapeError, "(2, 5, 4)", "input_size=3"):
        model(ember.ones((2, 5, 4)))
    with _raises(ember.ShapeError, "hx", "(2, 3)", "(2, 4)"):
        model(x, ember.zeros((2, 3)))
    with _raises(ember.ArgumentError, "mixed_memory=True", "(h0, c0)"):
        CfC(C, 4, mixed_memory=True, key=0)(x, ember.zeros((2, 4)))
    time_first = CfC(C, 4, batch_first=False, key=0)
    with _raises(ember.ShapeError, "(steps, batch)"):
        time_first(ember.ones((5, 2, C)), None, ember.ones((2, 5)))
    with _raises(ember.ShapeError, "timespan", "(2, 2)"):
        model.rnn_cell.step(ember.ones((2, C)), ember.zeros((2, 4)), timespan=ember.ones((2, 2)))


# -- the cells under ember_nn.RNN --------------------------------------------------------------
@pytest.mark.parametrize("name", ["cfc", "cfc-wired-autoncp", "ltc"])
def test_cells_under_the_rnn_driver_give_the_layers_numbers(backend: str, name: str) -> None:
    """``ember_nn.RNN(layer.rnn_cell)`` with timespans, lengths and an initial state gives what
    the layer gives (padded steps: the state kept, the output zero)."""
    model = MODELS[name]()
    x, ts = _x(model, batch=3, steps=5), _spans(model, batch=3, steps=5)
    h0 = ember.tensor(np.random.default_rng(2).standard_normal(
        (3, model.state_size)).astype(np.float32))
    rnn = ember_nn.RNN(model.rnn_cell, return_sequences=True, return_state=True)
    ys, (h,) = rnn(x, h0, timespans=ts)
    want_y, want_h = model(x, h0, ts)
    np.testing.assert_allclose(ys.numpy(), want_y.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(h.numpy(), want_h.numpy(), rtol=1e-6, atol=1e-6)
    lengths = [5, 3, 1]
    ys, (h,) = rnn(x, h0, timespans=ts, lengths=ember.tensor(lengths))
    for b, n in enumerate(lengths):
        yb, hb = model(x[b:b + 1, :n], h0[b:b + 1], ts[b:b + 1, :n])
        np.testing.assert_allclose(ys.numpy()[b, :n], yb.numpy()[0], rtol=1e-6, atol=1e-6)
        assert not ys.numpy()[b, n:].any()
        np.testing.assert_allclose(h.numpy()[b], hb.numpy()[0], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("module", ["_cfc", "_cfc_cell", "_wired_cfc", "_ltc"])
def test_docstring_examples_run(backend: str, module: str) -> None:
    mod = importlib.import_module(f"ember_nn.recurrent.{module}")
    result = doctest.testmod(mod, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.attempted > 0 and result.failed == 0


# -- compiled steps ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cfc-mixed-proj-timefirst", "cfc-wired-autoncp", "ltc"])
def test_compile_step_gives_the_eager_steps(backend: str, name: str) -> None:
    """One compiled program per training step (timespans included) with the eager losses and
    weights; MLX compiles in seconds, torch's inductor takes minutes on a CPU (nox -s slow)."""
    if backend == "torch" and not os.environ.get("EMBER_SLOW"):
        pytest.skip("inductor takes minutes per program on a CPU: runs in `nox -s slow`")
    runs = []
    for compiled in (False, True):
        model = MODELS[name]()
        x, ts = _x(model), _spans(model)
        opt = ember_nn.SGD(0.1)

        def loss(x: ember.Tensor, ts: ember.Tensor, model: Any = model) -> ember.Tensor:
            return ember.mean(model(x, None, ts)[0] ** 2)

        if compiled:
            step = ember_nn.compile_step(model, loss, opt)
            losses = [float(step(x, ts)) for _ in range(3)]
            if backend != "numpy":
                assert step.stats.fallback is None and step.stats.traces == 1
        else:
            grad = ember_nn.value_and_grad(model, loss)
            losses = []
            for _ in range(3):
                value, grads = grad(x, ts)
                opt.update(model, grads)
                losses.append(float(value))
        runs.append((losses, [v.numpy() for v in model.trainable_variables]))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5)
    for a, b in zip(runs[1][1], runs[0][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
