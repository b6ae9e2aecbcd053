"""Activation and normalising functions: relu, gelu, silu, sigmoid, softplus, softmax,
log_softmax, logsumexp, one_hot. Written from primitives; a backend may fuse them."""

from __future__ import annotations

import math
from typing import Any

from .. import _dtypes as dt
from .._dispatch import cast_native, norm_axes, norm_axis
from .._errors import DTypeError, EmberError
from .._tensor import Tensor
from ..autodiff._variables import Variable as V
from . import _elementwise as ew
from ._creation import arange, asarray
from ._manipulation import expand_dims
from ._statistical import max as _max
from ._statistical import sum as _sum

__all__ = ["gelu", "log_softmax", "logsumexp", "one_hot", "relu", "sigmoid", "silu", "softmax",
           "softplus"]

T = Tensor


def _float(x: Any) -> Tensor:
    x = x if type(x) is T else asarray(x)
    if x.dtype.kind in "fc":
        return x
    return T(cast_native(x._b, x._n, dt.default_float()), x._b)


def relu(x: Any, /) -> Tensor:
    """max(x, 0)."""
    x = x if type(x) is T else asarray(x)
    f = x._b.kernels.nn_relu
    if f is not None:
        return T(f(x._n), x._b)
    return ew.maximum(x, False if x.dtype is dt.bool else 0)


def sigmoid(x: Any, /) -> Tensor:
    """Logistic sigmoid 1 / (1 + exp(-x)), computed without overflow."""
    x = _float(x)
    f = x._b.kernels.nn_sigmoid
    if f is not None:
        return T(f(x._n), x._b)
    from ._searching import where

    pos = ew.greater_equal(x, 0.0)
    # exp(-|x|) written with where, not abs: abs has no slope at 0, and tapes differentiate this
    e = ew.exp(where(pos, ew.negative(x), x))
    return where(pos, 1.0 / (1.0 + e), e / (1.0 + e))


def silu(x: Any, /) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = _float(x)
    f = x._b.kernels.nn_silu
    if f is not None:
        return T(f(x._n), x._b)
    return ew.multiply(x, sigmoid(x))


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x: Any, /, *, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit: x * Phi(x) ('none'), or its tanh approximation ('tanh')."""
    if approximate not in ("none", "tanh"):
        raise EmberError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = _float(x)
    f = x._b.kernels.nn_gelu
    if f is not None:
        return T(f(x._n, approximate), x._b)
    if approximate == "tanh":
        inner = ew.multiply(ew.add(x, ew.multiply(ew.multiply(ew.multiply(x, x), x), 0.044715)), _SQRT_2_OVER_PI)
        return ew.multiply(ew.multiply(x, 0.5), ew.add(ew.tanh(inner), 1.0))
    return ew.multiply(ew.multiply(x, 0.5), ew.add(ew.erf(ew.multiply(x, _SQRT_HALF)), 1.0))


def softplus(x: Any, /) -> Tensor:
    """log(1 + exp(x)), stable for large |x|."""
    x = _float(x)
    f = x._b.kernels.nn_softplus
    if f is not None:
        return T(f(x._n), x._b)
    from ._searching import where

    pos = ew.greater_equal(x, 0.0)  # max(x, 0) + log1p(exp(-|x|)), smooth through x = 0 for tapes
    return ew.add(where(pos, x, 0.0), ew.log1p(ew.exp(where(pos, ew.negative(x), x))))


def _stable_max(x: Tensor, axis: Any) -> Tensor:
    from ._searching import where

    m = _max(x, axis=axis, keepdims=True)  # callers handle empty x (max has no identity)
    return where(ew.isfinite(m), m, ew.multiply(m, 0.0))


def _along_axis(name: str, x: Any, axis: int) -> tuple[Tensor, int, Tensor | None]:
    """Shared front of softmax/log_softmax: float input, a checked axis, and the result of
    the backend's fused kernel when it has one (its fast path skips every other check)."""
    if (type(x) is T or type(x) is V) and type(axis) is int:
        b, d = x._b, x._d or x.dtype
        k = b.kernels
        f = k.nn_softmax if name == "nn.softmax" else k.nn_log_softmax
        nd = x._n.ndim
        if f is not None and d.kind in "fc" and -nd <= axis < nd:
            ax = axis + nd if axis < 0 else axis
            return x, ax, T(f(x._n, ax), b, d)
    x = _float(x)
    ax = norm_axis(name.removeprefix("nn."), axis, x.ndim)
    k = x._b.kernels
    f = k.nn_softmax if name == "nn.softmax" else k.nn_log_softmax
    return x, ax, (None if f is None else T(f(x._n, ax), x._b))


def softmax(x: Any, /, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along axis, computed stably."""
    x, axis, out = _along_axis("nn.softmax", x, axis)
    if out is not None:
        return out
    if x.size == 0:
        return ew.exp(x)
    e = ew.exp(ew.subtract(x, _stable_max(x, axis)))
    return ew.divide(e, _sum(e, axis=axis, keepdims=True))


def log_softmax(x: Any, /, axis: int = -1) -> Tensor:
    """log(softmax(x)) along axis, computed stably."""
    x, axis, out = _along_axis("nn.log_softmax", x, axis)
    if out is not None:
        return out
    if x.size == 0:
        return ew.positive(x)
    shifted = ew.subtract(x, _stable_max(x, axis))
    return ew.subtract(shifted, ew.log(_sum(ew.exp(shifted), axis=axis, keepdims=True)))


def logsumexp(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over axes, computed stably (an all -inf slice gives -inf)."""
    x = _float(x)
    axes = norm_axes("logsumexp", axis, x.ndim)
    f = x._b.kernels.nn_logsumexp
    if f is not None:
        return T(f(x._n, axes, keepdims), x._b)
    if x.size == 0:  # log(0) = -inf over empty slices
        return ew.log(_sum(ew.exp(x), axis=axes, keepdims=keepdims))
    m = _stable_max(x, axes)
    out = ew.add(ew.log(_sum(ew.exp(ew.subtract(x, m)), axis=axes, keepdims=True)), m)
    if not keepdims:
        from ._manipulation import squeeze

        out = squeeze(out, axis=axes if axes is not None else tuple(range(x.ndim)))
    return out


def one_hot(indices: Any, /, num_classes: int, *, dtype: Any = None) -> Tensor:
    """One-hot encoding along a new last axis (indices outside [0, num_classes) give zeros)."""
    x = indices if type(indices) is T else asarray(indices)
    if not x.dtype.is_integer:
        raise DTypeError(f"one_hot: indices must be integers, got {x.dtype}")
    d = dt.default_float() if dtype is None else dt.as_dtype(dtype)
    f = x._b.kernels.nn_one_hot
    if f is not None:
        return T(f(x._n, num_classes, x._b.native_dtype(d)), x._b)
    classes = arange(num_classes, dtype=x.dtype, backend=x._b, device=x.device)
    from ._dtypes import astype

    return astype(ew.equal(expand_dims(x, axis=-1), classes), d)
