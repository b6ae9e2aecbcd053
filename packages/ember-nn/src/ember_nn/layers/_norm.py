"""Normalisation layers: ``LayerNorm``, ``RMSNorm`` and ``BatchNorm``."""

from __future__ import annotations

from typing import Any

import ember

from .. import init
from .._core._errors import ConfigError
from .._core._module import Module
from ._support import brief_repr, layer_dtype, new_variable, positive_int

__all__ = ["BatchNorm", "LayerNorm", "RMSNorm"]


def _normalized_shape(layer: str, features: Any) -> tuple[int, ...]:
    if isinstance(features, int) and not isinstance(features, bool):
        return (positive_int(layer, "features", features),)
    if isinstance(features, list | tuple) and features:
        return tuple(positive_int(layer, "features", f) for f in features)
    raise ConfigError(f"{layer}: features must be a positive int or a non-empty list of them "
                      f"(the trailing axes normalised), got {features!r}")


def _eps(layer: str, eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not eps >= 0:
        raise ConfigError(f"{layer}: eps must be a non-negative number, got {eps!r}")
    return float(eps)


def _check_trailing(layer: str, x: ember.Tensor, shape: tuple[int, ...]) -> None:
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ember.ShapeError(f"{layer}: input of shape {x.shape} does not end in the "
                               f"normalised shape {shape}")


class LayerNorm(Module):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the trailing axes ``features``
    (an int for the last axis, or a list for several); ``var`` is the biased variance.

    >>> ln = ember_nn.LayerNorm(3)
    >>> [round(v, 4) for v in ln(ember.tensor([[1.0, 2.0, 3.0]])).tolist()[0]]
    [-1.2247, 0.0, 1.2247]
    """

    def __init__(self, features: Any, *, eps: float = 1e-5, elementwise_affine: bool = True,
                 dtype: ember.DType | None = None) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape("LayerNorm", features)
        self.eps = _eps("LayerNorm", eps)
        d = layer_dtype("LayerNorm", dtype)
        self.weight = self.bias = None
        if elementwise_affine:
            shape = self.normalized_shape
            self.weight = new_variable("LayerNorm", init.ones, None, shape, d, "weight")
            self.bias = new_variable("LayerNorm", init.zeros, None, shape, d, "bias")

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        _check_trailing("LayerNorm", x, self.normalized_shape)
        axes = tuple(range(-len(self.normalized_shape), 0))
        return ember.nn.layer_norm(x, self.weight, self.bias, axis=axes, eps=self.eps)

    def extra_repr(self) -> str:
        return brief_repr(self)


class RMSNorm(Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing axes ``features``.

    >>> rms = ember_nn.RMSNorm(2)
    >>> [round(v, 4) for v in rms(ember.tensor([3.0, 4.0])).tolist()]
    [0.8485, 1.1314]
    """

    def __init__(self, features: Any, *, eps: float = 1e-6, elementwise_affine: bool = True,
                 dtype: ember.DType | None = None) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape("RMSNorm", features)
        self.eps = _eps("RMSNorm", eps)
        d = layer_dtype("RMSNorm", dtype)
        self.weight = None
        if elementwise_affine:
            self.weight = new_variable("RMSNorm", init.ones, None, self.normalized_shape, d,
                                          "weight")

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        _check_trailing("RMSNorm", x, self.normalized_shape)
        axes = tuple(range(-len(self.normalized_shape), 0))
        return ember.nn.rms_norm(x, self.weight, axis=axes, eps=self.eps)

    def extra_repr(self) -> str:
        return brief_repr(self)


class BatchNorm(Module):
    """Normalise each channel (axis ``axis``, default the last: channels-last) by statistics
    over every other axis: the batch's in training mode, running estimates in eval mode.

    Works for ``(N, C)`` and channels-last ``(N, ..., C)`` input. In training mode the batch
    mean and biased variance normalise, and the non-trainable variables ``running_mean`` /
    ``running_var`` move towards the batch mean and the *unbiased* variance as in PyTorch:
    ``running = (1 - momentum) * running + momentum * batch``. The update is not recorded by
    gradient tapes.

    >>> bn = ember_nn.BatchNorm(2)
    >>> y = bn(ember.tensor([[0.0, 10.0], [2.0, 30.0]]))
    >>> [round(v, 3) for v in bn.running_mean.tolist()], [round(v, 3) for v in bn.running_var.tolist()]
    ([0.1, 2.0], [1.1, 20.9])
    """

    def __init__(self, features: int, *, momentum: float = 0.1, eps: float = 1e-5,
                 axis: int = -1, affine: bool = True, dtype: ember.DType | None = None) -> None:
        super().__init__()
        self.features = positive_int("BatchNorm", "features", features)
        if isinstance(momentum, bool) or not isinstance(momentum, int | float) \
                or not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"BatchNorm: momentum must be a number in [0, 1], got {momentum!r}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ConfigError(f"BatchNorm: axis must be an int (the channel axis), got {axis!r}")
        self.momentum = float(momentum)
        self.eps = _eps("BatchNorm", eps)
        self.axis = axis
        d = layer_dtype("BatchNorm", dtype)
        self.weight = self.bias = None
        if affine:
            self.weight = new_variable("BatchNorm", init.ones, None, (features,), d, "weight")
            self.bias = new_variable("BatchNorm", init.zeros, None, (features,), d, "bias")
        self.running_mean = new_variable("BatchNorm", init.zeros, None, (features,), d,
                                            "running_mean", trainable=False)
        self.running_var = new_variable("BatchNorm", init.ones, None, (features,), d,
                                           "running_var", trainable=False)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        if x.ndim < 2 or not -x.ndim <= self.axis < x.ndim:
            raise ember.ShapeError(f"BatchNorm: input must be (N, ..., C) with channel axis "
                                   f"{self.axis}; got shape {x.shape}")
        ax = self.axis % x.ndim
        if ax == 0:
            raise ember.ShapeError(f"BatchNorm: axis {self.axis} is the batch axis of {x.shape}")
        if x.shape[ax] != self.features:
            raise ember.ShapeError(f"BatchNorm: input of shape {x.shape} has {x.shape[ax]} "
                                   f"channels on axis {self.axis}, the layer {self.features}")
        if not x.dtype.is_floating:
            raise ember.DTypeError(f"BatchNorm: input must be floating, got {x.dtype}")
        reduce = tuple(i for i in range(x.ndim) if i != ax)
        bshape = tuple(self.features if i == ax else 1 for i in range(x.ndim))
        if self.training:
            n = x.size // self.features
            if n < 2:
                raise ember.ShapeError(
                    f"BatchNorm: training needs more than one value per channel, got input "
                    f"{x.shape}; use eval() for single examples")
            mean = ember.mean(x, axis=reduce)
            var = ember.var(x, axis=reduce)
            self._update(self.running_mean, mean)
            self._update(self.running_var, var * (n / (n - 1)))
        else:
            mean, var = self.running_mean, self.running_var
        scale = 1.0 / ember.sqrt(var + self.eps)
        if self.weight is not None:
            scale = scale * self.weight
        y = (x - ember.reshape(mean, bshape)) * ember.reshape(scale, bshape)
        if self.bias is not None:
            y = y + ember.reshape(self.bias, bshape)
        return y

    def _update(self, running: ember.Variable, batch: ember.Tensor) -> None:
        b = ember.stop_gradient(batch)
        if b.dtype is not running.dtype:
            b = ember.astype(b, running.dtype)
        m = self.momentum
        running.assign(ember.stop_gradient(running) * (1.0 - m) + b * m)

    def extra_repr(self) -> str:
        return brief_repr(self)
