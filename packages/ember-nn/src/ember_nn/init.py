"""Initialisers: functions ``(key, shape, dtype=ember.float32, **options) -> Tensor``.

Layers take an initialiser as a name (``"he_normal"``), a dict naming one with its options
(``{"name": "normal", "stddev": 0.02}``; both go into JSON configs), or any function of that
signature. :func:`get` resolves all three.

Fans (what the variance-scaling initialisers divide by):

- a matrix of shape ``(in, out)`` — a :class:`~ember_nn.Dense` weight — has
  ``fan_in = in`` and ``fan_out = out``;
- a kernel of rank 3 or more is in ``ember.nn.conv``'s layout ``(C_out, *kernel,
  C_in/groups)``, and its fans count the receptive field: ``fan_in = C_in/groups * prod(kernel)``,
  ``fan_out = C_out * prod(kernel)`` (PyTorch's fans for the same convolution);
- a vector of length ``n`` has ``fan_in = fan_out = n``; a scalar has 1.

The ``*_normal`` initialisers draw from a plain normal distribution with the stated standard
deviation (PyTorch's convention); Keras and JAX truncate at two standard deviations and rescale
instead: ``variance_scaling(..., distribution="truncated_normal")`` does that.

>>> w = ember_nn.init.he_normal(ember.random.key(0), (256, 128))
>>> w.shape, round(float(ember.std(w)), 2)
((256, 128), 0.09)
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import ember

from ._core._errors import ConfigError

__all__ = [
    "calculate_fans", "constant", "get", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform",
    "normal", "ones", "orthogonal", "spec_of", "truncated_normal", "uniform",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros",
]

Initializer = Callable[..., ember.Tensor]

# the standard deviation of a unit normal truncated to [-2, 2]
_TRUNC2_STD = 0.87962566103423978


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise ember.ShapeError(f"an initialiser shape must be an int or a tuple of ints, got "
                               f"{shape!r}") from None
    if any(s < 0 for s in out):
        raise ember.ShapeError(f"negative dimension in initialiser shape {out}")
    return out


def _float(op: str, dtype: Any) -> ember.DType:
    d = ember.float32 if dtype is None else dtype
    if not isinstance(d, ember.DType) or not d.is_floating:
        raise ember.DTypeError(f"{op}: random initialisers make real floating tensors; got "
                               f"dtype={dtype!r} (use ember.float32, float64, float16 or bfloat16)")
    return d


def _work(d: ember.DType) -> ember.DType:
    """The dtype samples are drawn in: float64 for float64, float32 otherwise (then cast)."""
    return ember.float64 if d is ember.float64 else ember.float32


def _cast(x: ember.Tensor, d: ember.DType) -> ember.Tensor:
    return x if x.dtype is d else ember.astype(x, d)


def calculate_fans(shape: Any) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape under the conventions of this module.

    >>> ember_nn.init.calculate_fans((64, 32)), ember_nn.init.calculate_fans((16, 3, 3, 8))
    ((64, 32), (72, 144))
    """
    s = _shape(shape)
    if len(s) == 0:
        return 1, 1
    if len(s) == 1:
        return s[0], s[0]
    if len(s) == 2:
        return s[0], s[1]
    receptive = math.prod(s[1:-1])
    return s[-1] * receptive, s[0] * receptive


def variance_scaling(key: Any, shape: Any, dtype: Any = ember.float32, *, scale: float = 1.0,
                     mode: str = "fan_in", distribution: str = "normal") -> ember.Tensor:
    """Samples of variance ``scale / n``, ``n`` the fan picked by ``mode`` ("fan_in",
    "fan_out" or "fan_avg"), from a "normal", "truncated_normal" (at 2 sigma, rescaled) or
    "uniform" distribution. Every Glorot/He/LeCun initialiser is one of these.

    >>> w = ember_nn.init.variance_scaling(ember.random.key(1), (100, 50), mode="fan_avg",
    ...                                    distribution="uniform")
    >>> bool(ember.max(ember.abs(w)) <= (3 / 75) ** 0.5)
    True
    """
    d = _float("variance_scaling", dtype)
    s = _shape(shape)
    fan_in, fan_out = calculate_fans(s)
    fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    if mode not in fans:
        raise ember.ArgumentError(f"variance_scaling: mode must be 'fan_in', 'fan_out' or "
                                  f"'fan_avg', got {mode!r}")
    if not scale > 0:
        raise ember.ArgumentError(f"variance_scaling: scale must be positive, got {scale!r}")
    variance = scale / max(1.0, fans[mode])
    if distribution == "normal":
        x = ember.random.normal(key, s, _work(d), scale=math.sqrt(variance))
    elif distribution == "truncated_normal":
        x = ember.random.truncated_normal(key, -2.0, 2.0, s, _work(d))
        x = x * (math.sqrt(variance) / _TRUNC2_STD)
    elif distribution == "uniform":
        bound = math.sqrt(3.0 * variance)
        x = ember.random.uniform(key, s, _work(d), low=-bound, high=bound)
    else:
        raise ember.ArgumentError(f"variance_scaling: distribution must be 'normal', "
                                  f"'truncated_normal' or 'uniform', got {distribution!r}")
    return _cast(x, d)


def glorot_uniform(key: Any, shape: Any, dtype: Any = ember.float32, *,
                   gain: float = 1.0) -> ember.Tensor:
    """Uniform in ``±gain * sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio; Xavier).

    >>> ember_nn.init.glorot_uniform(ember.random.key(0), (3, 4)).shape
    (3, 4)
    """
    return variance_scaling(key, shape, dtype, scale=gain * gain, mode="fan_avg",
                            distribution="uniform")


def glorot_normal(key: Any, shape: Any, dtype: Any = ember.float32, *,
                  gain: float = 1.0) -> ember.Tensor:
    """Normal with std ``gain * sqrt(2 / (fan_in + fan_out))``.

    >>> ember_nn.init.glorot_normal(ember.random.key(0), (3, 4)).shape
    (3, 4)
    """
    return variance_scaling(key, shape, dtype, scale=gain * gain, mode="fan_avg",
                            distribution="normal")


def _he_scale(negative_slope: float) -> float:
    return 2.0 / (1.0 + negative_slope * negative_slope)


def he_uniform(key: Any, shape: Any, dtype: Any = ember.float32, *, negative_slope: float = 0.0,
               mode: str = "fan_in") -> ember.Tensor:
    """Uniform in ``±sqrt(6 / ((1 + a²) n))``, n = fan_in (or fan_out), a the leaky slope (He).

    >>> ember_nn.init.he_uniform(ember.random.key(0), (3, 4)).shape
    (3, 4)
    """
    return variance_scaling(key, shape, dtype, scale=_he_scale(negative_slope), mode=mode,
                            distribution="uniform")


def he_normal(key: Any, shape: Any, dtype: Any = ember.float32, *, negative_slope: float = 0.0,
              mode: str = "fan_in") -> ember.Tensor:
    """Normal with std ``sqrt(2 / ((1 + a²) n))``, n = fan_in (or fan_out) (He / Kaiming).

    >>> ember_nn.init.he_normal(ember.random.key(0), (3, 4)).shape
    (3, 4)
    """
    return variance_scaling(key, shape, dtype, scale=_he_scale(negative_slope), mode=mode,
                            distribution="normal")


def lecun_normal(key: Any, shape: Any, dtype: Any = ember.float32) -> ember.Tensor:
    """Normal with std ``sqrt(1 / fan_in)`` (LeCun; what SELU networks assume).

    >>> ember_nn.init.lecun_normal(ember.random.key(0), (3, 4)).shape
    (3, 4)
    """
    return variance_scaling(key, shape, dtype, scale=1.0, mode="fan_in", distribution="normal")


def lecun_uniform(key: Any, shape: Any, dtype: Any = ember.float32) -> ember.Tensor:
    """Uniform in ``±sqrt(3 / fan_in)``.

    >>> ember_nn.init.lecun_uniform(ember.random.key(0), (3, 4)).shape
    (3, 4)
    """
    return variance_scaling(key, shape, dtype, scale=1.0, mode="fan_in", distribution="uniform")


def orthogonal(key: Any, shape: Any, dtype: Any = ember.float32, *,
               gain: float = 1.0) -> ember.Tensor:
    """A (semi-)orthogonal matrix times ``gain``: the shape is read as ``(shape[0],
    prod(shape[1:]))``; its columns are orthonormal when it is tall, its rows when it is wide
    (so a square Dense weight has ``W^T W = I``, and each conv filter ``W[o]`` is orthonormal to
    the others). From the QR decomposition of a normal matrix, with R's diagonal made positive
    so the result is uniformly distributed (Saxe et al.).

    >>> w = ember_nn.init.orthogonal(ember.random.key(0), (4, 4))
    >>> bool(ember.all(ember.abs(w.mT @ w - ember.eye(4)) < 1e-5))
    True
    """
    d = _float("orthogonal", dtype)
    s = _shape(shape)
    if len(s) < 2:
        raise ember.ShapeError(f"orthogonal: needs a shape of at least 2 dimensions, got {s}")
    rows, cols = s[0], math.prod(s[1:])
    if rows == 0 or cols == 0:
        return ember.zeros(s, dtype=d)
    flat = ember.random.normal(key, (max(rows, cols), min(rows, cols)), _work(d))
    q, r = ember.linalg.qr(flat)
    signs = ember.where(ember.linalg.diagonal(r) >= 0, 1.0, -1.0)
    q = q * signs
    if rows < cols:
        q = ember.matrix_transpose(q)
    return _cast(ember.reshape(q * gain, s), d)


def normal(key: Any, shape: Any, dtype: Any = ember.float32, *, mean: float = 0.0,
           stddev: float = 1.0) -> ember.Tensor:
    """Normal samples with ``mean`` and ``stddev`` (``Embedding``'s default, N(0, 1)).

    >>> ember_nn.init.normal(ember.random.key(0), (2, 3), stddev=0.02).shape
    (2, 3)
    """
    d = _float("normal", dtype)
    if not stddev >= 0:
        raise ember.ArgumentError(f"normal: stddev must be non-negative, got {stddev!r}")
    return _cast(ember.random.normal(key, _shape(shape), _work(d), loc=mean, scale=stddev), d)


def truncated_normal(key: Any, shape: Any, dtype: Any = ember.float32, *, mean: float = 0.0,
                     stddev: float = 1.0, lower: float = -2.0,
                     upper: float = 2.0) -> ember.Tensor:
    """``mean + stddev * z``, z a unit normal conditioned on ``[lower, upper]`` (bounds in
    standard deviations; the samples' std is below ``stddev``: 0.88 of it for ±2).

    >>> w = ember_nn.init.truncated_normal(ember.random.key(0), (100,), stddev=0.5)
    >>> bool(ember.max(ember.abs(w)) <= 1.0)
    True
    """
    d = _float("truncated_normal", dtype)
    if not stddev >= 0:
        raise ember.ArgumentError(f"truncated_normal: stddev must be non-negative, got {stddev!r}")
    if not lower < upper:
        raise ember.ArgumentError(f"truncated_normal: need lower < upper, got [{lower}, {upper}]")
    z = ember.random.truncated_normal(key, lower, upper, _shape(shape), _work(d))
    return _cast(z * stddev + mean, d)


def uniform(key: Any, shape: Any, dtype: Any = ember.float32, *, low: float = 0.0,
            high: float = 1.0) -> ember.Tensor:
    """Uniform samples in ``[low, high)``.

    >>> w = ember_nn.init.uniform(ember.random.key(0), (50,), low=-0.1, high=0.1)
    >>> bool(ember.all(ember.abs(w) <= 0.1))
    True
    """
    d = _float("uniform", dtype)
    if not low < high:
        raise ember.ArgumentError(f"uniform: need low < high, got [{low}, {high})")
    return _cast(ember.random.uniform(key, _shape(shape), _work(d), low=low, high=high), d)


def constant(key: Any, shape: Any, dtype: Any = ember.float32, *,
             value: float = 0.0) -> ember.Tensor:
    """Every element ``value`` (the key is ignored; pass None).

    >>> ember_nn.init.constant(None, (2,), value=0.5).tolist()
    [0.5, 0.5]
    """
    return ember.full(_shape(shape), value, dtype=ember.float32 if dtype is None else dtype)


def zeros(key: Any, shape: Any, dtype: Any = ember.float32) -> ember.Tensor:
    """Zeros (the key is ignored).

    >>> ember_nn.init.zeros(None, (2,)).tolist()
    [0.0, 0.0]
    """
    return ember.zeros(_shape(shape), dtype=ember.float32 if dtype is None else dtype)


def ones(key: Any, shape: Any, dtype: Any = ember.float32) -> ember.Tensor:
    """Ones (the key is ignored).

    >>> ember_nn.init.ones(None, (2,)).tolist()
    [1.0, 1.0]
    """
    return ember.ones(_shape(shape), dtype=ember.float32 if dtype is None else dtype)


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal

_BY_NAME: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform, "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal, "xavier_normal": glorot_normal,
    "he_uniform": he_uniform, "kaiming_uniform": he_uniform,
    "he_normal": he_normal, "kaiming_normal": he_normal,
    "lecun_normal": lecun_normal, "lecun_uniform": lecun_uniform,
    "orthogonal": orthogonal, "normal": normal, "truncated_normal": truncated_normal,
    "uniform": uniform, "zeros": zeros, "ones": ones, "constant": constant,
    "variance_scaling": variance_scaling,
}


def get(spec: str | Mapping[str, Any] | Initializer) -> Initializer:
    """The initialiser for a name, a ``{"name": ..., **options}`` dict, or a function (as is).

    >>> init = ember_nn.init.get({"name": "normal", "stddev": 0.02})
    >>> init(ember.random.key(0), (2, 2)).shape
    (2, 2)
    """
    if isinstance(spec, str):
        fn = _BY_NAME.get(spec)
        if fn is None:
            raise ConfigError(f"unknown initialiser {spec!r}; known: {sorted(_BY_NAME)}")
        return fn
    if isinstance(spec, Mapping):
        options = dict(spec)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"an initialiser dict needs a 'name' string, got {dict(spec)!r}")
        fn = get(name)
        try:
            inspect.signature(fn).bind(None, (), **options)
        except TypeError as e:
            raise ConfigError(f"initialiser {name!r} does not take options {options}: {e}") from None
        return functools.partial(fn, **options) if options else fn
    if callable(spec):
        return spec
    raise ConfigError(f"an initialiser is a name, a {{'name': ..., **options}} dict or a function "
                      f"(key, shape, dtype); got {type(spec).__name__} {spec!r:.60}")


def spec_of(fn: Any) -> str | dict[str, Any] | None:
    """The JSON-able form of an initialiser (name or dict), None if it has none.

    >>> import functools
    >>> ember_nn.init.spec_of(functools.partial(ember_nn.init.normal, stddev=0.02))
    {'name': 'normal', 'stddev': 0.02}
    """
    if isinstance(fn, str):
        return fn if fn in _BY_NAME else None
    if isinstance(fn, Mapping):
        return dict(fn)
    options: dict[str, Any] = {}
    if isinstance(fn, functools.partial) and not fn.args:
        options = dict(fn.keywords)
        fn = fn.func
        if not all(v is None or isinstance(v, bool | int | float | str) for v in options.values()):
            return None
    for name, f in _BY_NAME.items():
        if f is fn:
            return {"name": name, **options} if options else name
    return None
