"""MAD-Lab's layer names (its ``mad/registry.py``) and default hyperparameters (its
``configs/layers/*.yml``), mapped to ember's mixers: ``build_layer(name, dim=128, **overrides)``,
and the blocks of a model given as a list of layer names."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ._block import Block

__all__ = ["LAYERS", "blocks_from_layers", "build_layer", "layer_names"]

_SEQ = "ember_nn.mixers.sequence"
_CH = "ember_nn.mixers.channel"
_MLP = "ember_nn.layers"
#: MAD-Lab's attention configs rotate every feature of a head (128 for 1 head, 8 for 16 heads
#: at dim 128): the rotary dim follows the head dim at any width (less one if it is odd)
_HEAD = "head_dim"

#: name -> (module, class, MAD-Lab's defaults for dim 128, in ember's argument names)
LAYERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    # channel mixers
    "mlp": (_MLP, "MLP", {"dim_inner": None, "activation": "gelu_tanh", "bias": False}),
    "swiglu": (_CH, "SwiGLU", {"dim_inner": None, "bias": False}),
    "moe-mlp": (_CH, "MoE", {"dim_inner": 16, "num_experts": 8, "active_experts": 2,
                             "bias": False}),
    # MAD-Lab's 512 at dim 128: the classes' default 4 * dim at any width
    "rwkv5-channel-mixer": (_CH, "RWKV5ChannelMix", {}),
    "rwkv6-channel-mixer": (_CH, "RWKV6ChannelMix", {}),
    # sequence mixers
    "attention": (_SEQ, "Attention", {"num_heads": 1, "causal": True, "rotary_emb_dim": _HEAD,
                                      "window_size": [-1, -1]}),
    "mh-attention": (_SEQ, "Attention", {"num_heads": 16, "causal": True, "rotary_emb_dim": _HEAD,
                                         "window_size": [-1, -1]}),
    "sliding-attention": (_SEQ, "Attention", {"num_heads": 1, "causal": True,
                                              "rotary_emb_dim": _HEAD, "window_size": [32, 32]}),
    "mh-sliding-attention": (_SEQ, "Attention", {"num_heads": 16, "causal": True,
                                                 "rotary_emb_dim": _HEAD, "window_size": [32, 32]}),
    # the chunked form gives the quadratic form's numbers (MAD-Lab's default) in linear memory
    "linear-attention": (_SEQ, "LinearAttention", {"num_heads": 1,
                                                   "parallel_implementation": "linear"}),
    "mh-linear-attention": (_SEQ, "LinearAttention", {"num_heads": 16,
                                                      "parallel_implementation": "linear"}),
    "gated-linear-attention": (_SEQ, "GatedLinearAttention", {"num_heads": 1}),
    "mh-gated-linear-attention": (_SEQ, "GatedLinearAttention", {"num_heads": 8}),
    "hyena": (_SEQ, "Hyena", {}),
    "mh-hyena": (_SEQ, "MultiHeadHyena", {}),
    "hyena-experts": (_SEQ, "HyenaExperts", {}),
    "mamba": (_SEQ, "Mamba", {}),
    "rwkv5-time-mixer": (_SEQ, "RWKV5TimeMix", {}),
    "rwkv6-time-mixer": (_SEQ, "RWKV6TimeMix", {}),
    # ember's recurrent and liquid layers as sequence mixers
    "lstm": (_SEQ, "RecurrentMixer", {"cell": "lstm"}),
    "gru": (_SEQ, "RecurrentMixer", {"cell": "gru"}),
    "cfc": (_SEQ, "RecurrentMixer", {"cell": "cfc"}),
    "ltc": (_SEQ, "RecurrentMixer", {"cell": "ltc"}),
}


def layer_names() -> list[str]:
    """The layer names ``build_layer`` knows (MAD-Lab's, then ember's recurrent ones)."""
    return list(LAYERS)


def _mlp(dim: int, dim_inner: int | None = None, activation: Any = "gelu_tanh",
         bias: bool = False, key: Any = None) -> Module:
    from ..layers._mlp import MLP
    from ..mixers._torch_init import reset_torch_linear

    base = next_key(key)
    mlp = MLP(dim, [4 * dim if dim_inner is None else dim_inner], dim, activation=activation,
              bias=bias, key=ember.random.fold_in(base, 0))
    for i, layer in enumerate(mlp.layers):  # MAD-Lab's Mlp: torch's nn.Linear init
        reset_torch_linear(layer, *ember.random.split(ember.random.fold_in(base, i + 1)))
    return mlp


def build_layer(name: str, dim: int = 128, *, max_length: int | None = None, key: Any = None,
                **overrides: Any) -> Module:
    """The layer MAD-Lab's ``name`` denotes, ``dim`` wide, with MAD-Lab's default
    hyperparameters updated by ``overrides``; ``max_length`` reaches the layers that take one
    (Hyena's filter, RWKV-6).

    >>> layer = ember_nn.blocks.build_layer("swiglu", dim=16, key=0)
    >>> type(layer).__name__, layer(ember.ones((2, 3, 16))).shape
    ('SwiGLU', (2, 3, 16))
    """
    entry = LAYERS.get(name)
    if entry is None:
        raise ConfigError(f"build_layer: unknown layer {name!r}; known: {layer_names()}")
    where, cls_name, defaults = entry
    args = {**defaults, **overrides}
    if cls_name == "MLP":
        return _mlp(dim, key=key, **args)
    cls = getattr(importlib.import_module(where), cls_name)
    params = inspect.signature(cls.__init__).parameters
    if args.get("rotary_emb_dim") == _HEAD:
        head_dim = dim // args["num_heads"]
        args["rotary_emb_dim"] = head_dim - head_dim % 2  # rotary turns pairs of features
    if max_length is not None and "max_length" in params:
        args.setdefault("max_length", max_length)
    return cls(dim, key=key, **args)


def blocks_from_layers(owner: str, layers: Sequence[str | dict[str, Any]], *, dim: int,
                       max_length: int | None, norm: str, key: Any) -> list[Block]:
    """One pre-norm residual ``Block`` per entry of ``layers`` (a name, or a table with a
    ``"name"`` and overrides), each with its own key."""
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise ConfigError(f"{owner}: layers must be a non-empty list of layer names, got "
                          f"{layers!r}")
    base = next_key(key)
    blocks = []
    for i, entry in enumerate(layers):
        if isinstance(entry, dict):
            if "name" not in entry:
                raise ConfigError(f"{owner}: layers[{i}] is a table without a 'name': {entry!r}")
            args = {k: v for k, v in entry.items() if k != "name"}
            name = entry["name"]
        elif isinstance(entry, str):
            name, args = entry, {}
        else:
            raise ConfigError(f"{owner}: layers[{i}] must be a layer name or a table, got "
                              f"{entry!r}")
        layer = build_layer(name, dim, max_length=max_length,
                            key=ember.random.fold_in(base, i), **args)
        blocks.append(Block(layer, norm=norm))
    return blocks
