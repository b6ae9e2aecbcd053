"""Conv1d, Conv2d and the pooling layers against direct NumPy loops (channels-last), weight
gradients, causality, configs, errors, and PyTorch with copied weights where installed."""

from __future__ import annotations

import itertools
import json
import math

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.layers import (
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool1d,
    MaxPool2d,
)

RNG = np.random.default_rng(2)


def _np(t: ember.Tensor) -> np.ndarray:
    return np.asarray(t, dtype=np.float64)


def _round_trip(m: ember_nn.Module) -> ember_nn.Module:
    m2 = ember_nn.deserialize(json.loads(json.dumps(ember_nn.serialize(m))))
    assert type(m2) is type(m) and m2.get_config() == m.get_config()
    assert [(k, v.shape) for k, v in m2.named_variables()] == \
           [(k, v.shape) for k, v in m.named_variables()]
    return m2


def _tup(v: int | tuple[int, ...], nd: int) -> tuple[int, ...]:
    return (v,) * nd if isinstance(v, int) else tuple(v)


def _windows(xp: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...],
             dilation: tuple[int, ...]):
    """(output position, kernel position, input position) triples of a channels-last input."""
    nd = len(kernel)
    out = [(xp.shape[1 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
           for i in range(nd)]
    for pos in itertools.product(*map(range, out)):
        for kp in itertools.product(*map(range, kernel)):
            yield pos, kp, tuple(pos[i] * stride[i] + kp[i] * dilation[i] for i in range(nd))


def _out_shape(xp: np.ndarray, kernel, stride, dilation) -> list[int]:
    return [(xp.shape[1 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
            for i in range(len(kernel))]


def conv_ref(x, w, b, stride, pads, dilation, groups):
    """Direct correlation: out[n, p, o] = sum_{k, c} xp[n, p*s + k*d, g*cpg + c] w[o, k, c]."""
    nd = x.ndim - 2
    kernel, s, d = w.shape[1:-1], _tup(stride, nd), _tup(dilation, nd)
    xp = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    o_all, cpg = w.shape[0], w.shape[-1]
    opg = o_all // groups
    out = np.zeros((x.shape[0], *_out_shape(xp, kernel, s, d), o_all))
    for pos, kp, ip in _windows(xp, kernel, s, d):
        patch = xp[(slice(None), *ip)]
        for g in range(groups):
            wg = w[(slice(g * opg, (g + 1) * opg), *kp)]
            out[(slice(None), *pos, slice(g * opg, (g + 1) * opg))] += \
                patch[:, g * cpg:(g + 1) * cpg] @ wg.T
    return out if b is None else out + b


def conv_weight_grad_ref(x, w, cot, stride, pads, dilation, groups):
    """d sum(conv(x, w) * cot) / d w."""
    nd = x.ndim - 2
    kernel, s, d = w.shape[1:-1], _tup(stride, nd), _tup(dilation, nd)
    xp = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    cpg, opg = w.shape[-1], w.shape[0] // groups
    gw = np.zeros(w.shape)
    for pos, kp, ip in _windows(xp, kernel, s, d):
        patch = xp[(slice(None), *ip)]
        c = cot[(slice(None), *pos)]
        for g in range(groups):
            gw[(slice(g * opg, (g + 1) * opg), *kp)] += \
                c[:, g * opg:(g + 1) * opg].T @ patch[:, g * cpg:(g + 1) * cpg]
    return gw


def pool_ref(x, kernel, stride, pads, kind, count_include_pad=False):
    nd = x.ndim - 2
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)], constant_values=fill)
    ones = np.pad(np.ones(x.shape[1:-1]), list(pads))
    out = np.zeros((x.shape[0], *_out_shape(xp, kernel, stride, (1,) * nd), x.shape[-1]))
    for pos in itertools.product(*map(range, out.shape[1:-1])):
        sl = tuple(slice(p * s, p * s + k) for p, s, k in zip(pos, stride, kernel, strict=True))
        win = xp[(slice(None), *sl)].reshape(x.shape[0], -1, x.shape[-1])
        if kind == "max":
            out[(slice(None), *pos)] = win.max(1)
        else:
            count = math.prod(kernel) if count_include_pad else ones[sl].sum()
            out[(slice(None), *pos)] = win.sum(1) / count
    return out


def _same(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


# -- Conv1d --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kw", "pads"), [
    ({}, [(0, 0)]),
    ({"padding": 2, "stride": 2}, [(2, 2)]),
    ({"padding": (1, 3), "dilation": 2}, [(1, 3)]),
    ({"padding": "same", "stride": 3}, [_same(11, 3, 3, 1)]),
    ({"groups": 2, "padding": "same", "dilation": 2}, [_same(11, 3, 1, 2)]),
    ({"causal": True, "dilation": 2}, [(4, 0)]),
])
def test_conv1d_matches_a_direct_loop(backend: str, kw: dict, pads: list) -> None:
    layer = Conv1d(4, 6, 3, key=0, bias_init="normal", **kw)
    assert layer.weight.shape == (6, 3, 4 // kw.get("groups", 1))
    x = RNG.standard_normal((2, 11, 4)).astype(np.float32)
    ref = conv_ref(x, _np(layer.weight), _np(layer.bias), kw.get("stride", 1), pads,
                   kw.get("dilation", 1), kw.get("groups", 1))
    np.testing.assert_allclose(_np(layer(ember.tensor(x))), ref, rtol=1e-4, atol=1e-5)


def test_conv1d_weight_gradient(backend: str) -> None:
    layer = Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, key=1)
    x = RNG.standard_normal((3, 12, 4)).astype(np.float32)
    y_shape = layer(ember.tensor(x)).shape
    cot = RNG.standard_normal(y_shape).astype(np.float32)
    with ember.GradientTape() as tape:
        loss = ember.sum(layer(ember.tensor(x)) * ember.tensor(cot))
    gw, gb = tape.gradient(loss, [layer.weight, layer.bias])
    ref = conv_weight_grad_ref(x, _np(layer.weight), cot, 2, [(1, 1)], 2, 2)
    np.testing.assert_allclose(_np(gw), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_np(gb), cot.sum((0, 1)), rtol=1e-5, atol=1e-5)


def test_causal_conv_output_ignores_the_future(backend: str) -> None:
    layer = Conv1d(2, 3, 4, causal=True, dilation=2, key=2)
    x = RNG.standard_normal((1, 20, 2)).astype(np.float32)
    y = _np(layer(ember.tensor(x)))
    assert y.shape == (1, 20, 3)
    t0 = 9
    x2 = x.copy()
    x2[:, t0] += 5.0
    y2 = _np(layer(ember.tensor(x2)))
    np.testing.assert_array_equal(y2[:, :t0], y[:, :t0])    # earlier outputs unchanged
    assert np.abs(y2[:, t0] - y[:, t0]).max() > 1e-3        # output t0 sees input t0
    # and input t0 reaches exactly the outputs t0, t0+2, t0+4, t0+6 (kernel 4, dilation 2)
    changed = np.flatnonzero(np.abs(y2 - y).max(axis=(0, 2)) > 1e-6).tolist()
    assert changed == [9, 11, 13, 15]


# -- Conv2d --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kw", "pads"), [
    ({}, [(0, 0), (0, 0)]),
    ({"padding": (1, 2), "stride": (2, 1)}, [(1, 1), (2, 2)]),
    ({"padding": ((0, 1), (2, 0)), "dilation": (1, 2)}, [(0, 1), (2, 0)]),
    ({"padding": "same", "stride": 2}, [_same(7, 3, 2, 1), _same(6, 2, 2, 1)]),
    ({"groups": 3, "padding": 1}, [(1, 1), (1, 1)]),
])
def test_conv2d_matches_a_direct_loop(backend: str, kw: dict, pads: list) -> None:
    layer = Conv2d(3, 6, (3, 2), key=3, bias_init="normal", **kw)
    assert layer.weight.shape == (6, 3, 2, 3 // kw.get("groups", 1))
    x = RNG.standard_normal((2, 7, 6, 3)).astype(np.float32)
    s, d = _tup(kw.get("stride", 1), 2), _tup(kw.get("dilation", 1), 2)
    ref = conv_ref(x, _np(layer.weight), _np(layer.bias), s, pads, d, kw.get("groups", 1))
    np.testing.assert_allclose(_np(layer(ember.tensor(x))), ref, rtol=1e-4, atol=1e-5)


def test_conv2d_weight_gradient(backend: str) -> None:
    layer = Conv2d(2, 4, 3, padding="same", key=4)
    x = RNG.standard_normal((2, 5, 5, 2)).astype(np.float32)
    cot = RNG.standard_normal((2, 5, 5, 4)).astype(np.float32)
    with ember.GradientTape() as tape:
        loss = ember.sum(layer(ember.tensor(x)) * ember.tensor(cot))
    ref = conv_weight_grad_ref(x, _np(layer.weight), cot, 1, [(1, 1), (1, 1)], 1, 1)
    np.testing.assert_allclose(_np(tape.gradient(loss, layer.weight)), ref, rtol=1e-4, atol=1e-4)


def test_conv_initialisation_uses_receptive_field_fans(backend: str) -> None:
    w = _np(Conv2d(32, 64, 3, kernel_init="he_normal", key=5).weight)
    assert w.std() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.03)
    w = _np(Conv1d(16, 32, 5, key=6).weight)  # glorot_uniform: bound sqrt(6 / (80 + 160))
    assert np.abs(w).max() <= math.sqrt(6 / 240) and w.std() == pytest.approx(
        math.sqrt(2 / 240), rel=0.05)


def test_conv_errors(backend: str) -> None:
    with pytest.raises(ember.ShapeError, match=r"\(2, 9, 5\) has 5 channels.*\(N, L, C\).*"
                                               r"in_channels=4"):
        Conv1d(4, 2, 3)(ember.ones((2, 9, 5)))
    with pytest.raises(ember.ShapeError, match=r"channels-last \(N, L, C\), got shape \(9, 4\); "
                                               r"add a batch axis"):
        Conv1d(4, 2, 3)(ember.ones((9, 4)))
    with pytest.raises(ember.ShapeError, match=r"channels-last \(N, H, W, C\)"):
        Conv2d(3, 2, 3)(ember.ones((1, 3, 8)))
    with pytest.raises(ConfigError, match="in_channels=4 and out_channels=6 must both be "
                                          "divisible by groups=4"):
        Conv1d(4, 6, 3, groups=4)
    with pytest.raises(ConfigError, match="causal=True sets the padding itself"):
        Conv1d(2, 2, 3, causal=True, padding="same")
    with pytest.raises(ConfigError, match="padding must be 'valid', 'same', a non-negative int"):
        Conv2d(2, 2, 3, padding="full")
    with pytest.raises(ConfigError, match=r"kernel_size must be a positive int or 2 positive "
                                          r"ints, got \(3, 3, 3\)"):
        Conv2d(2, 2, (3, 3, 3))


def test_conv_configs(backend: str) -> None:
    for m in (Conv1d(2, 4, 3, causal=True, dilation=2, key=0),
              Conv1d(4, 4, 5, padding=(1, 3), groups=2, use_bias=False, key=1),
              Conv2d(3, 6, (3, 1), stride=(2, 1), padding=((1, 0), (0, 0)), key=2,
                     kernel_init={"name": "orthogonal", "gain": 2.0}, dtype=ember.float64)):
        m2 = _round_trip(m)
        x = ember.ones((1, 9, 7, m.in_channels) if isinstance(m, Conv2d) else (1, 9,
                                                                                 m.in_channels))
        np.testing.assert_allclose(_np(m2(x)), _np(m(x)), rtol=1e-6)  # same key, same weights
    assert repr(Conv1d(2, 4, 3, causal=True, key=0)) == \
        "Conv1d(2, 4, 3, causal=True)  # 28 parameters"


def test_conv_against_torch(backend: str) -> None:
    torch = pytest.importorskip("torch")
    c1 = Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2, key=7)
    t1 = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2)
    c2 = Conv2d(3, 4, (3, 2), stride=(1, 2), padding=(1, 0), key=8)
    t2 = torch.nn.Conv2d(3, 4, (3, 2), stride=(1, 2), padding=(1, 0))
    for ours, theirs, x in ((c1, t1, RNG.standard_normal((2, 13, 4))),
                            (c2, t2, RNG.standard_normal((2, 6, 7, 3)))):
        nd = x.ndim - 2
        x = x.astype(np.float32)
        with torch.no_grad():  # (C_out, *k, C_in) -> (C_out, C_in, *k)
            theirs.weight.copy_(torch.tensor(np.moveaxis(_np(ours.weight), -1, 1)))
            theirs.bias.copy_(torch.tensor(_np(ours.bias)))
            ty = theirs(torch.tensor(np.moveaxis(x, -1, 1))).numpy()
        np.testing.assert_allclose(_np(ours(ember.tensor(x))), np.moveaxis(ty, 1, -1),
                                   rtol=1e-4, atol=1e-5)
        assert nd in (1, 2)


# -- pooling -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("cls", "kind", "kernel", "kw", "pads"), [
    (MaxPool1d, "max", (2,), {}, [(0, 0)]),
    (MaxPool1d, "max", (3,), {"stride": 2, "padding": 1}, [(1, 1)]),
    (AvgPool1d, "avg", (3,), {"stride": 1, "padding": (2, 0)}, [(2, 0)]),
    (AvgPool1d, "avg", (3,), {"stride": 2, "padding": 1, "count_include_pad": True}, [(1, 1)]),
    (MaxPool2d, "max", (2, 3), {"stride": (2, 1), "padding": (1, 1)}, [(1, 1), (1, 1)]),
    (AvgPool2d, "avg", (2, 2), {}, [(0, 0), (0, 0)]),
    (AvgPool2d, "avg", (3, 3), {"stride": 2, "padding": 1}, [(1, 1), (1, 1)]),
])
def test_pooling_matches_a_direct_loop(backend: str, cls: type, kind: str, kernel: tuple,
                                       kw: dict, pads: list) -> None:
    layer = cls(kernel if len(kernel) > 1 else kernel[0], **kw)
    shape = (2, 9, 3) if len(kernel) == 1 else (2, 7, 6, 3)
    x = RNG.standard_normal(shape).astype(np.float32)
    stride = _tup(kw.get("stride", kernel), len(kernel))
    ref = pool_ref(x, kernel, stride, pads, kind, kw.get("count_include_pad", False))
    np.testing.assert_allclose(_np(layer(ember.tensor(x))), ref, rtol=1e-5, atol=1e-6)
    _round_trip(layer)


def test_max_pool_gradient_goes_to_the_maximum(backend: str) -> None:
    x = ember.tensor([[[1.0], [3.0], [2.0], [0.0]]])
    with ember.GradientTape() as tape:
        tape.watch(x)
        y = ember.sum(MaxPool1d(2)(x))
    assert tape.gradient(y, x).tolist() == [[[0.0], [1.0], [1.0], [0.0]]]


def test_global_pools(backend: str) -> None:
    x = RNG.standard_normal((2, 4, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(_np(GlobalAvgPool()(ember.tensor(x))), x.mean((1, 2)), rtol=1e-5,
                               atol=1e-6)
    assert GlobalAvgPool(keepdims=True)(ember.tensor(x)).shape == (2, 1, 1, 3)
    np.testing.assert_allclose(_np(GlobalMaxPool()(ember.tensor(x[:, 0]))), x[:, 0].max(1),
                               rtol=1e-6)
    with pytest.raises(ember.ShapeError, match=r"at least one spatial axis, got shape \(2, 3\)"):
        GlobalAvgPool()(ember.ones((2, 3)))
    _round_trip(GlobalAvgPool(keepdims=True))
    _round_trip(GlobalMaxPool())


def test_pool_errors(backend: str) -> None:
    with pytest.raises(ember.ShapeError, match=r"channels-last \(N, H, W, C\), got shape "
                                               r"\(2, 5, 3\)"):
        MaxPool2d(2)(ember.ones((2, 5, 3)))
    with pytest.raises(ConfigError, match="must be smaller than the window"):
        MaxPool1d(2, padding=2)
    with pytest.raises(ConfigError, match="kernel_size must be a positive int"):
        AvgPool2d(0)
    assert repr(MaxPool2d(2, stride=1)) == "MaxPool2d(2, stride=1)"


@pytest.mark.parametrize(("layer", "fits"), [
    (MaxPool2d(4), (1, 1)), (AvgPool2d(4), (1, 1)), (MaxPool2d(5, stride=1, padding=1), (2, 2)),
    (AvgPool2d((2, 4), stride=1), (3, 1))])
def test_a_window_larger_than_the_input_is_an_error(backend: str, layer: ember_nn.Module,
                                                    fits: tuple[int, int]) -> None:
    # NumPy and MLX returned an empty (1, 0, 0, 1) tensor here (NaN after a mean), torch raised
    op = "max_pool" if isinstance(layer, MaxPool2d) else "avg_pool"
    with pytest.raises(ember.ShapeError, match=rf"{op}: the window \(\d, [45]\) does not fit "
                                               r"the input's spatial shape \(2, 2\).*stride"):
        layer(ember.ones((1, 2, 2, 1)))
    assert layer(ember.ones((1, 4, 4, 1))).shape == (1, *fits, 1)  # a 4x4 input fits


def test_a_kernel_larger_than_the_input_is_an_error(backend: str) -> None:
    with pytest.raises(ember.ShapeError, match=r"conv2d: input \(1, 2, 2, 3\).*smaller than the "
                                               r"dilated kernel \(3, 3\)"):
        Conv2d(3, 4, 3, key=0)(ember.ones((1, 2, 2, 3)))
    with pytest.raises(ember.ShapeError, match=r"conv1d: .*smaller than the dilated kernel"):
        Conv1d(1, 1, 3, dilation=2, key=0)(ember.ones((1, 4, 1)))
    assert Conv2d(3, 4, 3, padding="same", key=0)(ember.ones((1, 2, 2, 3))).shape == (1, 2, 2, 4)


def test_pooling_against_torch(backend: str) -> None:
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 7, 6, 3)).astype(np.float32)
    tx = torch.tensor(np.moveaxis(x, -1, 1))
    for ours, theirs in ((MaxPool2d(3, stride=2, padding=1), torch.nn.MaxPool2d(3, 2, 1)),
                         (AvgPool2d(3, stride=2, padding=1, count_include_pad=True),
                          torch.nn.AvgPool2d(3, 2, 1)),
                         (AvgPool2d(2), torch.nn.AvgPool2d(2))):
        np.testing.assert_allclose(_np(ours(ember.tensor(x))),
                                   np.moveaxis(theirs(tx).numpy(), 1, -1), rtol=1e-5, atol=1e-6)
