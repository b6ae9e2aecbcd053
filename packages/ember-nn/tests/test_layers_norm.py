"""LayerNorm, RMSNorm and BatchNorm against their NumPy formulas: forward values, gradients,
BatchNorm's running statistics in training and eval mode, configs and errors."""

from __future__ import annotations

import json

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.layers import BatchNorm, LayerNorm, RMSNorm

RNG = np.random.default_rng(1)


def _np(t: ember.Tensor) -> np.ndarray:
    return np.asarray(t, dtype=np.float64)


def _round_trip(m: ember_nn.Module) -> ember_nn.Module:
    m2 = ember_nn.deserialize(json.loads(json.dumps(ember_nn.serialize(m))))
    assert type(m2) is type(m) and m2.get_config() == m.get_config()
    assert [(k, v.shape, v.trainable) for k, v in m2.named_variables()] == \
           [(k, v.shape, v.trainable) for k, v in m.named_variables()]
    return m2


def _layer_norm_ref(x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    mu = x.mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


# -- LayerNorm / RMSNorm -------------------------------------------------------------------------
def test_layer_norm_matches_the_formula(backend: str) -> None:
    x = RNG.standard_normal((2, 3, 5)).astype(np.float32) * 3 + 1
    ln = LayerNorm(5, eps=1e-3)
    ln.weight.assign(RNG.standard_normal(5).astype(np.float32))
    ln.bias.assign(RNG.standard_normal(5).astype(np.float32))
    ref = _layer_norm_ref(x, (-1,), 1e-3) * _np(ln.weight) + _np(ln.bias)
    np.testing.assert_allclose(_np(ln(ember.tensor(x))), ref, rtol=1e-4, atol=1e-5)
    two = LayerNorm([3, 5], elementwise_affine=False)
    assert two.num_parameters() == 0
    np.testing.assert_allclose(_np(two(ember.tensor(x))), _layer_norm_ref(x, (1, 2), 1e-5),
                               rtol=1e-4, atol=1e-5)


def test_layer_norm_gradients(backend: str) -> None:
    x = RNG.standard_normal((4, 6)).astype(np.float32)
    g = RNG.standard_normal((4, 6)).astype(np.float32)
    ln = LayerNorm(6)
    with ember.GradientTape() as tape:
        loss = ember.sum(ln(ember.tensor(x)) * ember.tensor(g))
    gw, gb = tape.gradient(loss, [ln.weight, ln.bias])
    xhat = _layer_norm_ref(x, (-1,), 1e-5)
    np.testing.assert_allclose(_np(gw), (g * xhat).sum(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(gb), g.sum(0), rtol=1e-5, atol=1e-5)


def test_rms_norm_matches_the_formula_and_gradient(backend: str) -> None:
    x = RNG.standard_normal((3, 4, 8)).astype(np.float32)
    rms = RMSNorm(8, eps=1e-4)
    rms.weight.assign(RNG.standard_normal(8).astype(np.float32))
    xhat = x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-4)
    np.testing.assert_allclose(_np(rms(ember.tensor(x))), xhat * _np(rms.weight),
                               rtol=1e-4, atol=1e-5)
    g = RNG.standard_normal(x.shape).astype(np.float32)
    with ember.GradientTape() as tape:
        loss = ember.sum(rms(ember.tensor(x)) * ember.tensor(g))
    np.testing.assert_allclose(_np(tape.gradient(loss, rms.weight)), (g * xhat).sum((0, 1)),
                               rtol=1e-4, atol=1e-5)
    assert RMSNorm(8, elementwise_affine=False).num_parameters() == 0


def test_norm_errors_and_configs(backend: str) -> None:
    with pytest.raises(ember.ShapeError, match=r"input of shape \(2, 4\) does not end in the "
                                               r"normalised shape \(5,\)"):
        LayerNorm(5)(ember.ones((2, 4)))
    with pytest.raises(ember.ShapeError, match=r"\(3,\) does not end in the normalised shape "
                                               r"\(2, 3\)"):
        RMSNorm([2, 3])(ember.ones((3,)))
    with pytest.raises(ConfigError, match="features must be a positive int, got 0"):
        LayerNorm(0)
    with pytest.raises(ConfigError, match="eps must be a non-negative number"):
        RMSNorm(3, eps=-1.0)
    for m in (LayerNorm([3, 5], eps=1e-3), RMSNorm(4, dtype=ember.float64),
              LayerNorm(2, elementwise_affine=False)):
        _round_trip(m)
    assert repr(LayerNorm(4, eps=1e-3)) == "LayerNorm(4, eps=0.001)  # 8 parameters"


def test_norms_against_torch(backend: str) -> None:
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((3, 7)).astype(np.float32)
    ln = LayerNorm(7)
    ln.weight.assign(RNG.standard_normal(7).astype(np.float32))
    tln = torch.nn.LayerNorm(7)
    with torch.no_grad():
        tln.weight.copy_(torch.tensor(_np(ln.weight)))
    np.testing.assert_allclose(_np(ln(ember.tensor(x))), tln(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    if hasattr(torch.nn, "RMSNorm"):
        trms = torch.nn.RMSNorm(7, eps=1e-6)
        np.testing.assert_allclose(_np(RMSNorm(7)(ember.tensor(x))),
                                   trms(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


# -- BatchNorm -----------------------------------------------------------------------------------
def _bn_ref(x: np.ndarray, axis: int, mean: np.ndarray, var: np.ndarray, w: np.ndarray,
            b: np.ndarray, eps: float) -> np.ndarray:
    shape = [1] * x.ndim
    shape[axis] = -1
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) \
        + b.reshape(shape)


@pytest.mark.parametrize(("shape", "axis"), [((16, 3), -1), ((4, 5, 6, 3), -1), ((4, 3, 7), 1)])
def test_batch_norm_training_eval_and_running_stats(backend: str, shape: tuple[int, ...],
                                                    axis: int) -> None:
    bn = BatchNorm(3, momentum=0.2, eps=1e-3, axis=axis)
    bn.weight.assign(np.array([0.5, 2.0, -1.0], dtype=np.float32))
    bn.bias.assign(np.array([0.1, 0.0, 0.3], dtype=np.float32))
    w, b = _np(bn.weight), _np(bn.bias)
    ax = axis % len(shape)
    reduce = tuple(i for i in range(len(shape)) if i != ax)
    n = int(np.prod([shape[i] for i in reduce]))
    run_m, run_v = np.zeros(3), np.ones(3)
    for step in range(3):
        x = (RNG.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        y = bn(ember.tensor(x))
        m, v = x.mean(reduce), x.var(reduce)
        np.testing.assert_allclose(_np(y), _bn_ref(x, ax, m, v, w, b, 1e-3), rtol=1e-4, atol=1e-4)
        run_m = 0.8 * run_m + 0.2 * m
        run_v = 0.8 * run_v + 0.2 * v * n / (n - 1)
        np.testing.assert_allclose(_np(bn.running_mean), run_m, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(bn.running_var), run_v, rtol=1e-5, atol=1e-6)
    bn.eval()
    x = RNG.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(_np(bn(ember.tensor(x))), _bn_ref(x, ax, run_m, run_v, w, b, 1e-3),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_np(bn.running_mean), run_m, rtol=1e-5)  # eval leaves them


def test_batch_norm_variables_and_gradients(backend: str) -> None:
    bn = BatchNorm(4)
    assert [(k, v.trainable) for k, v in bn.named_variables()] == [
        ("weight", True), ("bias", True), ("running_mean", False), ("running_var", False)]
    assert len(bn.trainable_variables) == 2
    x = RNG.standard_normal((8, 4)).astype(np.float32)
    g = RNG.standard_normal((8, 4)).astype(np.float32)
    with ember.GradientTape() as tape:
        loss = ember.sum(bn(ember.tensor(x)) * ember.tensor(g))
    gw, gb = tape.gradient(loss, [bn.weight, bn.bias])
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(_np(gw), (g * xhat).sum(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_np(gb), g.sum(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(bn.running_mean), 0.1 * x.mean(0), rtol=1e-5, atol=1e-6)
    assert BatchNorm(4, affine=False).num_parameters() == 8  # the running statistics


def test_batch_norm_against_torch(backend: str) -> None:
    torch = pytest.importorskip("torch")
    bn = BatchNorm(3)
    tbn = torch.nn.BatchNorm2d(3)
    for _ in range(2):
        x = RNG.standard_normal((4, 5, 6, 3)).astype(np.float32)
        y = bn(ember.tensor(x))
        ty = tbn(torch.tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).detach().numpy()
        np.testing.assert_allclose(_np(y), ty, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_np(bn.running_mean), tbn.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(bn.running_var), tbn.running_var.numpy(), rtol=1e-5, atol=1e-6)
    bn.eval()
    tbn.eval()
    x = RNG.standard_normal((2, 5, 6, 3)).astype(np.float32)
    ty = tbn(torch.tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).detach().numpy()
    np.testing.assert_allclose(_np(bn(ember.tensor(x))), ty, rtol=1e-4, atol=1e-4)


def test_batch_norm_errors_and_config(backend: str) -> None:
    bn = BatchNorm(3)
    with pytest.raises(ember.ShapeError, match=r"\(2, 4\) has 4 channels on axis -1, the layer 3"):
        bn(ember.ones((2, 4)))
    with pytest.raises(ember.ShapeError, match="more than one value per channel"):
        bn(ember.ones((1, 3)))
    assert bn.eval()(ember.ones((1, 3))).shape == (1, 3)  # eval takes single examples
    with pytest.raises(ember.ShapeError, match=r"must be \(N, \.\.\., C\)"):
        bn(ember.ones((3,)))
    with pytest.raises(ember.ShapeError, match="is the batch axis"):
        BatchNorm(2, axis=0)(ember.ones((2, 2)))
    with pytest.raises(ember.DTypeError, match="must be floating"):
        BatchNorm(2).eval()(ember.ones((2, 2), dtype=ember.int32))
    with pytest.raises(ConfigError, match=r"momentum must be a number in \[0, 1\], got 1\.5"):
        BatchNorm(3, momentum=1.5)
    m = BatchNorm(3, momentum=0.05, axis=1, dtype=ember.float64)
    m2 = _round_trip(m)
    assert m2.running_var.dtype is ember.float64
    assert repr(m) == "BatchNorm(3, momentum=0.05, axis=1, dtype=float64)  # 12 parameters"
