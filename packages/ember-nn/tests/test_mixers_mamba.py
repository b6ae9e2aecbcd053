"""Mamba and its selective scan, on every backend: the associative-scan selective scan against
a sequential NumPy loop and against MAD-Lab's ``selective_scan_ref`` (its math written here in
torch: the file imports a CUDA extension at the top); the whole layer against a torch reference
written from MAD-Lab's slow path (the non-CUDA branch of ``Mamba.forward``) with the same
weights, values and gradients; step == forward, causality, the same numbers on every backend,
finite differences, config round trip, errors, docstrings, a loss that falls.

The generic mixer checks are in mixer_support.py."""

from __future__ import annotations

import doctest
import math
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.mixers.sequence import Mamba, _mamba, _selective_scan
from ember_nn.mixers.sequence._selective_scan import selective_scan, selective_step
from mixer_support import (
    TOLERANCE,
    as_np,
    check_causal,
    check_finite_differences,
    check_loss_falls,
    check_round_trip,
    check_same_as_numpy,
    check_step,
    has_float64,
    precision,
    randn,
)

RNG = np.random.default_rng(14)


# -- the selective scan ------------------------------------------------------------------------
def scan_inputs(b: int = 2, L: int = 9, d: int = 3, n: int = 4) -> dict[str, np.ndarray]:
    return {"x": randn(b, L, d), "dt": np.log1p(np.exp(randn(b, L, d))).astype(np.float32),
            "A": -np.exp(randn(d, n) * 0.5).astype(np.float32), "B": randn(b, L, n),
            "C": randn(b, L, n), "D": randn(d), "z": randn(b, L, d), "h0": randn(b, d, n)}


def numpy_scan(x: np.ndarray, dt: np.ndarray, A: np.ndarray, B: np.ndarray, C: np.ndarray,
               D: np.ndarray | None, z: np.ndarray | None, h0: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The recurrence one position at a time, in float64."""
    x, dt, A, B, C = (np.asarray(a, np.float64) for a in (x, dt, A, B, C))
    D, z = (None if a is None else np.asarray(a, np.float64) for a in (D, z))
    b, L, d = x.shape
    h = np.zeros((b, d, A.shape[1])) if h0 is None else np.asarray(h0, np.float64)
    ys = np.zeros((b, L, d))
    for t in range(L):
        h = np.exp(dt[:, t, :, None] * A) * h + dt[:, t, :, None] * B[:, t, None, :] * \
            x[:, t, :, None]
        ys[:, t] = (h * C[:, t, None, :]).sum(-1)
    if D is not None:
        ys = ys + x * D
    if z is not None:
        ys = ys * z / (1 + np.exp(-z))
    return ys, h


@pytest.mark.parametrize("length", [1, 2, 7, 16])
@pytest.mark.parametrize("extras", [False, True])
@pytest.mark.parametrize("prec", ["float32", "float64"])
def test_selective_scan_matches_a_sequential_loop(backend: str, length: int, extras: bool,
                                                  prec: str) -> None:
    dtype, (rtol, atol) = precision(backend, prec), TOLERANCE[prec]
    a = scan_inputs(L=length)
    kw = {k: a[k] if extras else None for k in ("D", "z", "h0")}
    want, h_last = numpy_scan(a["x"], a["dt"], a["A"], a["B"], a["C"], **kw)
    e = {k: ember.asarray(v, dtype=dtype) for k, v in a.items()}
    y, h = selective_scan(e["x"], e["dt"], e["A"], e["B"], e["C"],
                          e["D"] if extras else None, e["z"] if extras else None,
                          initial_state=e["h0"] if extras else None, return_state=True)
    np.testing.assert_allclose(as_np(y), want, rtol=rtol, atol=atol)
    np.testing.assert_allclose(as_np(h), h_last, rtol=rtol, atol=atol)
    # one position at a time through selective_step
    h = e["h0"] if extras else ember.zeros(a["h0"].shape, dtype=dtype)
    for t in range(length):
        y_t, h = selective_step(h, e["x"][:, t], e["dt"][:, t], e["A"], e["B"][:, t],
                                e["C"][:, t], e["D"] if extras else None,
                                e["z"][:, t] if extras else None)
        np.testing.assert_allclose(as_np(y_t), want[:, t], rtol=rtol, atol=atol)


def selective_scan_ref(u: Any, delta: Any, A: Any, B: Any, C: Any, D: Any = None,
                       z: Any = None, delta_bias: Any = None,
                       delta_softplus: bool = False) -> Any:
    """MAD-Lab's ``selective_scan_ref`` (mad/model/layers/ops/mamba_ssm/
    selective_scan_interface.py, from state-spaces/mamba) for real A and (batch, d_state, L)
    B and C, in its (batch, d_inner, L) layout, with torch.einsum for its einops calls."""
    import torch
    import torch.nn.functional as F

    if delta_bias is not None:
        delta = delta + delta_bias[..., None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, dstate = u.shape[0], A.shape[0], A.shape[1]
    x = A.new_zeros((batch, dim, dstate))
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    ys = []
    for i in range(u.shape[2]):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", x, C[:, :, i]))
    y = torch.stack(ys, dim=2)
    out = y if D is None else y + u * D[:, None]
    return out if z is None else out * F.silu(z)


@pytest.mark.parametrize("prec", ["float32", "float64"])
def test_selective_scan_matches_mad_labs_selective_scan_ref(backend: str, prec: str) -> None:
    torch = pytest.importorskip("torch")
    dtype, (rtol, atol) = precision(backend, prec), TOLERANCE[prec]
    a = scan_inputs(L=11)
    raw_dt, bias = randn(2, 11, 3), randn(3)
    t = {k: torch.tensor(v, dtype=torch.float64) for k, v in a.items()}
    want = selective_scan_ref(t["x"].transpose(1, 2), torch.tensor(raw_dt).double().transpose(
        1, 2), t["A"], t["B"].transpose(1, 2), t["C"].transpose(1, 2), t["D"],
        t["z"].transpose(1, 2), torch.tensor(bias).double(), True).transpose(1, 2)
    dt = ember.nn.softplus(ember.asarray(raw_dt, dtype=dtype) + ember.asarray(bias, dtype=dtype))
    e = {k: ember.asarray(v, dtype=dtype) for k, v in a.items()}
    y = selective_scan(e["x"], dt, e["A"], e["B"], e["C"], e["D"], e["z"])
    np.testing.assert_allclose(as_np(y), want.numpy(), rtol=rtol, atol=atol)


def test_selective_scan_checks_its_shapes(backend: str) -> None:
    a = {k: ember.asarray(v) for k, v in scan_inputs().items()}
    with pytest.raises(ember.ShapeError, match="dt"):
        selective_scan(a["x"], a["dt"][:, :3], a["A"], a["B"], a["C"])
    with pytest.raises(ember.ShapeError, match="A"):
        selective_scan(a["x"], a["dt"], a["A"][:2], a["B"], a["C"])
    with pytest.raises(ember.ShapeError, match="B"):
        selective_scan(a["x"], a["dt"], a["A"], a["B"][..., :2], a["C"])
    with pytest.raises(ember.ShapeError, match="initial_state"):
        selective_scan(a["x"], a["dt"], a["A"], a["B"], a["C"], initial_state=a["h0"][0])


# -- the layer against MAD-Lab's slow path -----------------------------------------------------
def torch_mamba(m: Mamba, torch: Any) -> Any:
    """MAD-Lab's Mamba with its fused paths off (no causal_conv1d, no CUDA scan) written as a
    torch module, holding ``m``'s weights in float64."""
    nn, F = torch.nn, torch.nn.functional

    class Ref(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            di, dim, r, n, k = m.d_inner, m.dim, m.dt_rank, m.d_state, m.d_conv
            self.in_proj = nn.Linear(dim, 2 * di, bias=m.in_proj.bias is not None)
            self.conv1d = nn.Conv1d(di, di, k, groups=di, padding=k - 1,
                                    bias=m.conv1d_bias is not None)
            self.x_proj = nn.Linear(di, r + 2 * n, bias=False)
            self.dt_proj = nn.Linear(r, di)
            self.A_log = nn.Parameter(torch.zeros(di, n))
            self.D = nn.Parameter(torch.zeros(di))
            self.out_proj = nn.Linear(di, dim, bias=m.out_proj.bias is not None)

        def forward(self, hidden: Any) -> Any:  # MAD-Lab's Mamba.forward, the slow branch
            _, seqlen, _ = hidden.shape
            xz = (self.in_proj.weight @ hidden.reshape(-1, hidden.shape[-1]).t())
            xz = xz.reshape(xz.shape[0], -1, seqlen).transpose(0, 1)  # "d (b l) -> b d l"
            if self.in_proj.bias is not None:
                xz = xz + self.in_proj.bias[:, None]
            A = -torch.exp(self.A_log)
            x, z = xz.chunk(2, dim=1)
            x = F.silu(self.conv1d(x)[..., :seqlen])
            x_dbl = self.x_proj(x.transpose(1, 2).reshape(-1, x.shape[1]))  # "(b l) d"
            dt, B, C = torch.split(x_dbl, [m.dt_rank, m.d_state, m.d_state], dim=-1)
            dt = (self.dt_proj.weight @ dt.t()).reshape(-1, dt.shape[0] // seqlen, seqlen)
            dt = dt.transpose(0, 1)  # "d (b l) -> b d l"
            B = B.reshape(-1, seqlen, m.d_state).transpose(1, 2)
            C = C.reshape(-1, seqlen, m.d_state).transpose(1, 2)
            y = selective_scan_ref(x, dt, A, B, C, self.D, z=z, delta_bias=self.dt_proj.bias,
                                   delta_softplus=True)
            return self.out_proj(y.transpose(1, 2))

    ref = Ref().double()
    w = {k: torch.tensor(v.numpy(), dtype=torch.float64) for k, v in m.state_dict().items()}
    with torch.no_grad():
        for name in ("in_proj", "x_proj", "dt_proj", "out_proj"):
            getattr(ref, name).weight.copy_(w[f"{name}.weight"].t())
            if f"{name}.bias" in w:
                getattr(ref, name).bias.copy_(w[f"{name}.bias"])
        ref.conv1d.weight.copy_(w["conv1d_weight"].permute(0, 2, 1))
        if "conv1d_bias" in w:
            ref.conv1d.bias.copy_(w["conv1d_bias"])
        ref.A_log.copy_(w["A_log"])
        ref.D.copy_(w["D"])
    return ref


def torch_grad_names(name: str) -> str:
    return {"conv1d.weight": "conv1d_weight", "conv1d.bias": "conv1d_bias"}.get(name, name)


@pytest.mark.parametrize("kw", [{}, {"bias": True, "conv_bias": False, "d_conv": 3,
                                     "dt_rank": 3, "expand": 1, "dt_init": "constant"}])
@pytest.mark.parametrize("prec", ["float32", "float64"])
def test_matches_mad_labs_slow_path_forward_and_gradients(backend: str, kw: dict,
                                                          prec: str) -> None:
    torch = pytest.importorskip("torch")
    dtype, (rtol, atol) = precision(backend, prec), TOLERANCE[prec]
    m = Mamba(6, d_state=3, dtype=dtype, key=2, **kw)
    if m.in_proj.bias is not None:  # non-zero biases, so that they are checked
        m.in_proj.bias.assign(ember.asarray(randn(2 * m.d_inner), dtype=dtype))
    ref = torch_mamba(m, torch)
    x, g = randn(2, 7, 6), randn(2, 7, 6)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    want = ref(xt)
    (want * torch.tensor(g, dtype=torch.float64)).sum().backward()
    xe = ember.asarray(x, dtype=dtype)
    with ember.GradientTape() as tape:
        tape.watch(xe)
        out = m(xe)
        loss = ember.sum(out * ember.asarray(g, dtype=dtype))
    grads = tape.gradient(loss, [xe, *m.trainable_variables])
    np.testing.assert_allclose(as_np(out), want.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(as_np(grads[0]), xt.grad.numpy(), rtol=rtol, atol=atol)
    theirs = {torch_grad_names(k): p.grad.numpy() for k, p in ref.named_parameters()}
    ours = dict(zip(m.named_trainable_variables(), grads[1:], strict=True))
    assert sorted(ours) == sorted(theirs)
    for name, gr in ours.items():
        t = theirs[name]
        if name == "conv1d_weight":
            t = t.transpose(0, 2, 1)
        elif t.ndim == 2 and name.endswith(".weight"):
            t = t.T
        np.testing.assert_allclose(as_np(gr), t, rtol=rtol, atol=atol, err_msg=name)


# -- the mixer checks --------------------------------------------------------------------------
def small(**kw: Any) -> Mamba:
    return Mamba(6, d_state=3, key=4, **kw)


def test_step_equals_forward(backend: str) -> None:
    x = randn(2, 9, 6)
    check_step(small(), x)
    check_step(small(d_conv=1, conv_bias=False, bias=True), x)


def test_is_causal(backend: str) -> None:
    assert Mamba.causal and small().has_step
    check_causal(small(), randn(2, 9, 6), 4)


def test_same_outputs_on_every_backend(backend: str) -> None:
    check_same_as_numpy(small, randn(2, 9, 6))


def test_gradients_match_finite_differences(backend: str) -> None:
    if not has_float64(backend):
        pytest.skip(f"{backend} has no float64 on its default device; the torch comparison "
                    f"checks its gradients")
    layer = Mamba(3, d_state=2, d_conv=2, expand=1, bias=True, dtype=ember.float64, key=1)
    check_finite_differences(layer, randn(1, 5, 3))


def test_config_round_trip(backend: str) -> None:
    layer = Mamba(5, d_state=2, d_conv=3, dt_rank=2, dt_min=0.01, dt_init="constant", key=3)
    check_round_trip(layer, randn(2, 4, 5))
    assert Mamba(5, key=0).get_config()["dt_rank"] == "auto"


def test_init_is_mambas(backend: str) -> None:
    m = Mamba(32, d_state=5, key=0)
    assert (m.d_inner, m.dt_rank) == (64, 2)
    np.testing.assert_allclose(np.exp(as_np(m.A_log)), np.tile(np.arange(1, 6), (64, 1)),
                               rtol=1e-6)
    assert as_np(m.D).tolist() == [1.0] * 64
    dt = np.log1p(np.exp(as_np(m.dt_proj.bias)))  # softplus(bias) is the initial step
    assert dt.min() >= 0.001 * (1 - 1e-5) and dt.max() <= 0.1 * (1 + 1e-5)
    assert np.abs(as_np(m.dt_proj.weight)).max() <= 2 ** -0.5
    c = Mamba(32, dt_init="constant", dt_scale=2.0, key=0)
    np.testing.assert_allclose(as_np(c.dt_proj.weight), 2 / math.sqrt(2), rtol=1e-6)
    assert np.abs(as_np(m.in_proj.weight)).max() <= 1 / math.sqrt(32)
    assert m.in_proj.bias is None and m.out_proj.bias is None
    floored = Mamba(4, dt_min=1e-6, dt_max=1e-6, dt_init_floor=1e-3, key=0)
    np.testing.assert_allclose(np.log1p(np.exp(as_np(floored.dt_proj.bias))), 1e-3, rtol=1e-4)
    same = Mamba(32, d_state=5, key=0)
    for (k, v), w in zip(m.state_dict().items(), same.state_dict().values(), strict=True):
        np.testing.assert_array_equal(as_np(v), as_np(w), err_msg=k)


def test_loss_falls(backend: str) -> None:
    x = randn(4, 8, 6)
    target = np.concatenate([np.zeros((4, 1, 6), np.float32), x[:, :-1]], axis=1)  # recall t-1
    check_loss_falls(small(), x, target)


@pytest.mark.parametrize("kw, match", [
    ({"dim": 0}, "dim"), ({"d_state": 0}, "d_state"), ({"d_conv": 1.5}, "d_conv"),
    ({"expand": 0}, "expand"), ({"dt_rank": "big"}, "dt_rank"), ({"dt_rank": 0}, "dt_rank"),
    ({"dt_min": 0}, "dt_min"), ({"dt_min": 0.5, "dt_max": 0.1}, "dt_min"),
    ({"dt_init": "zeros"}, "dt_init"), ({"dt_scale": -1}, "dt_scale"),
    ({"dt_init_floor": -1}, "dt_init_floor"), ({"conv_bias": 1}, "conv_bias"),
    ({"bias": "no"}, "bias"), ({"unknown": 1}, "unknown")])
def test_bad_arguments_raise_config_errors(kw: dict, match: str) -> None:
    args = {"dim": 4, **kw}
    with pytest.raises(ConfigError, match=match):
        Mamba(**args)


def test_bad_inputs_raise(backend: str) -> None:
    m = small()
    with pytest.raises(ember.ShapeError, match=r"\(batch, length, 6\)"):
        m(ember.ones((2, 6)))
    with pytest.raises(ember.ShapeError, match=r"\(batch, length, 6\)"):
        m(ember.ones((2, 3, 5)))
    with pytest.raises(ember.DTypeError, match="floating"):
        m(ember.ones((2, 3, 6), dtype=ember.int32))
    with pytest.raises(ember.ShapeError, match="one position"):
        m.step(ember.ones((2, 3, 6)), m.init_state(2))
    with pytest.raises(ember.ShapeError, match="init_state"):
        m.step(ember.ones((3, 6)), m.init_state(2))
    with pytest.raises(ConfigError, match="batch"):
        m.init_state(0)


def test_empty_sequences_give_empty_outputs(backend: str) -> None:
    assert small()(ember.ones((2, 0, 6))).shape == (2, 0, 6)


def test_float64_layer_keeps_its_dtype(backend: str) -> None:
    if not has_float64(backend):
        pytest.skip(f"{backend} has no float64 on its default device")
    m = Mamba(4, dtype=ember.float64, key=0)
    assert all(v.dtype is ember.float64 for v in m.variables)
    assert m(ember.ones((1, 3, 4), dtype=ember.float64)).dtype is ember.float64
    assert all(s.dtype is ember.float64 for s in m.init_state(1))


@pytest.mark.parametrize("module", [_mamba, _selective_scan])
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_exported() -> None:
    assert ember_nn.mixers.sequence.Mamba is Mamba
