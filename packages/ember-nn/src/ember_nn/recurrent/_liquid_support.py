"""What the liquid cells (CfC, LTC) share: a linear map in torch's layout, ncps's backbone
activations, ncps's initialisers, masks read from wirings, and the wiring entry of configs.

Weights are kept in torch's layout, ``(out_features, in_features)``, under ncps's names
(``ff1.weight``, ``backbone.0.bias``, ...), so an ncps ``state_dict`` turned into arrays loads
with ``load_state_dict`` unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import ember

from .. import init
from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ..layers._activations import GELU, ReLU, SiLU, Tanh
from ..layers._support import layer_dtype, new_variable

__all__ = ["BACKBONE_ACTIVATIONS", "Linear", "NcpsLeCun", "make_activation",
           "check_choice", "config_wiring_decoded", "config_with_wiring", "decode_wiring",
           "encode_wiring", "liquid_repr", "matrix", "torch_bias_init", "uniform_init"]


def uniform_init(low: float, high: float) -> init.Initializer:
    """An initialiser drawing uniformly from ``[low, high)``."""
    def fn(key: Any, shape: Any, dtype: Any = ember.float32) -> ember.Tensor:
        return init.uniform(key, shape, dtype, low=low, high=high)
    return fn


def torch_bias_init(fan_in: int) -> init.Initializer:
    """``torch.nn.Linear``'s default bias (and weight) initialiser: uniform in
    ``±1/sqrt(fan_in)``."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    if bound == 0.0:
        return init.zeros
    return uniform_init(-bound, bound)


class Linear(Module):
    """``x @ weight.T + bias`` with ``weight`` of shape ``(out_features, in_features)``
    (torch's layout), the linear maps inside the liquid cells. The weight is Glorot-uniform
    (what ncps's cells draw) unless ``weight_init`` says otherwise; the bias is torch's
    default (uniform in ``±1/sqrt(in_features)``) unless ``bias_init`` says otherwise."""

    config_name = "_LiquidLinear"  # built by the cells, never from a config of its own

    def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True,
                 weight_init: Any = None, bias_init: Any = None,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        d = layer_dtype("Linear", dtype)
        k_w, k_b = ember.random.split(next_key(key))
        w_init = init.glorot_uniform if weight_init is None else weight_init
        self.weight = new_variable("Linear", w_init, k_w, (out_features, in_features), d,
                                   "weight")
        self.bias = None
        if use_bias:
            b_init = torch_bias_init(in_features) if bias_init is None else bias_init
            self.bias = new_variable("Linear", b_init, k_b, (out_features,), d, "bias")

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        y = ember.matmul(x, ember.matrix_transpose(self.weight))
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}" + ("" if self.bias is not None
                                                             else ", use_bias=False")


class NcpsLeCun(Module):
    """ncps's ``LeCun`` activation, ``1.7159 * tanh(0.666 * x)``: ncps's constant 0.666, not
    the 2/3 of :func:`ember_nn.lecun_tanh`, so ncps's weights give ncps's numbers."""

    config_name = "_NcpsLeCun"

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return 1.7159 * ember.tanh(0.666 * x)


#: the backbone activations of ncps's CfC, by the names its ``activation`` argument takes
BACKBONE_ACTIVATIONS: dict[str, Callable[[], Module]] = {
    "lecun_tanh": NcpsLeCun, "silu": SiLU, "relu": ReLU, "tanh": Tanh, "gelu": GELU,
}


def make_activation(layer: str, name: Any) -> Module:
    """A new activation module for the backbone activation called ``name``."""
    return BACKBONE_ACTIVATIONS[check_choice(layer, "activation", name,
                                             tuple(BACKBONE_ACTIVATIONS))]()


def check_choice(layer: str, arg: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else a ConfigError naming both."""
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(f"{layer}: unknown {arg} {value!r}; valid options are "
                          f"{', '.join(repr(a) for a in allowed)}")
    return value


def matrix(value: Any) -> list[list[float]]:
    """A 2-D matrix (nested lists, an ember tensor or any array with ``tolist``) as nested
    lists of floats."""
    rows = value.tolist() if hasattr(value, "tolist") else value
    return [[float(v) for v in row] for row in rows]


def liquid_repr(module: Module) -> str:
    """The constructor arguments worth reading: those without a default always, the others
    where they differ from it (``key`` never; a matrix as its shape)."""
    import inspect

    parts = []
    for p in list(inspect.signature(type(module).__init__).parameters.values())[1:]:
        if p.name not in module._config or p.name == "key":
            continue
        v = module._config[p.name]
        if p.default is not p.empty and (v is p.default or v == p.default):
            continue
        if isinstance(v, list) and v and isinstance(v[0], list):
            shown = f"<{len(v)}x{len(v[0])} matrix>"
        elif isinstance(v, ember.DType):
            shown = v.name
        else:
            shown = repr(v)
        parts.append(shown if p.default is p.empty else f"{p.name}={shown}")
    return ", ".join(parts)


# -- wirings in configs --------------------------------------------------------------------------
_WIRING_TAG = "__wiring__"


def encode_wiring(value: Any) -> Any:
    """A wiring as ``{"__wiring__": {"class": ..., "config": ...}}``
    (``ember_nn.wirings.serialize_wiring``); anything else as it is."""
    from ..wirings import Wiring, serialize_wiring

    if isinstance(value, Wiring):
        return {_WIRING_TAG: serialize_wiring(value)}
    return value


def decode_wiring(value: Any) -> Any:
    """The wiring :func:`encode_wiring` wrote (anything else as it is)."""
    if not (isinstance(value, Mapping) and set(value) == {_WIRING_TAG}):
        return value
    from ..wirings import deserialize_wiring

    return deserialize_wiring(value[_WIRING_TAG])


def config_with_wiring(module: Module, arg: str) -> dict[str, Any]:
    """``module.get_config()`` with the wiring in argument ``arg`` (if it is one) written as
    ``{"__wiring__": {"class": ..., "config": ...}}``."""
    from .._core._serialize import _encode

    name = type(module).__name__
    out = {}
    for k, v in module._config.items():
        wired = encode_wiring(v) if k == arg else v
        out[k] = wired if wired is not v else _encode(v, f"{name}.{k}")
    return out


def config_wiring_decoded(config: Mapping[str, Any], arg: str) -> Mapping[str, Any]:
    """``config`` with the wiring entry ``arg`` built back into a wiring."""
    if isinstance(config, Mapping) and arg in config:
        return {**config, arg: decode_wiring(config[arg])}
    return config
