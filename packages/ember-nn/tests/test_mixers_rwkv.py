"""RWKV time mixing (v6 and v5) and channel mixing (v6 and v5), on every backend: the chunked
WKV recurrence against a NumPy loop (data-dependent and static decays, from tiny to extreme,
initial states, every chunk size); each layer against a torch reference written from MAD-Lab's
python code (mad/model/layers/rwkv/rwkv6.py, rwkv5.py) with the WKV of its CUDA kernels as a
loop, values and gradients; MAD-Lab's initial values; step == forward, causality, the same
numbers on every backend, finite differences, config round trip, errors, docstrings, a loss
that falls (the shared checks are in test_mixers_mamba.py)."""

from __future__ import annotations

import doctest
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.mixers.channel import RWKV5ChannelMix, RWKV6ChannelMix
from ember_nn.mixers.channel import _rwkv as _channel_rwkv
from ember_nn.mixers.sequence import RWKV5TimeMix, RWKV6TimeMix
from ember_nn.mixers.sequence import _rwkv as _time_rwkv
from ember_nn.mixers.sequence._rwkv import wkv, wkv_step
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

RNG = np.random.default_rng(6)


# -- WKV ---------------------------------------------------------------------------------------
def numpy_wkv(r: np.ndarray, k: np.ndarray, v: np.ndarray, log_w: np.ndarray, u: np.ndarray,
              state: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The recurrence one position at a time, as the wkv6 CUDA kernel runs it (float64)."""
    r, k, v, u = (np.asarray(a, np.float64) for a in (r, k, v, u))
    b, T, H, N = r.shape
    w = np.exp(np.broadcast_to(log_w, r.shape).astype(np.float64))
    S = np.zeros((b, H, N, N)) if state is None else state.astype(np.float64)
    y = np.zeros((b, T, H, N))
    for t in range(T):
        kv = k[:, t, :, :, None] * v[:, t, :, None, :]
        y[:, t] = np.einsum("bhi,bhij->bhj", r[:, t], S + u[None, :, :, None] * kv)
        S = w[:, t, :, :, None] * S + kv
    return y, S


def wkv_inputs(T: int, decay: str, b: int = 2, H: int = 2, N: int = 3) -> dict[str, Any]:
    shape = (b, T, H, N)
    log_w = {"mild": -np.exp(randn(*shape) - 2.0),  # w near 1
             "strong": -np.exp(randn(*shape) + 3.0),  # w down to exp(-e^6): underflows to 0
             "static": -np.exp(randn(H, N) - 1.0)}[decay]
    return {"r": randn(*shape), "k": randn(*shape), "v": randn(*shape),
            "log_w": log_w.astype(np.float32), "u": randn(H, N), "state": randn(b, H, N, N)}


@pytest.mark.parametrize("T, chunk", [(1, 16), (7, 16), (10, 3), (16, 4), (9, 1)])
@pytest.mark.parametrize("decay", ["mild", "strong", "static"])
@pytest.mark.parametrize("prec", ["float32", "float64"])
def test_wkv_matches_a_numpy_loop(backend: str, T: int, chunk: int, decay: str,
                                  prec: str) -> None:
    dtype, (rtol, atol) = precision(backend, prec), TOLERANCE[prec]
    a = wkv_inputs(T, decay)
    e = {k: ember.asarray(v, dtype=dtype) for k, v in a.items()}
    for with_state in (False, True):
        want, s_last = numpy_wkv(a["r"], a["k"], a["v"], a["log_w"], a["u"],
                                 a["state"] if with_state else None)
        y, s = wkv(e["r"], e["k"], e["v"], e["log_w"], e["u"], chunk_size=chunk,
                   state=e["state"] if with_state else None, return_state=True)
        assert np.isfinite(as_np(y)).all()
        np.testing.assert_allclose(as_np(y), want, rtol=rtol, atol=atol)
        np.testing.assert_allclose(as_np(s), s_last, rtol=rtol, atol=atol)
    S = e["state"]
    for t in range(T):
        lw = e["log_w"] if decay == "static" else e["log_w"][:, t]
        y_t, S = wkv_step(S, e["r"][:, t], e["k"][:, t], e["v"][:, t], lw, e["u"])
        np.testing.assert_allclose(as_np(y_t), want[:, t], rtol=rtol, atol=atol)


def test_wkv_gradients_are_finite_under_extreme_decays(backend: str) -> None:
    a = wkv_inputs(12, "strong")
    a["log_w"][:, 3] = -1e4  # w = 0 exactly at one position
    e = [ember.asarray(a[k]) for k in ("r", "k", "v", "log_w", "u")]
    with ember.GradientTape() as tape:
        for t in e:
            tape.watch(t)
        loss = ember.sum(wkv(*e, chunk_size=5) ** 2)
    for g in tape.gradient(loss, e):
        assert np.isfinite(as_np(g)).all()


# -- torch references written from MAD-Lab's layers --------------------------------------------
def torch_params(layer: Any, torch: Any) -> dict[str, Any]:
    return {k: torch.tensor(v.numpy(), dtype=torch.float64, requires_grad=True)
            for k, v in layer.state_dict().items()}


def torch_wkv(r: Any, k: Any, v: Any, w: Any, u: Any, H: int, torch: Any) -> Any:
    """The wkv5/wkv6 CUDA kernels' forward as a torch loop: w the decay itself
    (exp(-exp(time_decay ...)))."""
    B, T, C = r.shape
    N = C // H
    r, k, v = (t.view(B, T, H, N) for t in (r, k, v))
    w = w.view(B, T, H, N) if w.dim() == 3 else w.view(1, 1, H, N).expand(B, T, H, N)
    s = torch.zeros(B, H, N, N, dtype=r.dtype)
    ys = []
    for t in range(T):
        kv = k[:, t, :, :, None] * v[:, t, :, None, :]
        ys.append(torch.einsum("bhi,bhij->bhj", r[:, t], s + u.view(H, N, 1) * kv))
        s = s * w[:, t, :, :, None] + kv
    return torch.stack(ys, 1).reshape(B, T, C)


def torch_time_mix6(P: dict[str, Any], x: Any, m: RWKV6TimeMix, torch: Any) -> Any:
    """MAD-Lab's TimeMixer_RWKV6.forward (jit_func, RUN_CUDA_RWKV6, jit_func_2) in float64,
    with ember's (in, out) weight layout."""
    F = torch.nn.functional
    B, T, _ = x.shape
    xx = torch.nn.ZeroPad2d((0, 0, 1, -1))(x) - x
    xxx = x + xx * P["time_maa_x"]
    xxx = torch.tanh(xxx @ P["time_maa_w1"]).view(B * T, 5, -1).transpose(0, 1)
    xxx = torch.bmm(xxx, P["time_maa_w2"]).view(5, B, T, -1)
    mw, mk, mv, mr, mg = xxx.unbind(dim=0)
    xw = x + xx * (P["time_maa_w"] + mw)
    xk = x + xx * (P["time_maa_k"] + mk)
    xv = x + xx * (P["time_maa_v"] + mv)
    xr = x + xx * (P["time_maa_r"] + mr)
    xg = x + xx * (P["time_maa_g"] + mg)
    r, k, v = xr @ P["receptance.weight"], xk @ P["key.weight"], xv @ P["value.weight"]
    g = F.silu(xg @ P["gate.weight"])
    w = P["time_decay"] + torch.tanh(xw @ P["time_decay_w1"]) @ P["time_decay_w2"]
    y = torch_wkv(r, k, v, torch.exp(-torch.exp(w)), P["time_faaaa"], m.num_heads, torch)
    y = F.group_norm(y.view(B * T, -1), m.num_heads, P["ln_x_weight"], P["ln_x_bias"],
                     eps=1e-5 * m.head_dim_divisor ** 2).view(B, T, -1)
    return (y * g) @ P["output.weight"]


def torch_time_mix5(P: dict[str, Any], x: Any, m: RWKV5TimeMix, torch: Any) -> Any:
    """MAD-Lab's TimeMixer_RWKV5.forward in float64, ember's weight layout."""
    F = torch.nn.functional
    B, T, _ = x.shape
    xx = torch.nn.ZeroPad2d((0, 0, 1, -1))(x)
    xk = x * P["time_mix_k"] + xx * (1 - P["time_mix_k"])
    xv = x * P["time_mix_v"] + xx * (1 - P["time_mix_v"])
    xr = x * P["time_mix_r"] + xx * (1 - P["time_mix_r"])
    xg = x * P["time_mix_g"] + xx * (1 - P["time_mix_g"])
    r, k, v = xr @ P["receptance.weight"], xk @ P["key.weight"], xv @ P["value.weight"]
    g = F.silu(xg @ P["gate.weight"])
    w = torch.exp(-torch.exp(P["time_decay"]))
    y = torch_wkv(r, k, v, w, P["time_faaaa"], m.num_heads, torch)
    y = F.group_norm(y.view(B * T, -1) / m.head_dim_divisor, m.num_heads, P["ln_x_weight"],
                     P["ln_x_bias"]).view(B, T, -1)
    return (y * g) @ P["output.weight"]


def torch_channel_mix(P: dict[str, Any], x: Any, m: Any, torch: Any) -> Any:
    """MAD-Lab's ChannelMixer_RWKV6 / _RWKV5 forward in float64, ember's weight layout."""
    if "time_maa_k" in P:
        xx = torch.nn.ZeroPad2d((0, 0, 1, -1))(x) - x
        xk, xr = x + xx * P["time_maa_k"], x + xx * P["time_maa_r"]
    else:
        xx = torch.nn.ZeroPad2d((0, 0, 1, -1))(x)
        xk = x * P["time_mix_k"] + xx * (1 - P["time_mix_k"])
        xr = x * P["time_mix_r"] + xx * (1 - P["time_mix_r"])
    k = torch.relu(xk @ P["key.weight"]) ** 2
    return torch.sigmoid(xr @ P["receptance.weight"]) * (k @ P["value.weight"])


def perturbed(layer: Any, scale: float = 0.3) -> Any:
    """Every variable moved off its init by ``scale`` * N(0, 1) (the low-rank weights start at
    ±1e-4 and the norm at 1 and 0, so the data-dependent paths would hardly be checked)."""
    for v in layer.variables:
        v.assign(ember.asarray(v.numpy() + randn(*v.shape, scale=scale), dtype=v.dtype))
    return layer


LAYERS = {
    "time6": lambda **kw: RWKV6TimeMix(6, head_dim=3, mix_rank=3, decay_rank=4, key=1, **kw),
    "time5": lambda **kw: RWKV5TimeMix(6, head_dim=3, key=1, **kw),
    "channel6": lambda **kw: RWKV6ChannelMix(6, dim_inner=10, key=1, **kw),
    "channel5": lambda **kw: RWKV5ChannelMix(6, dim_inner=10, key=1, **kw),
}
REFS = {"time6": torch_time_mix6, "time5": torch_time_mix5, "channel6": torch_channel_mix,
        "channel5": torch_channel_mix}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("prec", ["float32", "float64"])
def test_matches_mad_labs_layer_forward_and_gradients(backend: str, name: str,
                                                      prec: str) -> None:
    torch = pytest.importorskip("torch")
    dtype, (rtol, atol) = precision(backend, prec), TOLERANCE[prec]
    kw = {"chunk_size": 4} if "time" in name else {}
    layer = perturbed(LAYERS[name](dtype=dtype, **kw))
    P = torch_params(layer, torch)
    x, g = randn(2, 9, 6), randn(2, 9, 6)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    want = REFS[name](P, xt, layer, torch)
    (want * torch.tensor(g, dtype=torch.float64)).sum().backward()
    xe = ember.asarray(x, dtype=dtype)
    with ember.GradientTape() as tape:
        tape.watch(xe)
        out = layer(xe)
        loss = ember.sum(out * ember.asarray(g, dtype=dtype))
    grads = tape.gradient(loss, [xe, *layer.trainable_variables])
    np.testing.assert_allclose(as_np(out), want.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(as_np(grads[0]), xt.grad.numpy(), rtol=rtol, atol=atol)
    names = list(layer.named_trainable_variables())
    assert sorted(names) == sorted(P)
    for n, gr in zip(names, grads[1:], strict=True):
        np.testing.assert_allclose(as_np(gr), P[n].grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=n)


# -- MAD-Lab's initial values ------------------------------------------------------------------
def test_time_mix6_init_is_mad_labs(backend: str) -> None:
    dim, da, n_layer, layer_id = 8, 12, 4, 1
    m = RWKV6TimeMix(dim, head_dim=4, dim_att=da, n_layer=n_layer, layer_id=layer_id, key=0)
    r0, r1 = layer_id / (n_layer - 1), 1 - layer_id / n_layer
    ddd = np.arange(dim) / dim
    np.testing.assert_allclose(as_np(m.time_maa_x), 1 - ddd ** r1, rtol=1e-6)
    np.testing.assert_allclose(as_np(m.time_maa_v), 1 - (ddd ** r1 + 0.3 * r0), rtol=1e-6)
    np.testing.assert_allclose(as_np(m.time_maa_g), 1 - ddd ** (0.5 * r1), rtol=1e-6)
    n = np.arange(da)
    np.testing.assert_allclose(as_np(m.time_decay),
                               -6 + 5 * (n / (da - 1)) ** (0.7 + 1.3 * r0), rtol=1e-6)
    bonus = r0 * (1 - n / (da - 1)) + ((n + 1) % 3 - 1) * 0.1
    np.testing.assert_allclose(as_np(m.time_faaaa), bonus.reshape(3, 4), rtol=1e-6, atol=1e-7)
    for v in (m.time_maa_w1, m.time_maa_w2, m.time_decay_w1, m.time_decay_w2):
        assert 0 < np.abs(as_np(v)).max() <= 1e-4
    assert m.time_maa_w1.shape == (8, 5 * 32) and m.time_decay_w2.shape == (64, 12)
    assert np.abs(as_np(m.key.weight)).max() <= 1 / np.sqrt(dim)
    assert as_np(m.ln_x_weight).tolist() == [1.0] * da and m.num_heads == 3


def test_v5_and_channel_init_is_mad_labs(backend: str) -> None:
    m = RWKV5TimeMix(8, head_dim=4, n_layer=3, layer_id=2, key=0)
    ddd = np.arange(8) / 8
    np.testing.assert_allclose(as_np(m.time_mix_k), ddd ** (1 / 3), rtol=1e-6)
    np.testing.assert_allclose(as_np(m.time_mix_v), ddd ** (1 / 3) + 0.3, rtol=1e-6)
    np.testing.assert_allclose(as_np(m.time_mix_r), ddd ** (1 / 6), rtol=1e-6)
    np.testing.assert_allclose(as_np(m.time_decay), (-6 + 5 * (np.arange(8) / 7) ** 2.0)
                               .reshape(2, 4), rtol=1e-6)
    c6, c5 = RWKV6ChannelMix(8, n_layer=2, layer_id=1, key=0), RWKV5ChannelMix(8, key=0)
    np.testing.assert_allclose(as_np(c6.time_maa_k), 1 - ddd ** 0.5, rtol=1e-6)
    np.testing.assert_allclose(as_np(c5.time_mix_r), ddd, rtol=1e-6)
    assert c5.key.weight.shape == (8, 32) and c5.value.weight.shape == (32, 8)


def test_defaults_are_mad_labs_at_dim_128() -> None:
    m = RWKV6TimeMix(128, max_length=1280, key=0)
    assert (m.head_dim, m.dim_att, m.num_heads, m.head_dim_divisor) == (16, 128, 8, 8.0)
    assert RWKV6ChannelMix(128, key=0).dim_inner == 512
    assert RWKV5TimeMix(128, key=0).num_heads == 8


# -- the mixer checks --------------------------------------------------------------------------
def built(name: str) -> Any:
    layer = LAYERS[name](chunk_size=4) if "time" in name else LAYERS[name]()
    return perturbed(layer)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_step_equals_forward(backend: str, name: str) -> None:
    layer = built(name)
    assert layer.has_step
    check_step(layer, randn(2, 9, 6))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_is_causal(backend: str, name: str) -> None:
    layer = built(name)
    assert getattr(layer, "causal", True)
    check_causal(layer, randn(2, 9, 6), 4)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_same_outputs_on_every_backend(backend: str, name: str) -> None:
    check_same_as_numpy(lambda: built(name), randn(2, 9, 6))


@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
def test_chunk_size_changes_no_value(backend: str, chunk: int) -> None:
    x = randn(2, 11, 6)
    ref = built("time6")
    other = LAYERS["time6"](chunk_size=chunk)
    other.load_state_dict(ref.state_dict())
    np.testing.assert_allclose(as_np(other(ember.asarray(x))), as_np(ref(ember.asarray(x))),
                               rtol=2e-5, atol=2e-6)


FD_LAYERS = {
    "time6": lambda: RWKV6TimeMix(4, head_dim=3, dim_att=6, mix_rank=2, decay_rank=2,
                                  chunk_size=2, dtype=ember.float64, key=2),
    "time5": lambda: RWKV5TimeMix(4, head_dim=3, dim_att=6, chunk_size=2,
                                  dtype=ember.float64, key=2),
    "channel6": lambda: RWKV6ChannelMix(4, dim_inner=5, dtype=ember.float64, key=2),
    "channel5": lambda: RWKV5ChannelMix(4, dim_inner=5, dtype=ember.float64, key=2),
}


@pytest.mark.parametrize("name", sorted(FD_LAYERS))
def test_gradients_match_finite_differences(backend: str, name: str) -> None:
    if not has_float64(backend):
        pytest.skip(f"{backend} has no float64 on its default device; the torch comparison "
                    f"checks its gradients")
    check_finite_differences(perturbed(FD_LAYERS[name]()), randn(1, 5, 4))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_config_round_trip(backend: str, name: str) -> None:
    check_round_trip(built(name), randn(2, 5, 6))


def test_config_keeps_mad_labs_arguments() -> None:
    m = RWKV6TimeMix(16, head_dim=4, dim_att=8, head_dim_divisor=4, max_length=64, n_layer=2,
                     layer_id=1, key=0)
    cfg = m.get_config()
    assert {k: cfg[k] for k in ("dim", "head_dim", "dim_att", "head_dim_divisor",
                                "max_length")} == {"dim": 16, "head_dim": 4, "dim_att": 8,
                                                   "head_dim_divisor": 4, "max_length": 64}
    assert RWKV6ChannelMix(8, dim_inner=16, key=0).get_config()["dim_inner"] == 16


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_loss_falls(backend: str, name: str) -> None:
    x = randn(4, 8, 6)
    target = np.concatenate([np.zeros((4, 1, 6), np.float32), x[:, :-1]], axis=1)  # recall t-1
    check_loss_falls(LAYERS[name](), x, 0.5 * target + 0.5 * x)


@pytest.mark.parametrize("cls, kw, match", [
    (RWKV6TimeMix, {"dim": 0}, "dim"),
    (RWKV6TimeMix, {"dim": 8, "head_dim": 3}, "divisible"),
    (RWKV6TimeMix, {"dim": 8, "dim_att": 6, "head_dim": 4}, "divisible"),
    (RWKV6TimeMix, {"dim": 8, "head_dim": 4, "head_dim_divisor": 0}, "head_dim_divisor"),
    (RWKV6TimeMix, {"dim": 8, "head_dim": 4, "max_length": 0}, "max_length"),
    (RWKV6TimeMix, {"dim": 8, "head_dim": 4, "mix_rank": 0}, "mix_rank"),
    (RWKV6TimeMix, {"dim": 8, "head_dim": 4, "decay_rank": 1.5}, "decay_rank"),
    (RWKV6TimeMix, {"dim": 8, "head_dim": 4, "chunk_size": 0}, "chunk_size"),
    (RWKV6TimeMix, {"dim": 8, "head_dim": 4, "layer_id": 1}, "layer_id"),
    (RWKV5TimeMix, {"dim": 8, "head_dim": 4, "n_layer": 0}, "n_layer"),
    (RWKV5TimeMix, {"dim": 8, "head_dim": 4, "max_length": 64}, "max_length"),
    (RWKV6ChannelMix, {"dim": 8, "dim_inner": 0}, "dim_inner"),
    (RWKV5ChannelMix, {"dim": 8, "layer_id": -1}, "layer_id"),
])
def test_bad_arguments_raise_config_errors(cls: Any, kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        cls(**kw)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_bad_inputs_raise(backend: str, name: str) -> None:
    layer = LAYERS[name]()
    cls = type(layer).__name__
    with pytest.raises(ember.ShapeError, match=rf"{cls}.*\(batch, length, 6\)"):
        layer(ember.ones((9, 6)))
    with pytest.raises(ember.DTypeError, match="floating"):
        layer(ember.ones((2, 3, 6), dtype=ember.int32))
    with pytest.raises(ember.ShapeError, match="one position"):
        layer.step(ember.ones((2, 5)), layer.init_state(2))
    with pytest.raises(ember.ShapeError, match="init_state"):
        layer.step(ember.ones((3, 6)), layer.init_state(2))
    with pytest.raises(ConfigError, match="batch"):
        layer.init_state(-1)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_empty_sequences_give_empty_outputs(backend: str, name: str) -> None:
    assert LAYERS[name]()(ember.ones((2, 0, 6))).shape == (2, 0, 6)


@pytest.mark.parametrize("module", [_time_rwkv, _channel_rwkv])
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_exported() -> None:
    assert ember_nn.mixers.sequence.RWKV6TimeMix is RWKV6TimeMix
    assert ember_nn.mixers.channel.RWKV5ChannelMix is RWKV5ChannelMix
    assert issubclass(RWKV6ChannelMix, ember_nn.mixers.channel.ChannelMixer)
    assert issubclass(RWKV5TimeMix, ember_nn.mixers.sequence.SequenceMixer)
