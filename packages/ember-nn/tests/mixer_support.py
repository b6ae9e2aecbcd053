"""The generic checks of a sequence or channel mixer, shared by the mixer tests: causality,
step == forward, the same numbers on every backend as on NumPy, finite differences, config round
trips, a loss that falls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest

RNG = np.random.default_rng(14)


def randn(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def as_np(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().numpy()
    return np.asarray(t.numpy() if isinstance(t, ember.Tensor) else t, dtype=np.float64)


def has_float64(backend: str) -> bool:
    """Whether the backend's default device holds float64 (MLX: its CPU only)."""
    device = ember.zeros(()).device.split(":")[0]
    return ember.float64 in ember.load_backend(backend).capabilities.dtypes.get(device, ())


# (rtol, atol) against float64 references: float32 sums of products of O(1) values, and float64
TOLERANCE = {"float32": (1e-3, 1e-4), "float64": (1e-9, 1e-10)}


def precision(backend: str, name: str) -> Any:
    """``ember.float32`` or ``ember.float64`` by name (a skip where float64 is missing)."""
    if name == "float64" and not has_float64(backend):
        pytest.skip(f"{backend} has no float64 on its default device")
    return getattr(ember, name)


def run(layer: Any, x: np.ndarray) -> np.ndarray:
    return as_np(layer(ember.asarray(x, dtype=layer_dtype(layer))))


def layer_dtype(layer: Any) -> Any:
    return layer.variables[0].dtype


def stepped(layer: Any, x: np.ndarray) -> np.ndarray:
    """The layer run one position at a time from init_state."""
    state = layer.init_state(x.shape[0])
    xs = ember.asarray(x, dtype=layer_dtype(layer))
    outs = []
    for t in range(x.shape[1]):
        y, state = layer.step(xs[:, t], state)
        outs.append(as_np(y))
    return np.stack(outs, axis=1)


def check_causal(layer: Any, x: np.ndarray, t: int) -> None:
    """Changing the inputs after position t leaves the outputs up to t unchanged (and the
    change does reach later outputs)."""
    y = run(layer, x)
    x2 = x.copy()
    x2[:, t + 1:] = randn(*x2[:, t + 1:].shape, scale=3.0)
    y2 = run(layer, x2)
    np.testing.assert_array_equal(y[:, :t + 1], y2[:, :t + 1])
    assert not np.allclose(y[:, t + 1:], y2[:, t + 1:])


def check_step(layer: Any, x: np.ndarray, rtol: float = 2e-5, atol: float = 2e-6) -> None:
    np.testing.assert_allclose(stepped(layer, x), run(layer, x), rtol=rtol, atol=atol)


def check_same_as_numpy(build: Callable[[], Any], x: np.ndarray, rtol: float = 2e-5,
                        atol: float = 2e-6) -> None:
    """The layer built on the current backend from numpy's weights gives numpy's outputs
    (forward and step)."""
    with ember.use_backend("numpy"):
        ref_layer = build()
        weights = {k: v.numpy() for k, v in ref_layer.state_dict().items()}
        want, want_step = run(ref_layer, x), stepped(ref_layer, x)
    layer = build()
    layer.load_state_dict(weights)
    np.testing.assert_allclose(run(layer, x), want, rtol=rtol, atol=atol)
    np.testing.assert_allclose(stepped(layer, x), want_step, rtol=rtol, atol=atol)


def check_finite_differences(layer: Any, x: np.ndarray, per_variable: int = 3,
                             h: float = 1e-6) -> None:
    """Tape gradients of ``sum(layer(x) * g)`` against central differences, in float64, for
    some entries of the input and of every variable."""
    g = randn(*run(layer, x).shape)

    def loss() -> float:
        return float(ember.sum(layer(ember.asarray(x, dtype=ember.float64)) * ember.asarray(
            g, dtype=ember.float64)))

    xt = ember.asarray(x, dtype=ember.float64)
    names = list(layer.named_trainable_variables())
    with ember.GradientTape() as tape:
        tape.watch(xt)
        out = ember.sum(layer(xt) * ember.asarray(g, dtype=ember.float64))
    grads = tape.gradient(out, [xt, *layer.trainable_variables])
    gx = as_np(grads[0])
    for i in [tuple(int(RNG.integers(n)) for n in x.shape) for _ in range(4)]:
        up, dn = x.copy().astype(np.float64), x.copy().astype(np.float64)
        up[i] += h
        dn[i] -= h
        fx = float(ember.sum(layer(ember.asarray(up)) * ember.asarray(g, dtype=ember.float64)))
        fd = (fx - float(ember.sum(layer(ember.asarray(dn)) * ember.asarray(
            g, dtype=ember.float64)))) / (2 * h)
        assert gx[i] == pytest.approx(fd, rel=1e-5, abs=1e-7), f"input{i}"
    for name, var, grad in zip(names, layer.trainable_variables, grads[1:], strict=True):
        base = var.numpy().astype(np.float64)
        an = as_np(grad)
        for _ in range(per_variable):
            i = tuple(int(RNG.integers(n)) for n in base.shape)
            vals = []
            for sign in (1, -1):
                w = base.copy()
                w[i] += sign * h
                var.assign(ember.asarray(w))
                vals.append(loss())
            var.assign(ember.asarray(base))
            assert an[i] == pytest.approx((vals[0] - vals[1]) / (2 * h), rel=1e-5, abs=1e-7), \
                f"{name}{i}"


def check_round_trip(layer: Any, x: np.ndarray) -> None:
    """serialize/deserialize (through JSON) rebuilds the layer; with the weights loaded it
    gives the same outputs."""
    import json

    data = json.loads(json.dumps(ember_nn.serialize(layer)))
    again = ember_nn.deserialize(data)
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    again.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(run(again, x), run(layer, x))


def check_loss_falls(layer: Any, x: np.ndarray, target: np.ndarray, steps: int = 30,
                     lr: float = 3e-2) -> tuple[float, float]:
    """A few Adam steps on ``mean((layer(x) - target)^2)``: the loss falls by a third or more."""
    xt, tt = ember.asarray(x), ember.asarray(target)
    opt = ember_nn.Adam(lr)
    step = ember_nn.value_and_grad(layer, lambda: ember.mean((layer(xt) - tt) ** 2))
    losses = []
    for _ in range(steps):
        loss, grads = step()
        losses.append(float(loss))
        opt.update(layer, grads)
    assert losses[-1] < 0.67 * losses[0], losses
    return losses[0], losses[-1]


