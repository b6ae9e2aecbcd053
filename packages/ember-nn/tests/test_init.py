"""Initialisers: statistics against their formulas, orthogonality, fans, determinism, ``get``."""

from __future__ import annotations

import functools
import math

import ember
import numpy as np
import pytest
from ember_nn import ConfigError, init

KEY = ember.random.key(7)


def _stats(w: ember.Tensor) -> tuple[float, float, float]:
    a = np.asarray(w, dtype=np.float64)
    return float(a.mean()), float(a.std()), float(np.abs(a).max())


def _check_moments(w: ember.Tensor, mean: float, std: float, rtol: float = 0.03) -> None:
    m, s, _ = _stats(w)
    assert abs(m - mean) < 6 * std / math.sqrt(w.size) + 1e-7, (m, mean)
    assert s == pytest.approx(std, rel=rtol), (s, std)


def test_fans_follow_the_dense_and_conv_layouts() -> None:
    assert init.calculate_fans(()) == (1, 1)
    assert init.calculate_fans((5,)) == (5, 5)
    assert init.calculate_fans((64, 32)) == (64, 32)          # Dense (in, out)
    assert init.calculate_fans((16, 5, 8)) == (40, 80)        # Conv1d (C_out, K, C_in)
    assert init.calculate_fans((16, 3, 3, 8)) == (72, 144)    # Conv2d (C_out, KH, KW, C_in)


@pytest.mark.parametrize(("name", "shape", "std", "bound"), [
    ("glorot_uniform", (256, 512), math.sqrt(2 / 768), math.sqrt(6 / 768)),
    ("xavier_uniform", (256, 512), math.sqrt(2 / 768), math.sqrt(6 / 768)),
    ("glorot_normal", (256, 512), math.sqrt(2 / 768), None),
    ("he_uniform", (256, 512), math.sqrt(2 / 256), math.sqrt(6 / 256)),
    ("kaiming_normal", (256, 512), math.sqrt(2 / 256), None),
    ("he_normal", (64, 3, 3, 32), math.sqrt(2 / 288), None),   # receptive-field fan_in
    ("lecun_normal", (400, 300), math.sqrt(1 / 400), None),
    ("lecun_uniform", (400, 300), math.sqrt(1 / 400), math.sqrt(3 / 400)),
])
def test_variance_scaling_statistics(backend: str, name: str, shape: tuple[int, ...],
                                     std: float, bound: float | None) -> None:
    w = init.get(name)(KEY, shape)
    assert w.shape == shape and w.dtype is ember.float32 and w.backend == backend
    _check_moments(w, 0.0, std)
    if bound is not None:
        assert _stats(w)[2] <= bound * (1 + 1e-6)
        assert _stats(w)[2] > 0.99 * bound


def test_variance_scaling_options(backend: str) -> None:
    shape = (64, 3, 3, 32)                                  # fan_in 288, fan_out 576
    _check_moments(init.he_normal(KEY, shape, mode="fan_out"), 0.0, math.sqrt(2 / 576))
    _check_moments(init.he_normal(KEY, shape, negative_slope=1.0), 0.0, math.sqrt(1 / 288))
    _check_moments(init.glorot_uniform(KEY, (300, 300), gain=2.0), 0.0, 2 * math.sqrt(2 / 600))
    t = init.variance_scaling(KEY, (300, 400), scale=2.0, distribution="truncated_normal")
    _check_moments(t, 0.0, math.sqrt(2 / 300))
    assert _stats(t)[2] <= 2 * math.sqrt(2 / 300) / 0.87962566103423978 * (1 + 1e-5)
    with pytest.raises(ember.ArgumentError, match="mode must be"):
        init.variance_scaling(KEY, (3, 3), mode="fan_sideways")
    with pytest.raises(ember.ArgumentError, match="distribution must be"):
        init.variance_scaling(KEY, (3, 3), distribution="cauchy")


def test_plain_distributions(backend: str) -> None:
    _check_moments(init.normal(KEY, (300, 300), mean=1.0, stddev=0.02), 1.0, 0.02)
    _check_moments(init.normal(KEY, (300, 300)), 0.0, 1.0)
    t = init.truncated_normal(KEY, (300, 300), mean=0.5, stddev=2.0)
    _check_moments(t, 0.5, 2.0 * 0.87962566103423978)
    a = np.asarray(t)
    assert a.min() >= 0.5 - 4.0 - 1e-5 and a.max() <= 0.5 + 4.0 + 1e-5
    u = np.asarray(init.uniform(KEY, (300, 300), low=-3.0, high=1.0))
    assert u.min() >= -3.0 and u.max() < 1.0
    assert u.mean() == pytest.approx(-1.0, abs=0.03)
    assert u.std() == pytest.approx(4 / math.sqrt(12), rel=0.02)


def test_constants(backend: str) -> None:
    assert init.zeros(None, (2, 3)).tolist() == [[0.0] * 3] * 2
    assert init.ones(None, (2,), ember.float64).dtype is ember.float64
    assert init.ones(KEY, 3).tolist() == [1.0, 1.0, 1.0]
    assert init.constant(None, (2,), value=0.25).tolist() == [0.25, 0.25]
    assert init.constant(None, (2,), ember.int32, value=3).tolist() == [3, 3]


@pytest.mark.parametrize("shape", [(6, 6), (9, 4), (4, 9), (8, 3, 3, 2)])
def test_orthogonal_is_orthonormal(backend: str, shape: tuple[int, ...]) -> None:
    w = init.orthogonal(KEY, shape, gain=1.5)
    assert w.shape == shape
    m = np.asarray(w, dtype=np.float64).reshape(shape[0], -1) / 1.5
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=2e-5)


def test_orthogonal_matches_the_sign_corrected_qr(backend: str) -> None:
    # the construction itself: Q of the key's normal draw, columns signed by diag(R)
    w = np.asarray(init.orthogonal(KEY, (5, 3)), dtype=np.float64)
    a = np.asarray(ember.random.normal(KEY, (5, 3)), dtype=np.float64)
    q, r = np.linalg.qr(a)
    np.testing.assert_allclose(w, q * np.where(np.diag(r) >= 0, 1.0, -1.0), atol=1e-5)


def test_orthogonal_errors(backend: str) -> None:
    with pytest.raises(ember.ShapeError, match="at least 2 dimensions"):
        init.orthogonal(KEY, (5,))


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                  "lecun_normal", "orthogonal", "normal", "truncated_normal",
                                  "uniform"])
def test_same_key_same_values_different_key_different(backend: str, name: str) -> None:
    fn = init.get(name)
    a, b = fn(KEY, (8, 5)), fn(KEY, (8, 5))
    c = fn(ember.random.key(8), (8, 5))
    assert a.tolist() == b.tolist()
    assert not np.allclose(np.asarray(a), np.asarray(c))
    assert fn(3, (2, 2)).tolist() == fn(ember.random.key(3), (2, 2)).tolist()  # int seed


def test_dtypes(backend: str) -> None:
    w = init.he_normal(KEY, (200, 100), ember.float64)
    assert w.dtype is ember.float64
    _check_moments(w, 0.0, math.sqrt(2 / 200))
    assert init.glorot_uniform(KEY, (4, 4), ember.float16).dtype is ember.float16
    assert init.orthogonal(KEY, (4, 4), ember.float64).dtype is ember.float64
    with pytest.raises(ember.DTypeError, match="real floating"):
        init.normal(KEY, (2,), ember.int32)
    with pytest.raises(ember.ShapeError, match="negative dimension"):
        init.zeros(None, (2, -1))


def test_get_resolves_names_aliases_dicts_and_functions(backend: str) -> None:
    assert init.get("xavier_uniform") is init.glorot_uniform
    assert init.get("kaiming_uniform") is init.he_uniform
    assert init.get("kaiming_normal") is init.he_normal
    assert init.get("xavier_normal") is init.glorot_normal
    assert init.get(init.orthogonal) is init.orthogonal
    fn = init.get({"name": "normal", "stddev": 0.02})
    assert fn(KEY, (3,)).tolist() == init.normal(KEY, (3,), stddev=0.02).tolist()
    with pytest.raises(ConfigError, match=r"unknown initialiser 'glorot'.*known: \['constant'"):
        init.get("glorot")
    with pytest.raises(ConfigError, match="does not take options"):
        init.get({"name": "normal", "sigma": 1.0})
    with pytest.raises(ConfigError, match="needs a 'name'"):
        init.get({"stddev": 1.0})
    with pytest.raises(ConfigError, match="is a name"):
        init.get(3)


def test_spec_of_gives_the_json_form() -> None:
    assert init.spec_of(init.kaiming_normal) == "he_normal"
    assert init.spec_of(functools.partial(init.normal, stddev=0.02)) == {"name": "normal",
                                                                         "stddev": 0.02}
    assert init.spec_of(lambda k, s, d: None) is None
    assert init.spec_of("ones") == "ones"
