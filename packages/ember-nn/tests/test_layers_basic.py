"""Dense, Embedding, Dropout, Flatten, Sequential and Residual: values against NumPy, gradients,
config round trips and error messages."""

from __future__ import annotations

import functools
import json

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError, init
from ember_nn.layers import Dense, Dropout, Embedding, Flatten, Residual, Sequential

RNG = np.random.default_rng(0)


def _np(t: ember.Tensor) -> np.ndarray:
    return np.asarray(t, dtype=np.float64)


def _round_trip(m: ember_nn.Module) -> ember_nn.Module:
    """serialize -> JSON text -> deserialize, checking the config survives unchanged."""
    data = json.loads(json.dumps(ember_nn.serialize(m)))
    m2 = ember_nn.deserialize(data)
    assert type(m2) is type(m)
    assert m2.get_config() == m.get_config()
    assert [(k, v.shape, v.dtype, v.trainable) for k, v in m2.named_variables()] == \
           [(k, v.shape, v.dtype, v.trainable) for k, v in m.named_variables()]
    return m2


# -- Dense ---------------------------------------------------------------------------------------
def test_dense_forward_matches_numpy_on_leading_axes(backend: str) -> None:
    layer = Dense(4, 3, activation="tanh", key=1)
    x = RNG.standard_normal((2, 5, 4)).astype(np.float32)
    y = layer(ember.tensor(x))
    ref = np.tanh(x @ _np(layer.weight) + _np(layer.bias))
    assert y.shape == (2, 5, 3)
    np.testing.assert_allclose(_np(y), ref, rtol=1e-5, atol=1e-6)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)
    assert [k for k, _ in layer.named_variables()] == ["weight", "bias"]
    np.testing.assert_allclose(_np(layer(ember.tensor(x[0, 0]))), ref[0, 0], rtol=1e-5)  # 1-d


def test_dense_without_bias_and_with_initialisers(backend: str) -> None:
    layer = Dense(3, 2, use_bias=False, kernel_init="ones")
    assert layer.bias is None and layer.num_parameters() == 6
    assert layer(ember.ones((1, 3))).tolist() == [[3.0, 3.0]]
    layer = Dense(3, 2, kernel_init={"name": "constant", "value": 0.5}, bias_init="ones")
    assert layer(ember.ones((1, 3))).tolist() == [[2.5, 2.5]]


def test_dense_gradients_match_the_analytic_numpy_ones(backend: str) -> None:
    layer = Dense(4, 3, key=2)
    x = RNG.standard_normal((2, 5, 4)).astype(np.float32)
    with ember.GradientTape() as tape:
        loss = ember.sum(ember.tanh(layer(ember.tensor(x))) ** 2)
    gw, gb = tape.gradient(loss, [layer.weight, layer.bias])
    a = np.tanh(x @ _np(layer.weight) + _np(layer.bias))
    dy = (2 * a * (1 - a * a)).reshape(-1, 3)
    np.testing.assert_allclose(_np(gw), x.reshape(-1, 4).T @ dy, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(gb), dy.sum(0), rtol=1e-4, atol=1e-5)


def test_dense_dtype_and_determinism(backend: str) -> None:
    assert Dense(2, 2, dtype=ember.float64).weight.dtype is ember.float64
    assert Dense(2, 2).weight.dtype is ember.float32
    assert Dense(3, 4, key=5).weight.tolist() == Dense(3, 4, key=5).weight.tolist()
    with ember_nn.seeded(3):
        a = Dense(3, 4)
    with ember_nn.seeded(3):
        b = Dense(3, 4)
    assert a.weight.tolist() == b.weight.tolist()
    assert a.weight.tolist() != Dense(3, 4, key=6).weight.tolist()
    with pytest.raises(ember.DTypeError, match="dtype must be None"):
        Dense(2, 2, dtype=ember.int32)


def test_dense_errors_name_the_sizes(backend: str) -> None:
    layer = Dense(3, 2)
    with pytest.raises(ember.ShapeError, match=r"\(4, 5\) has 5 features.*in_features=3"):
        layer(ember.ones((4, 5)))
    with pytest.raises(ConfigError, match="in_features must be a positive int, got 0"):
        Dense(0, 2)
    with pytest.raises(ConfigError, match=r"out_features must be a positive int, got 2\.5"):
        Dense(2, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown initialiser 'glorot'"):
        Dense(2, 2, kernel_init="glorot")
    with pytest.raises(ConfigError, match="unknown activation"):
        Dense(2, 2, activation="relu6")


def test_dense_config_round_trip(backend: str) -> None:
    m = Dense(3, 2, activation="relu", kernel_init="he_normal", dtype=ember.float64, key=4)
    m2 = _round_trip(m)
    assert m2.weight.tolist() == m.weight.tolist()  # same key: same weights
    assert repr(m) == "Dense(3, 2, activation='relu', kernel_init='he_normal', " \
                      "dtype=float64)  # 8 parameters"
    # functions that have a name go into the config by that name
    m = Dense(3, 2, activation=ember_nn.relu, kernel_init=init.orthogonal,
              bias_init=functools.partial(init.constant, value=0.1))
    cfg = m.get_config()
    assert cfg["kernel_init"] == "orthogonal"
    assert cfg["bias_init"] == {"name": "constant", "value": 0.1}
    assert cfg["activation"] == {"__callable__": "relu"}
    assert _round_trip(m).bias.tolist() == pytest.approx([0.1, 0.1])
    custom = Dense(3, 2, kernel_init=lambda k, s, d: ember.zeros(s, dtype=d))
    assert custom.weight.tolist() == [[0.0, 0.0]] * 3
    with pytest.raises(ConfigError, match=r"Dense\.kernel_init"):
        custom.get_config()


def test_dense_against_torch_linear(backend: str) -> None:
    torch = pytest.importorskip("torch")
    layer = Dense(5, 3, key=0)
    lin = torch.nn.Linear(5, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(_np(layer.weight).T))
        lin.bias.copy_(torch.tensor(_np(layer.bias)))
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(_np(layer(ember.tensor(x))),
                               lin(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


# -- Embedding -----------------------------------------------------------------------------------
def test_embedding_lookup_and_gradient(backend: str) -> None:
    emb = Embedding(6, 3, key=0)
    ids = np.array([[0, 5, 2], [2, 2, 1]])
    table = _np(emb.weight)
    y = emb(ember.tensor(ids))
    assert y.shape == (2, 3, 3)
    np.testing.assert_array_equal(_np(y), table[ids])
    g = RNG.standard_normal((2, 3, 3)).astype(np.float32)
    with ember.GradientTape() as tape:
        loss = ember.sum(emb(ember.tensor(ids)) * ember.tensor(g))
    ref = np.zeros((6, 3))
    np.add.at(ref, ids, g)
    np.testing.assert_allclose(_np(tape.gradient(loss, emb.weight)), ref, rtol=1e-6, atol=1e-6)
    assert emb([1, 1]).shape == (2, 3)  # lists of ints work
    # the default init is N(0, 1)
    assert np.std(_np(Embedding(1000, 64, key=1).weight)) == pytest.approx(1.0, rel=0.03)


def test_embedding_errors(backend: str) -> None:
    emb = Embedding(4, 2)
    with pytest.raises(ember.OutOfBoundsError, match=r"id 4 is outside the table of 4 rows"):
        emb(ember.tensor([0, 4]))
    with pytest.raises(ember.OutOfBoundsError, match=r"id -1 is outside"):
        emb(ember.tensor([-1, 0]))
    with pytest.raises(ember.DTypeError, match=r"ids must be integers, got ember\.float32"):
        emb(ember.tensor([0.0, 1.0]))
    assert emb(ember.zeros((0,), dtype=ember.int64)).shape == (0, 2)


def test_embedding_config_round_trip(backend: str) -> None:
    m = Embedding(7, 3, init={"name": "normal", "stddev": 0.02}, key=3)
    m2 = _round_trip(m)
    assert m2.weight.tolist() == m.weight.tolist()
    assert repr(m).startswith("Embedding(7, 3, init={'name': 'normal', 'stddev': 0.02})")


# -- Dropout -------------------------------------------------------------------------------------
def test_dropout_statistics_and_scaling(backend: str) -> None:
    drop = Dropout(0.3, key=0)
    y = _np(drop(ember.ones((200, 200))))
    kept = y != 0
    assert 1 - kept.mean() == pytest.approx(0.3, abs=0.02)
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    x = ember.tensor(RNG.standard_normal((50, 40)).astype(np.float32))
    with ember.GradientTape() as tape:
        tape.watch(x)
        out = drop(x)
        loss = ember.sum(out)
    mask = _np(out) != 0
    np.testing.assert_allclose(_np(tape.gradient(loss, x)), mask / 0.7, rtol=1e-6)


def test_dropout_is_the_identity_in_eval_mode_and_at_rate_zero(backend: str) -> None:
    x = ember.tensor(RNG.standard_normal((4, 4)).astype(np.float32))
    drop = Dropout(0.5).eval()
    assert drop(x) is x
    assert Dropout(0.0)(x) is x
    drop.train()
    assert drop(x).tolist() != x.tolist()


def test_dropout_masks_are_fresh_per_call_and_repeatable(backend: str) -> None:
    a, b = Dropout(0.5, key=9), Dropout(0.5, key=9)
    x = ember.ones((16, 16))
    first, second = a(x).tolist(), a(x).tolist()
    assert first != second                                # a new mask each call
    assert [b(x).tolist(), b(x).tolist()] == [first, second]  # same key: same sequence
    assert a.calls == 2
    # an explicit key is used as is and leaves the counter alone
    assert a(x, key=ember.random.fold_in(a.key, 0)).tolist() == first and a.calls == 2
    with ember_nn.seeded(1):
        c = Dropout(0.5)
    with ember_nn.seeded(1):
        d = Dropout(0.5)
    assert c(x).tolist() == d(x).tolist()


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "0.5", True, None])
def test_dropout_rate_validation(rate: object) -> None:
    with pytest.raises(ConfigError, match="rate must be a number in \\[0, 1\\)"):
        Dropout(rate)  # type: ignore[arg-type]


def test_dropout_config_round_trip(backend: str) -> None:
    m = Dropout(0.25, key=ember.random.key(4))
    m2 = _round_trip(m)
    x = ember.ones((8, 8))
    assert m2(x).tolist() == m(x).tolist()
    assert repr(m) == "Dropout(0.25)"


# -- Flatten -------------------------------------------------------------------------------------
def test_flatten_values_and_axes(backend: str) -> None:
    x = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(_np(Flatten()(ember.tensor(x))), x.reshape(2, -1))
    np.testing.assert_array_equal(_np(Flatten(start_axis=1, end_axis=2)(ember.tensor(x))),
                                  x.reshape(2, 12, 5))
    np.testing.assert_array_equal(_np(Flatten(start_axis=0)(ember.tensor(x))), x.reshape(-1))
    with pytest.raises(ember.ShapeError, match=r"axes 3..-1 do not fit.*\(2, 3\)"):
        Flatten(start_axis=3)(ember.ones((2, 3)))
    _round_trip(Flatten(start_axis=2))


# -- Sequential and Residual ---------------------------------------------------------------------
def test_sequential_applies_layers_in_order(backend: str) -> None:
    model = Sequential(Dense(4, 8, key=0), ember_nn.ReLU(), Dense(8, 2, key=1))
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    w0, b0 = _np(model[0].weight), _np(model[0].bias)
    w2, b2 = _np(model[2].weight), _np(model[2].bias)
    ref = np.maximum(x @ w0 + b0, 0) @ w2 + b2
    np.testing.assert_allclose(_np(model(ember.tensor(x))), ref, rtol=1e-5, atol=1e-6)
    assert len(model) == 3 and [type(m).__name__ for m in model] == ["Dense", "ReLU", "Dense"]
    assert model[-1] is model.layers[2]
    head = model[:2]
    assert isinstance(head, Sequential) and head[0] is model[0]
    assert list(model.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.2.weight",
                                        "layers.2.bias"]
    with pytest.raises(ember.OutOfBoundsError, match="index 3 is out of range for 3 layers"):
        model[3]


def test_sequential_append_and_config(backend: str) -> None:
    model = Sequential(Dense(2, 3, key=0))
    assert model.append(ember_nn.Tanh()) is model
    model.append(Dense(3, 1, key=1))
    assert len(model) == 3
    m2 = _round_trip(model)
    x = ember.ones((2, 2))
    np.testing.assert_allclose(_np(m2(x)), _np(model(x)), rtol=1e-6)
    with pytest.raises(ConfigError, match=r"layer 1: expected an ember_nn\.Module, got function"):
        Sequential(Dense(2, 2), ember_nn.relu)
    with pytest.raises(ConfigError, match="append: layer 3"):
        model.append("relu")  # type: ignore[arg-type]


def test_sequential_gradients_reach_every_layer(backend: str) -> None:
    model = Sequential(Dense(3, 4, key=0), ember_nn.Tanh(), Dense(4, 1, key=1))
    with ember.GradientTape() as tape:
        loss = ember.sum(model(ember.ones((2, 3))))
    grads = tape.gradient(loss, model.trainable_variables)
    assert [g.shape for g in grads] == [(3, 4), (4,), (4, 1), (1,)]
    # d loss / d b2 = batch size
    assert grads[3].tolist() == [2.0]


def test_residual_adds_the_input_or_the_shortcut(backend: str) -> None:
    inner = Dense(4, 4, key=0)
    block = Residual(inner)
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    ref = x @ _np(inner.weight) + _np(inner.bias) + x
    np.testing.assert_allclose(_np(block(ember.tensor(x))), ref, rtol=1e-5, atol=1e-6)
    proj = Residual(Dense(4, 6, key=1), shortcut=Dense(4, 6, use_bias=False, key=2))
    p_inner, p_short = proj.inner, proj.shortcut
    ref = x @ _np(p_inner.weight) + _np(p_inner.bias) + x @ _np(p_short.weight)
    np.testing.assert_allclose(_np(proj(ember.tensor(x))), ref, rtol=1e-5, atol=1e-6)
    assert list(proj.state_dict()) == ["inner.weight", "inner.bias", "shortcut.weight"]
    m2 = _round_trip(proj)
    np.testing.assert_allclose(_np(m2(ember.tensor(x))), _np(proj(ember.tensor(x))), rtol=1e-6)
    _round_trip(block)


def test_residual_shape_errors(backend: str) -> None:
    with pytest.raises(ember.ShapeError, match=r"inner output has shape \(2, 6\) but the input "
                                               r"\(2, 4\); give a shortcut"):
        Residual(Dense(4, 6))(ember.ones((2, 4)))
    with pytest.raises(ember.ShapeError, match=r"\(2, 6\) but the shortcut's output \(2, 5\)"):
        Residual(Dense(4, 6), shortcut=Dense(4, 5))(ember.ones((2, 4)))
    with pytest.raises(ConfigError, match=r"Residual: inner: expected an ember_nn\.Module"):
        Residual(ember_nn.relu)  # type: ignore[arg-type]
