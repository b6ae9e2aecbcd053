"""Activation kernels: fused overrides of ember-core's composites (float64 through ``_f64``,
which MLX's own functions lose precision on)."""

from __future__ import annotations

import math

import mlx.core as mx

from . import _f64
from ._util import empty_reduce

__all__ = [
    "nn_gelu", "nn_log_softmax", "nn_logsumexp", "nn_relu", "nn_sigmoid", "nn_silu", "nn_softmax",
]

F64 = mx.float64
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def nn_relu(x):
    return x if x.dtype == mx.bool_ else mx.maximum(x, 0)


def nn_sigmoid(x):
    return _f64.sigmoid(x) if x.dtype == F64 else mx.sigmoid(x)


def nn_silu(x):
    return x * nn_sigmoid(x)


def nn_gelu(x, approximate):
    """The composite's formulas on MLX's own erf and tanh: the erf kernel's guard for the sign
    of zero (three more ops each way) is not needed here, as ``x * ...`` keeps it."""
    if isinstance(approximate, bool):
        approximate = "tanh" if approximate else "none"
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * 0.5 * (mx.tanh(inner) + 1.0)
    erf = _f64.erf if x.dtype == F64 else mx.erf
    return x * 0.5 * (erf(x * _SQRT_HALF) + 1.0)


def nn_softmax(x, axis):
    if x.size == 0:
        return x
    if x.dtype == F64:
        return _f64.softmax(x, axis)
    return mx.softmax(x, axis=axis, precise=True)


def nn_log_softmax(x, axis):
    if x.size == 0:
        return x
    if x.dtype == F64:
        return _f64.log_softmax(x, axis)
    return x - mx.logsumexp(x, axis=axis, keepdims=True)


def nn_logsumexp(x, axis, keepdims):
    if x.ndim == 0:
        return x
    if x.size == 0:
        return empty_reduce(x, axis, keepdims, -math.inf)
    if x.dtype == F64:
        return _f64.logsumexp(x, axis, keepdims)
    return mx.logsumexp(x, axis=axis, keepdims=keepdims)
