"""Activations: plain functions (the math) and thin Module shells over them.

Layers take an activation as a function or a name (``"relu"``); ``get`` resolves names and
``name_of`` gives the name a config stores, so only these named functions go into configs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember

from .._core._activation_names import register
from .._core._module import Module

__all__ = ["ELU", "GELU", "Identity", "LeakyReLU", "LeCunTanh", "ReLU", "SiLU", "Sigmoid",
           "Softmax", "Softplus", "Tanh", "elu", "gelu", "identity", "leaky_relu",
           "lecun_tanh", "relu", "sigmoid", "silu", "softmax", "softplus", "tanh"]


def identity(x: ember.Tensor) -> ember.Tensor:
    """``x`` unchanged (the "linear" activation)."""
    return x


def relu(x: ember.Tensor) -> ember.Tensor:
    """``max(x, 0)``."""
    return ember.nn.relu(x)


def gelu(x: ember.Tensor, approximate: bool = False) -> ember.Tensor:
    """Gaussian error linear unit (exact, or the tanh approximation)."""
    return ember.nn.gelu(x, approximate="tanh" if approximate else "none")


def silu(x: ember.Tensor) -> ember.Tensor:
    """``x * sigmoid(x)`` (swish)."""
    return ember.nn.silu(x)


def sigmoid(x: ember.Tensor) -> ember.Tensor:
    """``1 / (1 + exp(-x))``."""
    return ember.nn.sigmoid(x)


def tanh(x: ember.Tensor) -> ember.Tensor:
    """Hyperbolic tangent."""
    return ember.tanh(x)


def softplus(x: ember.Tensor) -> ember.Tensor:
    """``log(1 + exp(x))``, computed stably."""
    return ember.nn.softplus(x)


def lecun_tanh(x: ember.Tensor) -> ember.Tensor:
    """LeCun's scaled tanh, ``1.7159 * tanh(2x/3)`` (unit variance for unit-variance input;
    the default of liquid networks)."""
    return 1.7159 * ember.tanh(x * (2.0 / 3.0))


def leaky_relu(x: ember.Tensor, negative_slope: float = 0.01) -> ember.Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return ember.where(x >= 0, x, x * negative_slope)


def elu(x: ember.Tensor, alpha: float = 1.0) -> ember.Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return ember.where(x > 0, x, alpha * ember.expm1(ember.minimum(x, 0.0)))


def softmax(x: ember.Tensor, axis: int = -1) -> ember.Tensor:
    """Softmax over ``axis``."""
    return ember.nn.softmax(x, axis=axis)


for _name, _fn in {
    "identity": identity, "linear": identity, "relu": relu, "gelu": gelu, "silu": silu,
    "swish": silu, "sigmoid": sigmoid, "tanh": tanh, "softplus": softplus,
    "lecun_tanh": lecun_tanh, "leaky_relu": leaky_relu, "elu": elu, "softmax": softmax,
}.items():
    register(_name, _fn)


class _Activation(Module):
    fn: Callable[..., Any]

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return type(self).fn(x)


class Identity(_Activation):
    fn = staticmethod(identity)


class ReLU(_Activation):
    fn = staticmethod(relu)


class SiLU(_Activation):
    fn = staticmethod(silu)


class Sigmoid(_Activation):
    fn = staticmethod(sigmoid)


class Tanh(_Activation):
    fn = staticmethod(tanh)


class Softplus(_Activation):
    fn = staticmethod(softplus)


class LeCunTanh(_Activation):
    fn = staticmethod(lecun_tanh)


class GELU(Module):
    def __init__(self, *, approximate: bool = False) -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return gelu(x, self.approximate)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return leaky_relu(x, self.negative_slope)


class ELU(Module):
    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return elu(x, self.alpha)


class Softmax(Module):
    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return softmax(x, self.axis)
