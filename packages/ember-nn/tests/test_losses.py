"""Losses: values against NumPy references for every reduction, gradients against analytic
NumPy gradients and finite differences, stability at +-1e4, torch where installed, errors,
Module shells and names."""

from __future__ import annotations

import json
import math
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn.losses import (
    BinaryCrossEntropyLoss,
    CategoricalCrossEntropyLoss,
    HuberLoss,
    MAELoss,
    MSELoss,
    SparseCategoricalCrossEntropyLoss,
    binary_cross_entropy,
    categorical_cross_entropy,
    get,
    huber,
    mae,
    mse,
    name_of,
    sparse_categorical_cross_entropy,
)

REDUCTIONS = ["mean", "sum", "none"]


def _precision(backend: str) -> tuple[Any, float]:
    """float64 where the backend's default device declares it (mlx: CPU only), else float32."""
    device = ember.zeros(()).device.split(":")[0]
    if ember.float64 in ember.load_backend(backend).capabilities.dtypes.get(device, ()):
        return ember.float64, 1e-9
    return ember.float32, 2e-5


def _t(a: Any, dtype: Any = None) -> ember.Tensor:
    return ember.asarray(np.asarray(a), dtype=dtype)


def _np(x: ember.Tensor) -> np.ndarray:
    return np.asarray(x.numpy(), dtype=np.float64)


def _reduce(loss: np.ndarray, reduction: str, count: float | None = None) -> np.ndarray:
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else total / (loss.size if count is None else count)


def _close(got: ember.Tensor, want: Any, tol: float) -> None:
    np.testing.assert_allclose(_np(got), np.asarray(want, dtype=np.float64), rtol=tol, atol=tol)


def _grad(fn: Any, x: ember.Tensor) -> ember.Tensor:
    with ember.GradientTape() as tape:
        tape.watch(x)
        out = fn(x)
    return tape.gradient(out, x)


def _np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _np_softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-_np_softplus(-x))


RNG = np.random.default_rng(0)
P = RNG.normal(size=(4, 3))
T = RNG.normal(size=(4, 3)) * 2  # some |d| above and below huber's delta
X = RNG.normal(size=(5, 4)) * 2  # logits: 5 examples, 4 classes
LABELS = np.array([0, 3, 1, 3, 2])
SOFT = RNG.dirichlet(np.ones(4), size=5)
BIN_T = (RNG.random((5, 4)) > 0.5).astype(np.float64)


# -- regression ------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_values_and_gradients(backend: str, reduction: str) -> None:
    dtype, tol = _precision(backend)
    p, t = _t(P, dtype), _t(T, dtype)
    d = P - T
    delta = 1.5
    h = np.where(np.abs(d) <= delta, 0.5 * d**2, delta * (np.abs(d) - 0.5 * delta))
    _close(mse(p, t, reduction=reduction), _reduce(d**2, reduction), tol)
    _close(mae(p, t, reduction=reduction), _reduce(np.abs(d), reduction), tol)
    _close(huber(p, t, delta=delta, reduction=reduction), _reduce(h, reduction), tol)
    assert mse(p, t, reduction=reduction).shape == (() if reduction != "none" else P.shape)
    scale = 1.0 / d.size if reduction == "mean" else 1.0
    _close(_grad(lambda x: mse(x, t, reduction=reduction), p), 2 * d * scale, tol)
    _close(_grad(lambda x: mae(x, t, reduction=reduction), p), np.sign(d) * scale, tol)
    _close(_grad(lambda x: huber(x, t, delta=delta, reduction=reduction), p),
           np.where(np.abs(d) <= delta, d, delta * np.sign(d)) * scale, tol)


def test_huber_default_delta_matches_the_formula(backend: str) -> None:
    p = _t([0.0, 0.5, -3.0, 10.0], ember.float32)
    got = huber(p, ember.zeros((4,)), reduction="none")
    assert got.tolist() == [0.0, 0.125, 2.5, 9.5]


# -- binary cross-entropy --------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pw", [None, 2.5, "per_class"])
def test_binary_cross_entropy_from_logits(backend: str, reduction: str, pw: Any) -> None:
    dtype, tol = _precision(backend)
    x, t = _t(X, dtype), _t(BIN_T * 0.8 + 0.1, dtype)  # soft targets too
    tn = BIN_T * 0.8 + 0.1
    w_np = 1.0 if pw is None else (np.array([0.5, 1.0, 2.0, 4.0]) if pw == "per_class" else pw)
    w = _t(w_np, dtype) if pw == "per_class" else pw
    want = w_np * tn * _np_softplus(-X) + (1 - tn) * _np_softplus(X)
    got = binary_cross_entropy(x, t, pos_weight=w, reduction=reduction)
    _close(got, _reduce(want, reduction), tol)
    scale = 1.0 / X.size if reduction == "mean" else 1.0
    g = (-w_np * tn * _np_sigmoid(-X) + (1 - tn) * _np_sigmoid(X)) * scale
    _close(_grad(lambda v: binary_cross_entropy(v, t, pos_weight=w, reduction=reduction), x), g, tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_from_probabilities_clips(backend: str, reduction: str) -> None:
    dtype, tol = _precision(backend)
    probs = _np_sigmoid(X)
    probs[0, 0], probs[1, 1] = 0.0, 1.0  # clipped to [eps, 1 - eps]: finite
    eps = 1e-6
    pc = np.clip(probs, eps, 1 - eps)
    want = -(2.0 * BIN_T * np.log(pc) + (1 - BIN_T) * np.log1p(-pc))
    got = binary_cross_entropy(_t(probs, dtype), _t(BIN_T, dtype), from_logits=False,
                               pos_weight=2.0, eps=eps, reduction=reduction)
    _close(got, _reduce(want, reduction), max(tol, 1e-6))
    inner = probs[(probs > eps) & (probs < 1 - eps)]
    assert inner.size == probs.size - 2
    p = _t(_np_sigmoid(X), dtype)
    pn = _np_sigmoid(X)
    scale = 1.0 / X.size if reduction == "mean" else 1.0
    g = -(BIN_T / pn - (1 - BIN_T) / (1 - pn)) * scale
    _close(_grad(lambda v: binary_cross_entropy(v, _t(BIN_T, dtype), from_logits=False,
                                                reduction=reduction), p), g, max(tol, 1e-5))


def test_binary_cross_entropy_takes_boolean_targets(backend: str) -> None:
    x = _t(X, ember.float32)
    a = binary_cross_entropy(x, _t(BIN_T > 0.5))
    b = binary_cross_entropy(x, _t(BIN_T, ember.float32))
    assert float(a) == pytest.approx(float(b), rel=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_binary_cross_entropy_refuses_targets_outside_0_1(backend: str, from_logits: bool) -> None:
    # it accepted them (a -1/+1 label gave a finite, meaningless loss)
    p = _t(np.full((2, 3), 0.5), ember.float32)
    t = _t(np.array([[1.0, -1.0, 0.0], [2.0, 1.0, 0.5]]), ember.float32)
    with pytest.raises(ember.ArgumentError, match=r"binary_cross_entropy: targets must be in "
                                                  r"\[0, 1\]; 2 of 6 are outside \(they range "
                                                  r"from -1 to 2\).*\(t \+ 1\) / 2"):
        binary_cross_entropy(p, t, from_logits=from_logits)
    with pytest.raises(ember.ArgumentError, match="targets must be in"):
        BinaryCrossEntropyLoss(from_logits=from_logits)(p, t)
    edge = _t(np.array([[0.0, 1.0, 0.25]] * 2), ember.float32)  # the ends are allowed
    assert math.isfinite(float(binary_cross_entropy(p, edge, from_logits=from_logits)))
    nan = _t(np.array([[0.0, np.nan, 1.0]] * 2), ember.float32)  # NaN is TerminateOnNaN's job
    assert math.isnan(float(binary_cross_entropy(p, nan, from_logits=from_logits)))


def test_binary_cross_entropy_refuses_probabilities_outside_0_1(backend: str) -> None:
    logits = _t(np.array([[2.0, -0.5], [0.3, 0.9]]), ember.float32)
    t = _t(np.array([[1.0, 0.0], [0.0, 1.0]]), ember.float32)
    with pytest.raises(ember.ArgumentError, match=r"probabilities must be in \[0, 1\]; 2 of 4 "
                                                  r"are outside.*pass from_logits=True"):
        binary_cross_entropy(logits, t, from_logits=False)
    assert math.isfinite(float(binary_cross_entropy(logits, t)))  # as logits they are fine


def test_out_of_range_labels_fail_inside_a_training_step(backend: str) -> None:
    # the check runs while the tape records (MLX's gather would not check)
    model = ember_nn.Dense(4, 3, key=0)
    trainer = ember_nn.Trainer(model, ember_nn.SGD(0.1), progress=False,
                               loss="sparse_categorical_cross_entropy")
    x = np.ones((4, 4), np.float32)
    with pytest.raises(ember.OutOfBoundsError, match=r"labels must be class indices in \[0, 3\); "
                                                     r"found 3"):
        trainer.fit(x, np.array([0, 1, 2, 3]))
    with pytest.raises(ember.OutOfBoundsError, match=r"found -1"):
        trainer.fit(x, np.array([0, -1, 2, 1]))
    bce = ember_nn.Trainer(ember_nn.Dense(4, 1, key=0), ember_nn.SGD(0.1), progress=False,
                           loss="binary_cross_entropy")
    with pytest.raises(ember.ArgumentError, match=r"targets must be in \[0, 1\]"):
        bce.fit(x, np.array([[1.0], [-1.0], [1.0], [-1.0]], np.float32))


# -- categorical cross-entropy ---------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_categorical_cross_entropy_from_logits(backend: str, reduction: str, smoothing: float) -> None:
    dtype, tol = _precision(backend)
    ts = SOFT * (1 - smoothing) + smoothing / 4
    want = -(ts * _np_log_softmax(X)).sum(-1)
    x, t = _t(X, dtype), _t(SOFT, dtype)
    got = categorical_cross_entropy(x, t, label_smoothing=smoothing, reduction=reduction)
    _close(got, _reduce(want, reduction), tol)
    scale = 1.0 / 5 if reduction == "mean" else 1.0
    sm = np.exp(_np_log_softmax(X))
    g = (sm * ts.sum(-1, keepdims=True) - ts) * scale
    _close(_grad(lambda v: categorical_cross_entropy(v, t, label_smoothing=smoothing,
                                                     reduction=reduction), x), g, tol)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_categorical_cross_entropy_from_probabilities(backend: str, smoothing: float) -> None:
    dtype, tol = _precision(backend)
    probs = np.exp(_np_log_softmax(X))
    ts = SOFT * (1 - smoothing) + smoothing / 4
    want = -(ts * np.log(probs)).sum(-1)
    p = _t(probs, dtype)
    got = categorical_cross_entropy(p, _t(SOFT, dtype), from_logits=False,
                                    label_smoothing=smoothing, reduction="none")
    _close(got, want, max(tol, 1e-6))
    g = _grad(lambda v: categorical_cross_entropy(v, _t(SOFT, dtype), from_logits=False,
                                                  label_smoothing=smoothing), p)
    _close(g, -ts / probs / 5, max(tol, 1e-5))


def test_categorical_cross_entropy_along_another_axis(backend: str) -> None:
    dtype, tol = _precision(backend)
    x = RNG.normal(size=(2, 4, 3))  # classes on axis 1
    t = np.moveaxis(RNG.dirichlet(np.ones(4), size=(2, 3)), -1, 1)
    want = -(t * _np_log_softmax(x, axis=1)).sum(1)
    _close(categorical_cross_entropy(_t(x, dtype), _t(t, dtype), axis=1, reduction="none"),
           want, tol)


# -- sparse categorical cross-entropy --------------------------------------------------------------
def _np_sparse(x: np.ndarray, y: np.ndarray, s: float, ignore: int | None) -> tuple[np.ndarray, float]:
    logp = _np_log_softmax(x)
    valid = np.ones(y.shape, bool) if ignore is None else y != ignore
    safe = np.where(valid, y, 0)
    nll = -np.take_along_axis(logp, safe[:, None], axis=-1)[:, 0]
    loss = (1 - s) * nll + s * (-logp.mean(-1))
    return np.where(valid, loss, 0.0), float(valid.sum())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("smoothing", "ignore"), [(0.0, None), (0.0, -100), (0.3, None),
                                                   (0.3, -100), (0.1, 3)])
def test_sparse_categorical_cross_entropy(backend: str, reduction: str, smoothing: float,
                                          ignore: int | None) -> None:
    dtype, tol = _precision(backend)
    y = LABELS.copy()
    if ignore == -100:
        y[[1, 4]] = -100
    want, count = _np_sparse(X, y, smoothing, ignore)
    x, yt = _t(X, dtype), _t(y)
    got = sparse_categorical_cross_entropy(x, yt, ignore_index=ignore, label_smoothing=smoothing,
                                           reduction=reduction)
    _close(got, _reduce(want, reduction, count), tol)
    valid = np.ones(y.shape, bool) if ignore is None else y != ignore
    onehot = np.eye(4)[np.where(valid, y, 0)] * (1 - smoothing) + smoothing / 4
    g = (np.exp(_np_log_softmax(X)) - onehot) * valid[:, None]
    g = g / count if reduction == "mean" else g
    _close(_grad(lambda v: sparse_categorical_cross_entropy(
        v, yt, ignore_index=ignore, label_smoothing=smoothing, reduction=reduction), x), g, tol)


def test_sparse_categorical_cross_entropy_classes_on_axis_1(backend: str) -> None:
    dtype, tol = _precision(backend)
    x = RNG.normal(size=(2, 4, 3))  # (N, C, L), torch's layout
    y = RNG.integers(0, 4, size=(2, 3))
    want = -np.take_along_axis(_np_log_softmax(x, axis=1), y[:, None, :], axis=1)[:, 0]
    got = sparse_categorical_cross_entropy(_t(x, dtype), _t(y), axis=1, reduction="none")
    _close(got, want, tol)


def test_ignoring_every_label_gives_nan_like_torch(backend: str) -> None:
    x = _t(X[:2], ember.float32)
    y = _t(np.array([-1, -1]))
    with np.errstate(invalid="ignore"):
        assert np.isnan(float(sparse_categorical_cross_entropy(x, y, ignore_index=-1)))
    assert float(sparse_categorical_cross_entropy(x, y, ignore_index=-1, reduction="sum")) == 0.0


# -- stability -------------------------------------------------------------------------------------
def test_large_logits_give_finite_losses_and_gradients(backend: str) -> None:
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    x = _t(big, ember.float32)
    tb = _t(np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), ember.float32)
    bce = binary_cross_entropy(x, tb, reduction="none")
    want = np.array([[0.0, 1e4, np.log(2)], [1e4, 1e4, _np_softplus(np.array(-5.0))]])
    _close(bce, want, 1e-5)
    y = _t(np.array([0, 0]))
    sce = sparse_categorical_cross_entropy(x, y, reduction="none")
    _close(sce, [0.0, 2e4], 1e-5)
    cce = categorical_cross_entropy(x, _t(np.eye(3)[[0, 0]], ember.float32), reduction="none")
    _close(cce, [0.0, 2e4], 1e-5)
    for fn in (lambda v: binary_cross_entropy(v, tb, pos_weight=3.0),
               lambda v: sparse_categorical_cross_entropy(v, y, label_smoothing=0.1),
               lambda v: categorical_cross_entropy(v, _t(np.eye(3)[[0, 0]], ember.float32))):
        assert np.isfinite(float(fn(x)))
        assert np.isfinite(_np(_grad(fn, x))).all()
    g = _np(_grad(lambda v: sparse_categorical_cross_entropy(v, y), x))
    np.testing.assert_allclose(g, np.array([[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]]) / 2, atol=1e-6)


# -- finite differences ----------------------------------------------------------------------------
FD_CASES = {
    "mse": lambda x: mse(x, _t(SOFT)),
    "mae": lambda x: mae(x, _t(SOFT)),
    "huber": lambda x: huber(x, _t(SOFT), delta=0.7),
    "bce": lambda x: binary_cross_entropy(x, _t(BIN_T), pos_weight=1.7),
    "bce_probs": lambda x: binary_cross_entropy(ember.nn.sigmoid(x), _t(BIN_T), from_logits=False),
    "cce": lambda x: categorical_cross_entropy(x, _t(SOFT), label_smoothing=0.1),
    "sce": lambda x: sparse_categorical_cross_entropy(x, _t(np.array([0, -1, 1, 3, 2])),
                                                      ignore_index=-1, label_smoothing=0.2),
}


@pytest.mark.parametrize("case", sorted(FD_CASES))
def test_gradients_match_finite_differences(backend: str, case: str) -> None:
    dtype, _ = _precision(backend)
    if dtype is not ember.float64:
        pytest.skip(f"{backend} has no float64 on its default device; analytic checks cover it")
    fn, h = FD_CASES[case], 1e-6
    x0 = X * 0.7 + 0.05  # keeps mae/huber away from their kinks
    g = _np(_grad(fn, _t(x0, dtype)))
    fd = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        up, dn = x0.copy(), x0.copy()
        up[i] += h
        dn[i] -= h
        fd[i] = (float(fn(_t(up, dtype))) - float(fn(_t(dn, dtype)))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


# -- torch -----------------------------------------------------------------------------------------
def test_matches_torch_functional(backend: str) -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    tx = torch.tensor(X, dtype=torch.float64)
    x = _t(X, ember.float32)
    y = LABELS.copy()
    y[2] = -100
    for s in (0.0, 0.25):
        want = F.cross_entropy(tx, torch.tensor(y), ignore_index=-100, label_smoothing=s)
        got = sparse_categorical_cross_entropy(x, _t(y), ignore_index=-100, label_smoothing=s)
        assert float(got) == pytest.approx(want.item(), rel=1e-5)
        want = F.cross_entropy(tx, torch.tensor(SOFT), label_smoothing=s, reduction="sum")
        got = categorical_cross_entropy(x, _t(SOFT, ember.float32), label_smoothing=s, reduction="sum")
        assert float(got) == pytest.approx(want.item(), rel=1e-5)
    pw = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
    want = F.binary_cross_entropy_with_logits(tx, torch.tensor(BIN_T), pos_weight=pw)
    got = binary_cross_entropy(x, _t(BIN_T, ember.float32), pos_weight=_t(pw.numpy(), ember.float32))
    assert float(got) == pytest.approx(want.item(), rel=1e-5)
    probs = torch.sigmoid(tx)
    want = F.binary_cross_entropy(probs, torch.tensor(BIN_T))
    got = binary_cross_entropy(_t(probs.numpy(), ember.float32), _t(BIN_T, ember.float32),
                               from_logits=False)
    assert float(got) == pytest.approx(want.item(), rel=1e-5)
    tp, tt = torch.tensor(P), torch.tensor(T)
    for fn, ref in ((huber, F.huber_loss(tp, tt, delta=1.0)), (mse, F.mse_loss(tp, tt)),
                    (mae, F.l1_loss(tp, tt))):
        assert float(fn(_t(P, ember.float32), _t(T, ember.float32))) == pytest.approx(ref.item(), rel=1e-5)


# -- modules and names -----------------------------------------------------------------------------
def test_modules_call_their_function_and_round_trip_their_config(backend: str) -> None:
    x, t, y = _t(X, ember.float32), _t(SOFT, ember.float32), _t(LABELS)
    cases = [
        (MSELoss(reduction="sum"), (x, t), mse(x, t, reduction="sum")),
        (MAELoss(), (x, t), mae(x, t)),
        (HuberLoss(0.5, reduction="none"), (x, t), huber(x, t, delta=0.5, reduction="none")),
        (BinaryCrossEntropyLoss(pos_weight=[1.0, 2.0, 3.0, 4.0]), (x, t),
         binary_cross_entropy(x, t, pos_weight=_t([1.0, 2.0, 3.0, 4.0], ember.float32))),
        (CategoricalCrossEntropyLoss(label_smoothing=0.1), (x, t),
         categorical_cross_entropy(x, t, label_smoothing=0.1)),
        (SparseCategoricalCrossEntropyLoss(ignore_index=3, label_smoothing=0.2), (x, y),
         sparse_categorical_cross_entropy(x, y, ignore_index=3, label_smoothing=0.2)),
    ]
    for module, args, want in cases:
        assert isinstance(module, ember_nn.Module)
        np.testing.assert_allclose(_np(module(*args)), _np(want), rtol=1e-6)
        data = json.loads(json.dumps(ember_nn.serialize(module)))
        again = ember_nn.deserialize(data)
        assert type(again) is type(module) and again.get_config() == module.get_config()
        np.testing.assert_allclose(_np(again(*args)), _np(want), rtol=1e-6)
    assert HuberLoss(0.5).get_config() == {"delta": 0.5, "reduction": "mean"}


def test_get_and_name_of() -> None:
    names = ["mse", "mae", "huber", "binary_cross_entropy", "categorical_cross_entropy",
             "sparse_categorical_cross_entropy"]
    for n in names:
        assert name_of(get(n)) == n
    assert get(mse) is mse and name_of(len) is None
    with pytest.raises(ember_nn.ConfigError, match=r"unknown loss 'msee'; known: \['binary_cross"):
        get("msee")


# -- errors ----------------------------------------------------------------------------------------
def test_errors_name_the_values(backend: str) -> None:
    x = _t(X, ember.float32)
    with pytest.raises(ember.ShapeError, match=r"predictions of shape \(5, 4\) and targets of shape \(4, 5\)"):
        mse(x, _t(X.T, ember.float32))
    with pytest.raises(ember.ShapeError, match=r"\(5, 4\).*target_probs of shape \(5, 3\)"):
        categorical_cross_entropy(x, _t(SOFT[:, :3], ember.float32))
    with pytest.raises(ember.ShapeError, match=r"labels of shape \(4,\) do not fit logits of shape \(5, 4\)"):
        sparse_categorical_cross_entropy(x, _t(LABELS[:4]))
    with pytest.raises(ember.DTypeError, match=r"labels must be integer class indices, got ember\.float32"):
        sparse_categorical_cross_entropy(x, _t(LABELS, ember.float32))
    with pytest.raises(ember.DTypeError, match=r"target_probs must be floating.*got ember\.int64"):
        categorical_cross_entropy(x, _t(np.zeros((5, 4), np.int64)))
    with pytest.raises(ember.DTypeError, match=r"predictions must be floating point, got ember\.int64"):
        mse(_t(np.array([1, 2])), _t(np.array([1.0, 2.0]), ember.float32))
    with pytest.raises(ember.OutOfBoundsError, match=r"in \[0, 4\); found -2, 4, 7"):
        sparse_categorical_cross_entropy(x, _t(np.array([0, 4, -2, 7, 1])))
    with pytest.raises(ember.OutOfBoundsError, match=r"in \[0, 4\) or ignore_index=-100; found 5"):
        sparse_categorical_cross_entropy(x, _t(np.array([0, 5, -100, 1, 1])), ignore_index=-100)
    with pytest.raises(ember.ArgumentError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        mae(x, x, reduction="avg")
    for s in (1.0, -0.1):
        with pytest.raises(ember.ArgumentError, match=rf"label_smoothing must be a number in \[0, 1\), got {s}"):
            sparse_categorical_cross_entropy(x, _t(LABELS), label_smoothing=s)
    with pytest.raises(ember.ArgumentError, match="delta must be a positive number, got 0"):
        huber(x, x, delta=0)
    with pytest.raises(ember.ShapeError, match=r"pos_weight of shape \(3,\) does not broadcast to the logits' shape \(5, 4\)"):
        binary_cross_entropy(x, x, pos_weight=_t([1.0, 2.0, 3.0], ember.float32))
    with pytest.raises(ember.ShapeError, match=r"axis 2 is out of range for logits of shape \(5, 4\)"):
        sparse_categorical_cross_entropy(x, _t(LABELS), axis=2)
    with pytest.raises(ember.ArgumentError, match="reduction must be"):
        MSELoss(reduction="average")
    with pytest.raises(ember_nn.ConfigError, match="pos_weight must be a number or a list"):
        BinaryCrossEntropyLoss(pos_weight=_t([1.0], ember.float32))
