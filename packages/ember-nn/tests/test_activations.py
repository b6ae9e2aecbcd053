"""Activation functions and modules against NumPy formulas, names, and configs."""

from __future__ import annotations

import math

import ember
import ember_nn
import numpy as np
import pytest

X = np.linspace(-4, 4, 17).astype(np.float32)
_erf = np.vectorize(math.erf)
REFERENCE = {
    "identity": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softplus": lambda x: np.log1p(np.exp(x)),
    "lecun_tanh": lambda x: 1.7159 * np.tanh(2 * x / 3),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(),
}
MODULES = {"identity": ember_nn.Identity, "relu": ember_nn.ReLU, "gelu": ember_nn.GELU,
           "silu": ember_nn.SiLU, "sigmoid": ember_nn.Sigmoid, "tanh": ember_nn.Tanh,
           "softplus": ember_nn.Softplus, "lecun_tanh": ember_nn.LeCunTanh,
           "leaky_relu": ember_nn.LeakyReLU, "elu": ember_nn.ELU, "softmax": ember_nn.Softmax}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_functions_and_modules_match_numpy(backend: str, name: str) -> None:
    x = ember.asarray(X)
    want = REFERENCE[name](X.astype(np.float64))
    fn = ember_nn._core._activation_names.get(name)
    np.testing.assert_allclose(fn(x).numpy(), want, rtol=2e-5, atol=2e-6)
    module = MODULES[name]()
    np.testing.assert_allclose(module(x).numpy(), want, rtol=2e-5, atol=2e-6)
    again = ember_nn.deserialize(ember_nn.serialize(module))
    assert type(again) is type(module)


def test_gelu_tanh_approximation_and_parameters(backend: str) -> None:
    x = ember.asarray(X)
    approx = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X ** 3)))
    np.testing.assert_allclose(ember_nn.GELU(approximate="tanh")(x).numpy(), approx, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(ember_nn.gelu(x, approximate="tanh").numpy(), approx, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(ember_nn.LeakyReLU(0.2)(x).numpy(), np.where(X >= 0, X, 0.2 * X),
                               rtol=1e-6)
    np.testing.assert_allclose(ember_nn.ELU(2.0)(x).numpy(),
                               np.where(X > 0, X, 2.0 * np.expm1(X)), rtol=1e-5, atol=1e-6)


def test_lecun_tanh_gradient(backend: str) -> None:
    x = ember.Variable(X)
    with ember.GradientTape() as tape:
        y = ember.sum(ember_nn.lecun_tanh(x))
    want = 1.7159 * (2 / 3) * (1 - np.tanh(2 * X / 3) ** 2)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), want, rtol=1e-5, atol=1e-6)


def test_names_resolve_and_unknown_names_fail() -> None:
    get, name_of = ember_nn._core._activation_names.get, ember_nn._core._activation_names.name_of
    assert get("swish") is ember_nn.silu and get(None) is ember_nn.identity
    assert name_of(ember_nn.lecun_tanh) == "lecun_tanh" and name_of(lambda x: x) is None
    with pytest.raises(ember_nn.ConfigError, match="unknown activation 'relu6'"):
        get("relu6")


def test_gelu_takes_none_or_tanh_as_torch_and_ember_nn_do(backend: str) -> None:
    x = ember.asarray(X)
    exact = 0.5 * X * (1 + _erf(X / np.sqrt(2)))
    np.testing.assert_allclose(ember_nn.GELU()(x).numpy(), exact, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(ember_nn.GELU(approximate="none")(x).numpy(), exact, rtol=2e-5,
                               atol=2e-6)
    assert ember_nn.serialize(ember_nn.GELU(approximate="tanh")) == {
        "class": "GELU", "config": {"approximate": "tanh"}}
    for bad, hint in [(True, r"; pass approximate='tanh'"), (False, r"; pass approximate='none'"),
                      ("exact", r"$"), (None, r"$")]:
        with pytest.raises(ember_nn.ConfigError, match=r"GELU: approximate must be 'none' or "
                                                       rf"'tanh', got {bad!r}{hint}"):
            ember_nn.GELU(approximate=bad)  # type: ignore[arg-type]
    with pytest.raises(ember.EmberError, match=r"approximate must be 'none' or 'tanh', got True"):
        ember_nn.gelu(x, approximate=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ember_nn.gelu(x, True)  # type: ignore[misc]  # the old positional bool


def test_gelu_configs_written_with_a_bool_still_load(backend: str) -> None:
    """Configs (checkpoints) from before approximate took 'none'/'tanh' stored a bool."""
    x = ember.asarray(X)
    approx = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X ** 3)))
    exact = 0.5 * X * (1 + _erf(X / np.sqrt(2)))
    for stored, mode, want in [(True, "tanh", approx), (False, "none", exact)]:
        layer = ember_nn.deserialize({"class": "GELU", "config": {"approximate": stored}})
        assert isinstance(layer, ember_nn.GELU) and layer.approximate == mode
        np.testing.assert_allclose(layer(x).numpy(), want, rtol=2e-5, atol=2e-6)
        assert layer.get_config() == {"approximate": mode}  # written back in the new form
    with pytest.raises(ember_nn.ConfigError, match=r"approximate must be 'none' or 'tanh', got 1"):
        ember_nn.deserialize({"class": "GELU", "config": {"approximate": 1}})
