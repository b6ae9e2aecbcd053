"""CfC and LTC against ncps 1.0.1 (torch), on every backend: ncps modules built from seeds,
converted with ``ember_nn.from_ncps``, give the same outputs, final states and gradients (with
respect to the inputs and every weight) to 1e-5 in float32: every CfC mode, plain and wired,
mixed memory, projection; LTC with fully connected and NCP wirings and each mapping; with and
without timespans.

ncps's own batched timespans are broken (ncps issues #81, #82, #83: ``timespans[:, t].squeeze()``
broadcasts a (batch,) vector against (batch, units)); where timespans are batched, the reference
is ncps run one sample at a time (its batch-of-one path squeezes to a scalar and is right)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from liquid_support import assert_same, ember_run, torch_run, torch_run_per_sample

torch = pytest.importorskip("torch")
nt = pytest.importorskip("ncps.torch")
nw = pytest.importorskip("ncps.wirings")

B, L, C = 3, 4, 3  # batch, steps, input features (small: CI runs this once per backend)

CFC: dict[str, Callable[[], Any]] = {
    "default": lambda: nt.CfC(C, 5, backbone_units=6),
    "no_gate": lambda: nt.CfC(C, 5, mode="no_gate", backbone_units=6),
    "pure": lambda: nt.CfC(C, 5, mode="pure", backbone_units=6),
    "two-layer-silu": lambda: nt.CfC(C, 5, activation="silu", backbone_units=6,
                                     backbone_layers=2),
    "relu-tanh-gelu": lambda: nt.CfC(C, 4, activation="gelu", backbone_units=5,
                                     backbone_layers=3),
    "no-backbone": lambda: nt.CfC(C, 5, backbone_layers=0),
    "mixed-proj": lambda: nt.CfC(C, 5, proj_size=2, mixed_memory=True, backbone_units=6),
    "time-first-last": lambda: nt.CfC(C, 5, batch_first=False, return_sequences=False,
                                      backbone_units=6, mode="no_gate"),
    "wired-default": lambda: nt.CfC(C, nw.AutoNCP(8, 2, seed=3)),
    "wired-no_gate-mixed": lambda: nt.CfC(C, nw.AutoNCP(8, 2, seed=4), mode="no_gate",
                                          mixed_memory=True),
    "wired-pure-proj": lambda: nt.CfC(C, nw.NCP(3, 3, 2, 2, 2, 2, 2, seed=5), mode="pure",
                                      proj_size=3),
}
LTC: dict[str, Callable[[], Any]] = {
    "fc-affine": lambda: nt.LTC(C, 4, ode_unfolds=3),
    "fc-linear-none": lambda: nt.LTC(C, 4, input_mapping="linear", output_mapping="none",
                                     ode_unfolds=2),
    "fc-none-linear-explicit": lambda: nt.LTC(C, nw.FullyConnected(5, 2), input_mapping="none",
                                              output_mapping="linear",
                                              implicit_param_constraints=False, ode_unfolds=2),
    "ncp-mixed": lambda: nt.LTC(C, nw.AutoNCP(7, 2, seed=2), mixed_memory=True, ode_unfolds=3),
    "ncp-time-first": lambda: nt.LTC(C, nw.NCP(3, 2, 2, 2, 2, 1, 2, seed=6), batch_first=False,
                                     return_sequences=False, ode_unfolds=2),
    "random": lambda: nt.LTC(C, nw.Random(5, 3, sparsity_level=0.5, random_seed=7),
                             ode_unfolds=2),
}
CASES = {**{f"cfc-{k}": v for k, v in CFC.items()}, **{f"ltc-{k}": v for k, v in LTC.items()}}


def build(name: str) -> Any:
    torch.manual_seed(sum(map(ord, name)))
    module = CASES[name]()
    with torch.no_grad():  # ncps starts erev/output maps at wiring values/ones/zeros: perturb
        for p in module.parameters():
            if p.requires_grad and p.ndim == 1:
                p.add_(0.1 * torch.randn_like(p))
    return module


def inputs(module: Any, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (B, L, C) if module.batch_first else (L, B, C)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("name", sorted(CASES))
def test_without_timespans(backend: str, name: str) -> None:
    module = build(name)
    x = inputs(module)
    assert_same(ember_run(ember_nn.from_ncps(module), x), torch_run(module, x))


@pytest.mark.parametrize("name", sorted(CASES))
def test_timespans_per_sample_and_step(backend: str, name: str) -> None:
    module = build(name)
    x = inputs(module, 1)
    ts = np.random.default_rng(2).uniform(0.2, 2.0, x.shape[:2]).astype(np.float32)
    want = torch_run_per_sample(module, x, ts, module.batch_first)
    got = ember_run(ember_nn.from_ncps(module), x, ts)
    assert_same(got, want)


@pytest.mark.parametrize("name", ["cfc-default", "cfc-pure", "cfc-wired-default",
                                  "ltc-ncp-mixed", "ltc-fc-affine"])
def test_timespans_per_sample_with_initial_state(backend: str, name: str) -> None:
    module = build(name)
    x = inputs(module, 3)
    rng = np.random.default_rng(4)
    ts = rng.uniform(0.2, 2.0, (B,)).astype(np.float32)
    shape = (B, module.state_size)
    hx: Any = rng.standard_normal(shape).astype(np.float32)
    if module.use_mixed:
        hx = (hx, rng.standard_normal(shape).astype(np.float32))
    want = torch_run_per_sample(module, x, ts, module.batch_first, hx=hx)
    model = ember_nn.from_ncps(module)
    assert_same(ember_run(model, x, ts, hx=hx), want)
    # (batch, steps, 1) and a per-sample span broadcast over steps give the same numbers
    ts3 = np.broadcast_to(ts[:, None, None], (B, L, 1)).copy()
    assert_same(ember_run(model, x, ts3, hx=hx), want)


@pytest.mark.parametrize("name", ["cfc-default", "ltc-fc-affine", "cfc-mixed-proj"])
def test_scalar_timespans_and_unbatched_input(backend: str, name: str) -> None:
    module = build(name)
    x = inputs(module, 5)
    ts = np.full((B, L), 0.5, np.float32)
    assert_same(ember_run(ember_nn.from_ncps(module), x, 0.5), torch_run_per_sample(
        module, x, ts, module.batch_first))
    # one unbatched sequence with a span per step: ncps's path works there
    x1 = x[0]
    ts1 = np.random.default_rng(6).uniform(0.2, 2.0, (L,)).astype(np.float32)
    assert_same(ember_run(ember_nn.from_ncps(module), x1, ts1), torch_run(module, x1, ts1))


def test_ncps_batched_timespans_are_wrong_where_ours_match_the_per_sample_loop(
        backend: str) -> None:
    """With batch == units ncps's batched path runs but mixes samples and units (#83)."""
    torch.manual_seed(0)
    module = nt.CfC(C, 5, backbone_units=6)
    x = np.random.default_rng(0).standard_normal((5, L, C)).astype(np.float32)
    ts = np.random.default_rng(1).uniform(0.2, 2.0, (5, L)).astype(np.float32)
    per_sample = torch_run_per_sample(module, x, ts)
    batched = torch_run(module, x, ts)
    assert not np.allclose(batched["y"], per_sample["y"], atol=1e-3)  # ncps's bug is there
    assert_same(ember_run(ember_nn.from_ncps(module), x, ts), per_sample)


def test_cells_convert(backend: str) -> None:
    """ncps's cells (CfCCell, with a backbone and a mask of its heads too, WiredCfCCell,
    LTCCell) convert and step to ncps's numbers."""
    torch.manual_seed(1)
    wiring = nw.AutoNCP(8, 2, seed=1)
    mask = np.random.default_rng(2).choice([-1, 0, 1], (5, 4))  # (backbone_units, hidden)
    cells = [nt.CfCCell(C, 4, backbone_units=5), nt.CfCCell(C, 4, mode="pure"),
             nt.CfCCell(C, 4, backbone_units=5, sparsity_mask=mask),
             nt.WiredCfCCell(C, wiring), nt.LTCCell(nw.FullyConnected(4), C)]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, C)).astype(np.float32)
    ts = rng.uniform(0.5, 1.5, (B,)).astype(np.float32)
    for cell in cells:
        state_size = cell.state_size if hasattr(cell, "state_size") else cell.hidden_size
        h = rng.standard_normal((B, state_size)).astype(np.float32)
        mine = ember_nn.from_ncps(cell)
        for b in range(B):  # ncps's cells take one span for the whole batch
            want_out, want_h = cell(torch.tensor(x[b:b + 1]), torch.tensor(h[b:b + 1]),
                                    float(ts[b]))
            got_out, (got_h,) = mine.step(ember.tensor(x[b:b + 1]), ember.tensor(h[b:b + 1]),
                                          timespan=float(ts[b]))
            np.testing.assert_allclose(got_out.numpy(), want_out.detach().numpy(), rtol=1e-5,
                                       atol=1e-5)
            np.testing.assert_allclose(got_h.numpy(), want_h.detach().numpy(), rtol=1e-5,
                                       atol=1e-5)
        # batched spans in one step: each row as its own one-sample step
        got_out, _ = mine.step(ember.tensor(x), ember.tensor(h), timespan=ember.tensor(ts))
        rows = [mine.step(ember.tensor(x[b:b + 1]), ember.tensor(h[b:b + 1]),
                          timespan=float(ts[b]))[0].numpy() for b in range(B)]
        np.testing.assert_allclose(got_out.numpy(), np.concatenate(rows), rtol=1e-6, atol=1e-6)


def test_wirings_convert_with_their_matrices(backend: str) -> None:
    """from_ncps's wiring: the same class, sizes and layers, and ncps's matrices as they are
    (synapses changed by hand included)."""
    from ember_nn.io._ncps import wiring_from_ncps

    plain = nw.Wiring(4)
    plain.add_synapse(0, 3, -1)
    plain.set_output_dim(2)
    cases = [nw.AutoNCP(10, 3, seed=4), nw.NCP(4, 3, 2, 2, 2, 2, 2, seed=8),
             nw.FullyConnected(5, 2), nw.Random(6, 2, 0.4), plain]
    for w in cases:
        w.build(3)
    cases[2].add_synapse(0, 1, -int(cases[2].adjacency_matrix[0, 1]))  # flipped by hand
    plain.add_sensory_synapse(2, 1, 1)
    for w in cases:
        mine = wiring_from_ncps(w)
        assert type(mine).__name__ == type(w).__name__
        assert (mine.units, mine.input_dim, mine.output_dim, mine.num_layers) == (
            w.units, w.input_dim, w.output_dim, w.num_layers)
        assert mine.adjacency_matrix == w.adjacency_matrix.tolist()
        assert mine.sensory_adjacency_matrix == w.sensory_adjacency_matrix.tolist()
        for i in range(w.num_layers):
            assert mine.get_neurons_of_layer(i) == list(w.get_neurons_of_layer(i))


def test_float64_modules_keep_their_dtype(backend: str) -> None:
    if ember.float64 not in ember.load_backend(backend).to_native_dtype:
        pytest.skip(f"{backend} has no float64")
    torch.manual_seed(3)
    module = nt.CfC(C, nw.AutoNCP(8, 2, seed=3), mixed_memory=True).double()
    mine = ember_nn.from_ncps(module)
    assert {v.dtype for v in mine.variables} == {ember.float64}
    x = np.random.default_rng(0).standard_normal((B, L, C))
    h0 = np.random.default_rng(1).standard_normal((2, B, 8))
    # (ncps's zero state is float32 whatever the module's dtype: pass one)
    want = module(torch.tensor(x), tuple(map(torch.tensor, h0)))[0].detach().numpy()
    got = mine(ember.tensor(x), tuple(map(ember.tensor, h0)))[0]
    assert got.dtype == ember.float64
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
