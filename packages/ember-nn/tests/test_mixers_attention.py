"""The ``Attention`` sequence mixer and its rotary embeddings, on every backend: against
torch.nn.MultiheadAttention with copied weights (values and gradients), against a NumPy
reference written from the equations (rotary in flash-attn's convention, grouped-query heads,
flash-attn's sliding windows, masks, cross attention, dropout), causality, KV-cache decoding
equal to the full forward, the same numbers on every backend, finite differences, configs,
errors, the docstring examples, and a loss that falls."""

from __future__ import annotations

import doctest
import json
import math
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from attention_support import (
    assert_same,
    copy_attention,
    ember_forward_backward,
    torch_forward_backward,
)
from ember_nn import ConfigError
from ember_nn.mixers.sequence import Attention, SequenceMixer
from ember_nn.mixers.sequence import _attention as attention_module
from ember_nn.mixers.sequence import _rotary as rotary_module
from ember_nn.mixers.sequence._rotary import apply_rotary

RNG = np.random.default_rng(14)
B, L, S, D = 2, 6, 5, 16


def _randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.numpy(), dtype=np.float64)


def _t(a: np.ndarray, dtype: Any = None) -> ember.Tensor:
    return ember.asarray(np.asarray(a), dtype=dtype)


def _float64_or_skip(backend: str) -> Any:
    device = ember.zeros(()).device.split(":")[0]
    if ember.float64 not in ember.load_backend(backend).capabilities.dtypes.get(device, ()):
        pytest.skip(f"{backend} has no float64 on {device}")
    return ember.float64


def _with_biases(layer: Attention) -> Attention:
    """Non-zero biases (they start at zero), so that they are checked too."""
    for dense in (layer.in_proj, layer.out_proj):
        if dense.bias is not None:
            dense.bias.assign(ember.astype(_t(_randn(*dense.bias.shape)), dense.bias.dtype))
    return layer


# -- the NumPy reference -------------------------------------------------------------------------
def np_rotary(x: np.ndarray, rd: int, offset: int = 0, base: float = 10000.0,
              interleaved: bool = False) -> np.ndarray:
    """flash-attn's apply_rotary_emb_torch: ``x * cos + rotate_half(x) * sin`` on the first
    ``rd`` features, ``rotate_half`` = ``[-x2, x1]`` of the halves (or of the even/odd
    features, interleaved)."""
    if rd == 0:
        return x
    pos = np.arange(offset, offset + x.shape[-2], dtype=np.float64)
    inv = base ** (-np.arange(0, rd, 2, dtype=np.float64) / rd)
    ang = pos[:, None] * inv  # (L, rd/2)
    r = x[..., :rd]
    if interleaved:
        cos, sin = np.repeat(np.cos(ang), 2, -1), np.repeat(np.sin(ang), 2, -1)
        rot = np.stack([-r[..., 1::2], r[..., ::2]], -1).reshape(r.shape)
    else:
        cos, sin = np.tile(np.cos(ang), 2), np.tile(np.sin(ang), 2)
        rot = np.concatenate([-r[..., rd // 2:], r[..., :rd // 2]], -1)
    return np.concatenate([r * cos + rot * sin, x[..., rd:]], -1)


def np_attention(layer: Attention, x: np.ndarray, context: np.ndarray | None = None,
                 mask: np.ndarray | None = None) -> np.ndarray:
    """The layer's equations in NumPy (float64)."""
    h, g, hd = layer.num_heads, layer.num_kv_heads, layer.head_dim
    w, b = _np(layer.in_proj.weight), layer.in_proj.bias
    bias = np.zeros(w.shape[1]) if b is None else _np(b)
    c = x if context is None else context
    qp, kvp = x @ w + bias, c @ w + bias
    dq, dk = h * hd, g * hd

    def heads(y: np.ndarray, n: int) -> np.ndarray:
        return y.reshape(*y.shape[:-1], n, hd).swapaxes(-2, -3)

    q, k, v = heads(qp[..., :dq], h), heads(kvp[..., dq:dq + dk], g), heads(kvp[..., dq + dk:], g)
    if layer.rotary_emb_dim and context is None:
        kw = {"base": layer.rotary_emb_base, "interleaved": layer.rotary_emb_interleaved}
        q, k = np_rotary(q, layer.rotary_emb_dim, **kw), np_rotary(k, layer.rotary_emb_dim, **kw)
    k, v = np.repeat(k, h // g, axis=1), np.repeat(v, h // g, axis=1)  # head i -> kv i // group
    Lq, Sk = q.shape[-2], k.shape[-2]
    scores = q @ k.swapaxes(-1, -2) * layer.scale
    p = np.arange(Lq)[:, None] + Sk - Lq
    j = np.arange(Sk)[None, :]
    keep = np.ones((Lq, Sk), bool)
    left, right = layer.window_size
    if left >= 0:
        keep &= j >= p - left
    if layer.causal:
        keep &= j <= p
    elif right >= 0:
        keep &= j <= p + right
    if mask is not None:
        keep = keep & mask
    scores = np.where(keep, scores, -np.inf)
    wts = np.exp(scores - scores.max(-1, keepdims=True))
    o = (wts / wts.sum(-1, keepdims=True)) @ v
    o = o.swapaxes(-2, -3).reshape(*o.shape[:-3], Lq, h * hd)
    out = o @ _np(layer.out_proj.weight)
    return out if layer.out_proj.bias is None else out + _np(layer.out_proj.bias)


# -- rotary ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("rd", [0, 2, 4, 8])
def test_rotary_matches_flash_attn_formula(backend: str, rd: int, interleaved: bool) -> None:
    x = _randn(2, 3, 7, 8)
    for offset in (0, 5):
        got = apply_rotary(_t(x), rd, offset=offset, interleaved=interleaved)
        want = np_rotary(x.astype(np.float64), rd, offset, interleaved=interleaved)
        np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-5)
        assert got.dtype is ember.float32


def test_rotary_scores_depend_on_relative_positions_only(backend: str) -> None:
    q, k = _randn(1, 8), _randn(1, 8)
    def score(p: int, s: int) -> float:
        return float(ember.sum(apply_rotary(_t(q), 8, offset=p) * apply_rotary(_t(k), 8, offset=s)))
    assert score(3, 1) == pytest.approx(score(10, 8), rel=1e-4, abs=1e-5)
    assert score(3, 1) != pytest.approx(score(3, 2), rel=1e-3)
    # the features past rotary_dim are left alone
    x = _randn(4, 6)
    np.testing.assert_array_equal(_np(apply_rotary(_t(x), 2, offset=3))[:, 2:], x[:, 2:])


def test_rotary_errors(backend: str) -> None:
    for bad in (3, -2, 10, True):
        with pytest.raises(ember.ArgumentError, match=r"rotary_dim must be an even int"):
            apply_rotary(ember.ones((2, 8)), bad)


# -- against torch.nn.MultiheadAttention -----------------------------------------------------------
@pytest.mark.parametrize("kind", ["self_causal", "self_full", "cross"])
def test_matches_torch_multihead_attention(backend: str, kind: str) -> None:
    torch = pytest.importorskip("torch")
    causal = kind == "self_causal"
    layer = _with_biases(Attention(D, num_heads=4, causal=causal, key=1))
    t = torch.nn.MultiheadAttention(D, 4, batch_first=True)
    copy_attention(layer, t, torch)  # (the same layout: q, k, v projections side by side)
    x, c, up = _randn(B, L, D), _randn(B, S, D), _randn(B, L, D)
    t_mask = torch.tensor(~np.tril(np.ones((L, L), bool))) if causal else None
    if kind == "cross":
        ours = ember_forward_backward(layer, [x, c], up, lambda m, a, b: m(a, b))
        theirs = torch_forward_backward(t, [x, c], up, lambda m, a, b: m(a, b, b,
                                                                         need_weights=False)[0],
                                        torch)
    else:
        ours = ember_forward_backward(layer, [x], up, lambda m, a: m(a))
        theirs = torch_forward_backward(
            t, [x], up, lambda m, a: m(a, a, a, attn_mask=t_mask, need_weights=False)[0], torch)
    assert_same(ours, theirs)


# -- against the NumPy reference -------------------------------------------------------------------
CASES = {
    "mad_attention": {"num_heads": 1, "rotary_emb_dim": 16},
    "mh_rotary_partial": {"num_heads": 4, "rotary_emb_dim": 2},
    "interleaved": {"num_heads": 2, "rotary_emb_dim": 4, "rotary_emb_interleaved": True},
    "gqa": {"num_heads": 4, "num_kv_heads": 2, "rotary_emb_dim": 4},
    "mqa_window": {"num_heads": 4, "num_kv_heads": 1, "window_size": [2, 2]},
    "sliding": {"num_heads": 2, "rotary_emb_dim": 8, "window_size": [1, 1]},
    "window_0": {"num_heads": 2, "window_size": [0, 0]},
    "noncausal_window": {"num_heads": 2, "causal": False, "window_size": [1, 2]},
    "noncausal_left": {"num_heads": 2, "causal": False, "window_size": [2, -1]},
    "noncausal_gqa": {"num_heads": 4, "num_kv_heads": 2, "causal": False, "rotary_emb_dim": 4},
    "no_bias_scale": {"num_heads": 2, "bias": False, "softmax_scale": 0.3},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_the_numpy_reference(backend: str, case: str) -> None:
    layer = _with_biases(Attention(D, key=2, **CASES[case]))
    x = _randn(B, L, D)
    np.testing.assert_allclose(_np(layer(_t(x))), np_attention(layer, x.astype(np.float64)),
                               rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("causal", [True, False])
def test_cross_attention_and_masks_match_the_reference(backend: str, causal: bool) -> None:
    layer = _with_biases(Attention(D, num_heads=4, num_kv_heads=2, rotary_emb_dim=4,
                                   causal=causal, key=3))
    x, c = _randn(B, L, D), _randn(B, S + 3, D)
    got = layer(_t(x), _t(c))  # no rotary in cross attention (as flash-attn's MHA refuses it)
    want = np_attention(layer, x.astype(np.float64), c.astype(np.float64))
    np.testing.assert_allclose(_np(got), want, rtol=2e-4, atol=2e-5)
    keep = RNG.random((B, 1, L, L)) > 0.3
    keep[..., 0] = True  # every query sees a key
    got = layer(_t(x), mask=_t(keep))
    want = np_attention(layer, x.astype(np.float64), mask=keep)
    np.testing.assert_allclose(_np(got), want, rtol=2e-4, atol=2e-5)
    additive = np.where(keep, 0.0, -1e9).astype(np.float32)
    np.testing.assert_allclose(_np(layer(_t(x), mask=_t(additive))), want, rtol=2e-4, atol=2e-5)


def test_dropout_drops_the_attention_weights(backend: str) -> None:
    layer = Attention(D, num_heads=2, dropout=0.5, window_size=[2, 2], key=4)
    x = _t(_randn(B, L, D))
    y1, y2 = _np(layer(x)), _np(layer(x))
    assert not np.allclose(y1, y2)  # a new mask per call
    layer.eval()
    want = np_attention(layer, _np(x))
    np.testing.assert_allclose(_np(layer(x)), want, rtol=2e-4, atol=2e-5)


# -- causality, decoding, backends ---------------------------------------------------------------
@pytest.mark.parametrize("case", ["gqa", "sliding", "mqa_window"])
def test_causal(backend: str, case: str) -> None:
    layer = Attention(D, key=5, **CASES[case])
    x = _randn(B, L, D)
    y = _np(layer(_t(x)))
    for t in (0, 2, L - 2):
        x2 = x.copy()
        x2[:, t + 1:] = _randn(B, L - t - 1, D) * 5
        y2 = _np(layer(_t(x2)))
        np.testing.assert_allclose(y2[:, :t + 1], y[:, :t + 1], rtol=1e-5, atol=1e-6)
        assert not np.allclose(y2[:, t + 1:], y[:, t + 1:])


@pytest.mark.parametrize("case", ["mad_attention", "gqa", "sliding", "mqa_window", "window_0",
                                  "interleaved"])
def test_step_equals_forward(backend: str, case: str) -> None:
    layer = _with_biases(Attention(D, key=6, **CASES[case]))
    x = _randn(B, L + 3, D)
    want = _np(layer(_t(x)))
    state = layer.init_state(B)
    assert state.position == 0 and state.keys.shape == (B, layer.num_kv_heads, 0, layer.head_dim)
    outs = []
    for t in range(L + 3):
        y, state = layer.step(_t(x[:, t]), state)
        outs.append(_np(y))
    np.testing.assert_allclose(np.stack(outs, 1), want, rtol=2e-4, atol=2e-5)
    left = layer.window_size[0]
    cached = L + 3 if left < 0 else min(left + 1, L + 3)
    assert state.keys.shape[-2] == cached and state.position == L + 3  # the window bounds it


def test_same_numbers_on_every_backend(backend: str) -> None:
    x = _randn(B, L, D)
    kw = {"num_heads": 4, "num_kv_heads": 2, "rotary_emb_dim": 4, "window_size": [3, 3]}
    with ember.use_backend("numpy"):
        want = _np(Attention(D, key=7, **kw)(_t(x)))
    layer = Attention(D, key=7, **kw)  # the same key draws the same weights everywhere
    assert layer.in_proj.weight.backend == backend
    np.testing.assert_allclose(_np(layer(_t(x))), want, rtol=1e-5, atol=1e-6)


FD_CASES = {"gqa_rotary_window": {"num_heads": 2, "num_kv_heads": 1, "rotary_emb_dim": 2,
                                   "window_size": [2, 2]},
            "noncausal_window": {"num_heads": 2, "causal": False, "window_size": [1, 2]}}


@pytest.mark.parametrize("case", sorted(FD_CASES))
def test_gradients_match_finite_differences(backend: str, case: str) -> None:
    f64 = _float64_or_skip(backend)
    layer = _with_biases(Attention(8, key=8, dtype=f64, **FD_CASES[case]))
    x0 = RNG.standard_normal((1, 4, 8))
    up = _t(RNG.standard_normal((1, 4, 8)), f64)

    def loss(x: ember.Tensor) -> ember.Tensor:
        return ember.sum(layer(x) * up)

    x = _t(x0, f64)
    w = layer.in_proj.weight
    with ember.GradientTape() as tape:
        tape.watch(x)
        out = loss(x)
    gx, gw = tape.gradient(out, [x, w])
    h = 1e-6
    for idx in [(0, 0, 0), (0, 1, 3), (0, 3, 7), (0, 2, 5)]:
        up_, dn = x0.copy(), x0.copy()
        up_[idx] += h
        dn[idx] -= h
        fd = (float(loss(_t(up_, f64))) - float(loss(_t(dn, f64)))) / (2 * h)
        assert float(_np(gx)[idx]) == pytest.approx(fd, rel=1e-6, abs=1e-8)
    w0 = _np(w)
    for idx in [(0, 0), (3, 5), (7, 12), (5, 15)]:
        vals = []
        for sgn in (1, -1):
            w1 = w0.copy()
            w1[idx] += sgn * h
            w.assign(_t(w1, f64))
            vals.append(float(loss(x)))
        w.assign(_t(w0, f64))
        assert float(_np(gw)[idx]) == pytest.approx((vals[0] - vals[1]) / (2 * h), rel=1e-6,
                                                    abs=1e-8)


# -- configs, errors, docs, training --------------------------------------------------------------
def test_config_round_trip_and_mad_names(backend: str) -> None:
    layer = Attention(D, n_heads=4, rotary_emb_dim=2, window_size=(3, 3), num_kv_heads=2,
                      dropout=0.1, key=9)
    assert layer.num_heads == 4 and layer.get_config()["num_heads"] == 4
    assert layer.get_config()["n_heads"] is None and layer.get_config()["window_size"] == [3, 3]
    assert "window_size" not in repr(Attention(D, 4, key=0))  # the default
    again = ember_nn.deserialize(json.loads(json.dumps(ember_nn.serialize(layer))))
    assert type(again) is Attention and again.get_config() == layer.get_config()
    x = _t(_randn(B, L, D))
    layer.eval(), again.eval()
    np.testing.assert_array_equal(_np(again(x)), _np(layer(x)))
    assert isinstance(layer, SequenceMixer) and layer.has_step and layer.causal
    assert repr(layer).splitlines()[0].startswith("Attention(16, 4, rotary_emb_dim=2")
    # MAD-Lab's config keys build it as they are
    mad = {"dim": 16, "causal": True, "n_heads": 2, "rotary_emb_dim": 8, "dropout": 0,
           "window_size": [4, 4], "use_flash_attn": True}
    assert Attention(**mad, key=0).window_size == (4, 4)
    assert not Attention(16, 4, causal=False).has_step


def test_errors_name_the_values(backend: str) -> None:
    with pytest.raises(ConfigError, match=r"dim 10 is not divisible by num_heads 4"):
        Attention(10, 4)
    with pytest.raises(ConfigError, match=r"num_heads 4 is not divisible by num_kv_heads 3"):
        Attention(16, 4, num_kv_heads=3)
    with pytest.raises(ConfigError, match=r"num_heads=4 and n_heads=2 disagree"):
        Attention(16, 4, n_heads=2)
    with pytest.raises(ConfigError, match=r"rotary_emb_dim must be an even int in \[0, "
                                          r"head_dim=4\].*got 6"):
        Attention(16, 4, rotary_emb_dim=6)
    with pytest.raises(ConfigError, match=r"rotary_emb_dim must be an even int.*got 3"):
        Attention(16, 4, rotary_emb_dim=3)
    with pytest.raises(ConfigError, match=r"window_size must be two ints.*got \[4\]"):
        Attention(16, 4, window_size=[4])
    with pytest.raises(ConfigError, match=r"window_size must be two ints.*got \(-2, 3\)"):
        Attention(16, 4, window_size=(-2, 3))
    with pytest.raises(ConfigError, match=r"dropout must be a number in \[0, 1\), got 1.5"):
        Attention(16, 4, dropout=1.5)
    with pytest.raises(ConfigError, match=r"causal must be True or False, got 1"):
        Attention(16, 4, causal=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"softmax_scale must be None"):
        Attention(16, 4, softmax_scale=-1.0)
    layer = Attention(16, 4, key=0)
    with pytest.raises(ember.ShapeError, match=r"input of shape \(2, 3, 8\) must be "
                                               r"\(batch, length, 16\)"):
        layer(ember.ones((2, 3, 8)))
    with pytest.raises(ember.ShapeError, match=r"\(context\): input of shape \(2, 3, 8\)"):
        layer(ember.ones((2, 3, 16)), ember.ones((2, 3, 8)))
    with pytest.raises(ember.ShapeError, match=r"different batch sizes"):
        layer(ember.ones((2, 3, 16)), ember.ones((3, 3, 16)))
    with pytest.raises(ember.DTypeError, match=r"must be floating point, got ember\.int32"):
        layer(ember.ones((2, 3, 16), dtype=ember.int32))
    with pytest.raises(ember.ShapeError, match=r"one position \(batch, 16\)"):
        layer.step(ember.ones((2, 1, 16)), layer.init_state(2))
    with pytest.raises(ember.ShapeError, match=r"does not fit a cache for batch 3"):
        layer.step(ember.ones((2, 16)), layer.init_state(3))
    with pytest.raises(ember.UnsupportedError, match=r"non-causal layer has no step form"):
        Attention(16, 4, causal=False, key=0).init_state(2)


@pytest.mark.parametrize("module", [attention_module, rotary_module])
def test_docstring_examples(backend: str, module: Any) -> None:
    result = doctest.testmod(module, extraglobs={"ember": ember, "ember_nn": ember_nn})
    assert result.attempted > 0 and result.failed == 0


def test_loss_falls(backend: str) -> None:
    """A few Adam steps teach a one-layer model to copy the previous position's input."""
    layer = Attention(8, num_heads=2, rotary_emb_dim=4, window_size=[1, 1], key=10)
    x = _t(RNG.standard_normal((4, 10, 8)).astype(np.float32))
    target = ember.concat([ember.zeros((4, 1, 8)), x[:, :-1]], axis=1)
    step = ember_nn.value_and_grad(layer, lambda: ember.mean((layer(x) - target) ** 2))
    opt = ember_nn.Adam(0.02)
    losses = []
    for _ in range(30):
        loss, grads = step()
        opt.update(layer, grads)
        losses.append(float(loss))
    assert math.isfinite(losses[-1]) and losses[-1] < 0.7 * losses[0]
