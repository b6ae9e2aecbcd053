"""Activations: plain functions (the math) and thin Module shells over them.

Layers take an activation as a function or a name (``"relu"``); ``_core._activation_names``
resolves names and gives the name a config stores, so only these named functions go into
configs. Where ``ember.nn`` has the function (relu, gelu, silu, sigmoid, softplus, softmax)
ember-nn's is that very function, so the two namespaces cannot disagree on its arguments;
ember-nn adds the ones ember.nn lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ember
from ember.nn import gelu, relu, sigmoid, silu, softmax, softplus

from .._core._activation_names import register
from .._core._errors import ConfigError
from .._core._module import Module

__all__ = ["ELU", "GELU", "Identity", "LeakyReLU", "LeCunTanh", "ReLU", "SiLU", "Sigmoid",
           "Softmax", "Softplus", "Tanh", "elu", "gelu", "identity", "leaky_relu",
           "lecun_tanh", "relu", "sigmoid", "silu", "softmax", "softplus", "tanh"]


def identity(x: ember.Tensor) -> ember.Tensor:
    """``x`` unchanged (the "linear" activation)."""
    return x


def tanh(x: ember.Tensor) -> ember.Tensor:
    """Hyperbolic tangent."""
    return ember.tanh(x)


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


def gelu_tanh(x: ember.Tensor) -> ember.Tensor:
    """``gelu`` with the tanh approximation (``torch.nn.GELU(approximate="tanh")``, GPT-2's and
    MAD-Lab's MLP activation), by a name a config can hold: ``activation="gelu_tanh"``."""
    return gelu(x, approximate="tanh")


for _name, _fn in {
    "identity": identity, "linear": identity, "relu": relu, "gelu": gelu,
    "gelu_tanh": gelu_tanh, "silu": silu,
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


_GELU_MODES = ("none", "tanh")


class GELU(Module):
    """``gelu`` as a module: exact (``approximate="none"``) or the tanh approximation
    (``"tanh"``), the values of ``torch.nn.GELU`` and ``ember.nn.gelu``.

    >>> ember_nn.GELU(approximate="tanh")
    GELU(approximate='tanh')
    """

    def __init__(self, *, approximate: str = "none") -> None:
        super().__init__()
        if not isinstance(approximate, str) or approximate not in _GELU_MODES:
            hint = (f"; pass approximate={'tanh' if approximate else 'none'!r} (a bool was "
                    f"ember-nn's old form)" if isinstance(approximate, bool) else "")
            raise ConfigError(f"GELU: approximate must be 'none' or 'tanh', got "
                              f"{approximate!r}{hint}")
        self.approximate = approximate

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        """As ``Module.from_config``; configs written before ``approximate`` took 'none'/'tanh'
        stored a bool, read here as True: 'tanh', False: 'none'."""
        if isinstance(config, Mapping) and isinstance(config.get("approximate"), bool):
            config = {**config, "approximate": "tanh" if config["approximate"] else "none"}
        return super().from_config(config)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return gelu(x, approximate=self.approximate)


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
