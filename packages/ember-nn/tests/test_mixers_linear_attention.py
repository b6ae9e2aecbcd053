"""``LinearAttention`` and ``GatedLinearAttention`` on every backend: against NumPy references
written from MAD-Lab's equations (its quadratic linear attention with each feature map; its
naive sequential GLA recurrence, then the per-head RMSNorm, swish gate and output projection),
the chunked and scan forms against them, causality, step equal to forward, the same numbers on
every backend, finite differences, configs, errors, the docstring examples, a loss that
falls."""

from __future__ import annotations

import doctest
import json
import math
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.mixers.sequence import GatedLinearAttention, LinearAttention, SequenceMixer
from ember_nn.mixers.sequence import _gated_linear_attention as gla_module
from ember_nn.mixers.sequence import _linear_attention as la_module
from ember_nn.mixers.sequence._gated_linear_attention import gated_linear_attention
from ember_nn.mixers.sequence._linear_attention import FEATURE_MAPS

RNG = np.random.default_rng(41)
B, L, D = 2, 7, 8


def _randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.numpy(), dtype=np.float64)


def _t(a: np.ndarray, dtype: Any = ember.float32) -> ember.Tensor:
    return ember.asarray(np.asarray(a), dtype=dtype)


def _f64(backend: str) -> Any:
    device = ember.zeros(()).device.split(":")[0]
    if ember.float64 not in ember.load_backend(backend).capabilities.dtypes.get(device, ()):
        pytest.skip(f"{backend} has no float64 on {device}")
    return ember.float64


def _randomise(layer: Any) -> Any:
    """Non-zero biases (they start at zero), so that they are checked too."""
    for name, v in layer.named_variables():
        if name.endswith("bias"):
            v.assign(ember.astype(_t(_randn(*v.shape) * 0.3), v.dtype))
    return layer


def _heads(y: np.ndarray, h: int) -> np.ndarray:
    return y.reshape(*y.shape[:-1], h, -1).swapaxes(-2, -3)


def _merge(o: np.ndarray) -> np.ndarray:
    o = o.swapaxes(-2, -3)
    return o.reshape(*o.shape[:-2], -1)


# -- NumPy references ----------------------------------------------------------------------------
def np_feature_map(fm: Any, x: np.ndarray) -> np.ndarray:
    kind = fm.kind
    dense = [(_np(d.weight), _np(d.bias)) for d in fm.layers]
    if kind == "elementwise_product":
        return (x @ dense[0][0] + dense[0][1]) * (x @ dense[1][0] + dense[1][1])
    if kind == "t2r":
        return np.maximum(x @ dense[0][0] + dense[0][1], 0)
    if kind == "hedgehog":
        y = x @ dense[0][0] + dense[0][1]
        z = np.concatenate([2 * y, -2 * y], -1)
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    if kind == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0))) + 1
    if kind == "relu":
        return np.maximum(x, 0)
    if kind == "dpfp":  # MAD-Lab's: cat([relu(x), -relu(x)]), rolls 1..4
        r = np.concatenate([np.maximum(x, 0), -np.maximum(x, 0)], -1)
        rolled = np.concatenate([np.roll(r, j, axis=-1) for j in range(1, 5)], -1)
        return np.concatenate([r] * 4, -1) * rolled
    if kind == "taylor":
        d = x.shape[-1]
        z = x[..., :, None] * x[..., None, :]
        iu = np.triu_indices(d, 1)
        rd = math.sqrt(d)
        return np.concatenate([np.ones_like(x[..., :1]), x / math.sqrt(rd),
                               z[..., np.arange(d), np.arange(d)] / (rd * math.sqrt(2)),
                               z[..., iu[0], iu[1]] / rd], -1)
    return x


def np_linear_attention(layer: LinearAttention, x: np.ndarray) -> np.ndarray:
    """MAD-Lab's LinearAttention.forward with its "quadratic" parallel form."""
    h = layer.num_heads
    q = np_feature_map(layer.feature_map_q, _heads(x @ _np(layer.proj_q.weight), h))
    k = np_feature_map(layer.feature_map_k, _heads(x @ _np(layer.proj_k.weight), h))
    v = _heads(x @ _np(layer.proj_v.weight), h)
    if layer.norm_q:
        q = q / (q.sum(-1, keepdims=True) + 1e-4)
    if layer.norm_k:
        k = k / (k.sum(-1, keepdims=True) + 1e-4)
    a = np.tril(q @ k.swapaxes(-1, -2))
    y = a @ v
    z = 1 / ((q * np.cumsum(k, axis=-2)).sum(-1) + layer.eps)
    return _merge(y * z[..., None]) @ _np(layer.out_proj.weight)


def np_naive_gla(q: np.ndarray, k: np.ndarray, v: np.ndarray, g: np.ndarray) -> np.ndarray:
    """MAD-Lab's naive_recurrent_gla (ops/gla/naive.py): one position at a time."""
    h = np.zeros((*q.shape[:-2], q.shape[-1], v.shape[-1]))
    o = np.zeros(v.shape)
    scale = q.shape[-1] ** -0.5
    for i in range(q.shape[-2]):
        h = h * np.exp(g[..., i, :])[..., None] + k[..., i, :, None] * v[..., i, None, :]
        o[..., i, :] = ((q[..., i, :] * scale)[..., None] * h).sum(-2)
    return o


def np_gla(layer: GatedLinearAttention, x: np.ndarray) -> np.ndarray:
    """MAD-Lab's GatedLinearAttention.forward (the unfused norm and gate)."""
    h = layer.num_heads
    q, k, v = (_heads(x @ _np(p.weight), h) for p in (layer.q_proj, layer.k_proj, layer.v_proj))
    logit = x @ _np(layer.gk_proj[0].weight) @ _np(layer.gk_proj[1].weight) \
        + _np(layer.gk_proj[1].bias)
    gk = -np.logaddexp(0, -logit) / layer.gate_logit_normalizer
    if layer.clamp_min is not None:
        gk = np.maximum(gk, layer.clamp_min)
    o = np_naive_gla(q, k, v, _heads(gk, h)).swapaxes(-2, -3)  # (B, L, H, Dv)
    o = o / np.sqrt((o ** 2).mean(-1, keepdims=True) + layer.g_norm.eps) * _np(layer.g_norm.weight)
    g = x @ _np(layer.g_proj.weight)
    o = o.reshape(*o.shape[:-2], -1) * (g / (1 + np.exp(-g)))
    return o @ _np(layer.o_proj.weight)


# -- LinearAttention -----------------------------------------------------------------------------
@pytest.mark.parametrize("impl", ["quadratic", "linear"])
@pytest.mark.parametrize("fm", FEATURE_MAPS)
def test_linear_attention_matches_mad_lab(backend: str, fm: str, impl: str) -> None:
    f64 = _f64(backend)  # (the default feature map's normaliser may come near zero: float64)
    layer = _randomise(LinearAttention(D, fm, num_heads=2, parallel_implementation=impl,
                                       chunk_size=3, dtype=f64, key=1))
    x = _randn(B, L, D)
    np.testing.assert_allclose(_np(layer(_t(x, f64))), np_linear_attention(layer, x),
                               rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("kw", [{"norm_q": True, "norm_k": True}, {"tie_feature_map_qk": True},
                                {"expand_k": 2, "expand_v": 0.5, "num_heads": 4},
                                {"feature_map": "t2r", "tie_feature_map_qk": True, "num_heads": 1}])
def test_linear_attention_options(backend: str, kw: dict[str, Any]) -> None:
    f64 = _f64(backend)
    layer = _randomise(LinearAttention(D, **{"num_heads": 2, **kw}, dtype=f64, key=2))
    if kw.get("tie_feature_map_qk"):
        assert layer.feature_map_k is layer.feature_map_q
        assert not any(n.startswith("feature_map_k") for n, _ in layer.named_variables())
    x = _randn(B, L, D)
    np.testing.assert_allclose(_np(layer(_t(x, f64))), np_linear_attention(layer, x),
                               rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
def test_chunked_equals_quadratic_in_float32(backend: str, chunk: int) -> None:
    kw = {"feature_map": "hedgehog", "num_heads": 2, "key": 3}
    quad = LinearAttention(D, **kw)
    lin = LinearAttention(D, parallel_implementation="linear", chunk_size=chunk, **kw)
    x = _t(_randn(B, L, D))
    np.testing.assert_allclose(_np(lin(x)), _np(quad(x)), rtol=1e-5, atol=1e-6)


# -- GatedLinearAttention -----------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [None, 1, 3, 16])
def test_gated_recurrence_matches_the_naive_loop(backend: str, chunk: int | None) -> None:
    q, k, g0 = _randn(B, 2, L, 3), _randn(B, 2, L, 3), _randn(B, 2, L, 3)
    v = _randn(B, 2, L, 4)
    for strength in (1.0, 40.0):  # gates near 0 (exp(-40 ...)): no overflow in any form
        g = -np.logaddexp(0, -g0 * strength)
        want = np_naive_gla(q, k, v, g)
        got = gated_linear_attention(_t(q), _t(k), _t(v), _t(g), chunk_size=chunk)
        assert np.isfinite(_np(got)).all()
        np.testing.assert_allclose(_np(got), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kw", [{}, {"mode": "fused_recurrent"}, {"mode": "fused_chunk",
                                                                  "chunk_size": 3},
                                {"num_heads": 1, "expand_v": 2, "clamp_min": -0.02},
                                {"gate_logit_normalizer": 1, "gate_fn": "sigmoid", "num_heads": 4}])
def test_gla_matches_mad_lab(backend: str, kw: dict[str, Any]) -> None:
    f64 = _f64(backend)
    layer = _randomise(GatedLinearAttention(D, **{"num_heads": 2, "gate_low_rank_dim": 4, **kw},
                                            dtype=f64, key=4))
    x = _randn(B, L, D)
    want = np_gla(layer, x) if kw.get("gate_fn") is None else None
    got = _np(layer(_t(x, f64)))
    if want is None:  # another gate: compare with the recurrent step instead
        state, outs = layer.init_state(B), []
        for t in range(L):
            y, state = layer.step(_t(x[:, t], f64), state)
            outs.append(_np(y))
        want = np.stack(outs, 1)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10)


# -- shared checks ---------------------------------------------------------------------------------
def _layers(dtype: Any = None) -> dict[str, SequenceMixer]:
    return {
        "linear_quadratic": LinearAttention(D, num_heads=2, dtype=dtype, key=5),
        "linear_chunked": LinearAttention(D, "elu", num_heads=2, parallel_implementation="linear",
                                          chunk_size=3, dtype=dtype, key=5),
        "linear_taylor": LinearAttention(D, "taylor", num_heads=2, dtype=dtype, key=5),
        "gla": GatedLinearAttention(D, num_heads=2, gate_low_rank_dim=4, chunk_size=3,
                                    dtype=dtype, key=5),
        "gla_recurrent": GatedLinearAttention(D, num_heads=1, mode="fused_recurrent",
                                              dtype=dtype, key=5),
    }


NAMES = sorted(_layers())


@pytest.mark.parametrize("name", NAMES)
def test_causal(backend: str, name: str) -> None:
    layer = _randomise(_layers(_f64(backend))[name])
    x = _randn(B, L, D)
    y = _np(layer(_t(x, ember.float64)))
    for t in (0, 3, L - 2):
        x2 = x.copy()
        x2[:, t + 1:] = _randn(B, L - t - 1, D) * 3
        y2 = _np(layer(_t(x2, ember.float64)))
        np.testing.assert_allclose(y2[:, :t + 1], y[:, :t + 1], rtol=1e-9, atol=1e-12)
        assert not np.allclose(y2[:, t + 1:], y[:, t + 1:])


@pytest.mark.parametrize("name", NAMES)
def test_step_equals_forward(backend: str, name: str) -> None:
    layer = _randomise(_layers()[name])
    x = _randn(B, L, D)
    want = _np(layer(_t(x)))
    state, outs = layer.init_state(B), []
    for t in range(L):
        y, state = layer.step(_t(x[:, t]), state)
        outs.append(_np(y))
    scale = np.abs(want).max()
    np.testing.assert_allclose(np.stack(outs, 1), want, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("name", NAMES)
def test_same_numbers_on_every_backend(backend: str, name: str) -> None:
    x = _randn(B, L, D)
    with ember.use_backend("numpy"):
        want = _np(_layers()[name](_t(x)))
    layer = _layers()[name]  # the same keys draw the same weights on every backend
    np.testing.assert_allclose(_np(layer(_t(x))), want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("name", ["linear_quadratic", "linear_chunked", "gla"])
def test_gradients_match_finite_differences(backend: str, name: str) -> None:
    f64 = _f64(backend)
    layer = _randomise(_layers(f64)[name])
    x0 = _randn(1, 4, D)
    up = _t(_randn(1, 4, D), f64)

    def loss(x: ember.Tensor) -> ember.Tensor:
        return ember.sum(layer(x) * up)

    x = _t(x0, f64)
    w = layer.trainable_variables[0]
    with ember.GradientTape() as tape:
        tape.watch(x)
        out = loss(x)
    gx, gw = tape.gradient(out, [x, w])
    h = 1e-6
    for idx in [(0, 0, 0), (0, 1, 3), (0, 3, 7), (0, 2, 5)]:
        hi, lo = x0.copy(), x0.copy()
        hi[idx] += h
        lo[idx] -= h
        fd = (float(loss(_t(hi, f64))) - float(loss(_t(lo, f64)))) / (2 * h)
        assert float(_np(gx)[idx]) == pytest.approx(fd, rel=1e-5, abs=1e-8)
    w0 = _np(w)
    for idx in [(0, 0), (3, 5), (7, 1), (5, 7)]:
        vals = []
        for sgn in (1, -1):
            w1 = w0.copy()
            w1[idx] += sgn * h
            w.assign(_t(w1, f64))
            vals.append(float(loss(x)))
        w.assign(_t(w0, f64))
        fd = (vals[0] - vals[1]) / (2 * h)
        assert float(_np(gw)[idx]) == pytest.approx(fd, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(backend: str, name: str) -> None:
    layer = _layers()[name]
    again = ember_nn.deserialize(json.loads(json.dumps(ember_nn.serialize(layer))))
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    x = _t(_randn(B, L, D))
    np.testing.assert_array_equal(_np(again(x)), _np(layer(x)))
    assert isinstance(layer, SequenceMixer) and layer.has_step and layer.causal


def test_mad_lab_configs_build() -> None:
    """The keys of MAD-Lab's configs/layers/*.yml build the layers as they are."""
    la = {"dim": 16, "expand_k": 1, "expand_v": 1, "num_heads": 16,
          "feature_map": "elementwise_product", "parallel_implementation": "quadratic",
          "tie_feature_map_qk": False, "norm_q": False, "norm_k": False}
    gla = {"dim": 16, "expand_v": 1, "expand_k": 1, "num_heads": 8, "gate_fn": "swish",
           "layernorm_eps": 0.00001, "gate_logit_normalizer": 16, "gate_low_rank_dim": 16,
           "mode": "chunk", "fuse_norm": False}
    assert LinearAttention(**la, key=0).head_qk_dim == 1
    layer = GatedLinearAttention(**gla, key=0)
    defaults = GatedLinearAttention(16, num_heads=8, key=0).get_config()
    assert {k: defaults[k] for k in gla} == gla  # its defaults are MAD-Lab's configs'
    defaults = LinearAttention(16, num_heads=16, key=0).get_config()
    assert {k: defaults[k] for k in la} == la
    assert (layer.head_qk_dim, layer.head_v_dim) == (2, 2)
    assert sorted(n for n, _ in layer.named_variables()) == [
        "g_norm.weight", "g_proj.weight", "gk_proj.0.weight", "gk_proj.1.bias",
        "gk_proj.1.weight", "k_proj.weight", "o_proj.weight", "q_proj.weight", "v_proj.weight"]


def test_errors_name_the_values(backend: str) -> None:
    with pytest.raises(ConfigError, match=r"feature_map must be one of .*got 'softmax'"):
        LinearAttention(8, "softmax")
    with pytest.raises(ConfigError, match=r"parallel_implementation must be 'quadratic' or "
                                          r"'linear', got 'cuda'"):
        LinearAttention(8, parallel_implementation="cuda")
    with pytest.raises(ConfigError, match=r"dim \* expand_k = 8 is not divisible by num_heads 3"):
        LinearAttention(8, num_heads=3)
    with pytest.raises(ConfigError, match=r"expand_v must be a positive number, got 0"):
        LinearAttention(8, num_heads=2, expand_v=0)
    with pytest.raises(ConfigError, match=r"norm_q must be True or False, got 1"):
        LinearAttention(8, num_heads=2, norm_q=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"mode must be one of .*got 'triton'"):
        GatedLinearAttention(8, mode="triton")
    with pytest.raises(ConfigError, match=r"dim \* expand_v = 16 is not divisible by num_heads 3"):
        GatedLinearAttention(8, num_heads=3, expand_k=3, expand_v=2)
    with pytest.raises(ConfigError, match=r"gate_logit_normalizer must be a positive number"):
        GatedLinearAttention(8, num_heads=2, gate_logit_normalizer=0)
    with pytest.raises(ConfigError, match=r"gate_low_rank_dim must be a positive int, got 0"):
        GatedLinearAttention(8, num_heads=2, gate_low_rank_dim=0)
    with pytest.raises(ConfigError, match=r"unknown activation 'nope'"):
        GatedLinearAttention(8, num_heads=2, gate_fn="nope")
    for layer in (LinearAttention(8, num_heads=2, key=0),
                  GatedLinearAttention(8, num_heads=2, key=0)):
        name = type(layer).__name__
        with pytest.raises(ember.ShapeError, match=rf"{name}: input of shape \(2, 3, 4\) must be "
                                                   r"\(batch, length, 8\)"):
            layer(ember.ones((2, 3, 4)))
        with pytest.raises(ember.DTypeError, match=r"must be floating point, got ember\.int32"):
            layer(ember.ones((2, 3, 8), dtype=ember.int32))
        with pytest.raises(ember.ShapeError, match=r"one position \(batch, 8\)"):
            layer.step(ember.ones((2, 3, 8)), layer.init_state(2))
        with pytest.raises(ember.ShapeError, match=r"does not fit a state for batch 3"):
            layer.step(ember.ones((2, 8)), layer.init_state(3))


@pytest.mark.parametrize("module", [la_module, gla_module])
def test_docstring_examples(backend: str, module: Any) -> None:
    result = doctest.testmod(module, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", ["linear_quadratic", "linear_chunked", "gla"])
def test_loss_falls(backend: str, name: str) -> None:
    """A few Adam steps teach one layer to output the running mean of its inputs."""
    layer = _layers()[name]
    # its own generator: with the module's RNG the data, and so the threshold's outcome,
    # depended on which tests ran first (a -k selection failed where the whole file passed)
    x = _t(np.random.default_rng(3).standard_normal((4, 8, D)))
    counts = ember.reshape(ember.arange(1, 9, dtype=ember.float32), (1, 8, 1))
    target = ember.cumulative_sum(x, axis=1) / counts
    step = ember_nn.value_and_grad(layer, lambda: ember.mean((layer(x) - target) ** 2))
    opt = ember_nn.Adam(0.01)
    losses = []
    for _ in range(30):
        loss, grads = step()
        opt.update(layer, grads)
        losses.append(float(loss))
    assert math.isfinite(losses[-1]) and losses[-1] < 0.8 * losses[0]
