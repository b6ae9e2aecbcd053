"""The named blocks: ``TransformerBlock`` (attention + SwiGLU), ``MambaBlock`` (Mamba alone, as
Mamba's own models stack it), ``HyenaBlock`` (Hyena + MLP) and ``MLPBlock``: a ``Block`` whose
layers come from MAD-Lab's layer names and defaults (``build_layer``)."""

from __future__ import annotations

from typing import Any

import ember

from .._core._random import next_key
from ._block import Block
from ._registry import build_layer

__all__ = ["HyenaBlock", "MLPBlock", "MambaBlock", "TransformerBlock"]


def _keys(key: Any) -> tuple[Any, Any, Any]:
    base = next_key(key)
    return tuple(ember.random.fold_in(base, i) for i in range(3))  # type: ignore[return-value]


class TransformerBlock(Block):
    """``x + attention(norm(x))``, then ``+ channel_mixer(norm(.))``: a pre-norm Transformer
    block (Vaswani et al. 2017, with the RMSNorm, rotary and SwiGLU choices of MAD-Lab's
    ``mh-attention`` + ``swiglu``). ``**attention_args`` override ``Attention``'s MAD-Lab
    defaults (``rotary_emb_dim``, ``window_size``, ``num_kv_heads``, ...); ``channel_mixer``
    is a MAD layer name (``"swiglu"``, ``"mlp"``, ``"moe-mlp"``, ...).

    >>> block = ember_nn.blocks.TransformerBlock(16, num_heads=2, key=0)
    >>> block(ember.ones((2, 5, 16))).shape
    (2, 5, 16)
    """

    def __init__(self, dim: int = 128, num_heads: int = 16, *, channel_mixer: str = "swiglu",
                 norm: str = "rms", prenorm: bool = True, dropout: float = 0.0,
                 key: Any = None, **attention_args: Any) -> None:
        k1, k2, k3 = _keys(key)
        super().__init__(build_layer("mh-attention", dim, num_heads=num_heads, key=k1,
                                     **attention_args),
                         build_layer(channel_mixer, dim, key=k2),
                         norm=norm, prenorm=prenorm, dropout=dropout, key=k3)


class MambaBlock(Block):
    """``x + mamba(norm(x))`` (Gu & Dao 2023 stack Mamba layers without a separate MLP);
    ``**mamba_args`` override MAD-Lab's ``mamba`` defaults (``d_state``, ``expand``, ...).

    >>> block = ember_nn.blocks.MambaBlock(16, key=0)
    >>> block(ember.ones((2, 5, 16))).shape
    (2, 5, 16)
    """

    def __init__(self, dim: int = 128, *, norm: str = "rms", prenorm: bool = True,
                 dropout: float = 0.0, key: Any = None, **mamba_args: Any) -> None:
        k1, _, k3 = _keys(key)
        super().__init__(build_layer("mamba", dim, key=k1, **mamba_args),
                         norm=norm, prenorm=prenorm, dropout=dropout, key=k3)


class HyenaBlock(Block):
    """``x + hyena(norm(x))``, then ``+ channel_mixer(norm(.))`` (Poli et al. 2023 pair Hyena
    with an MLP); ``**hyena_args`` override MAD-Lab's ``hyena`` defaults.

    >>> block = ember_nn.blocks.HyenaBlock(16, max_length=8, key=0)
    >>> block(ember.ones((2, 5, 16))).shape
    (2, 5, 16)
    """

    def __init__(self, dim: int = 128, *, channel_mixer: str = "mlp",
                 max_length: int | None = None, norm: str = "rms", prenorm: bool = True,
                 dropout: float = 0.0, key: Any = None, **hyena_args: Any) -> None:
        k1, k2, k3 = _keys(key)
        super().__init__(build_layer("hyena", dim, max_length=max_length, key=k1,
                                     **hyena_args),
                         build_layer(channel_mixer, dim, key=k2),
                         norm=norm, prenorm=prenorm, dropout=dropout, key=k3)


class MLPBlock(Block):
    """``x + mlp(norm(x))`` with MAD-Lab's ``mlp`` (``dim -> dim_inner (4 dim) -> dim``,
    tanh-approximate GELU, no biases).

    >>> block = ember_nn.blocks.MLPBlock(16, key=0)
    >>> block(ember.ones((2, 5, 16))).shape
    (2, 5, 16)
    """

    def __init__(self, dim: int = 128, *, dim_inner: int | None = None, norm: str = "rms",
                 prenorm: bool = True, dropout: float = 0.0, key: Any = None) -> None:
        k1, _, k3 = _keys(key)
        super().__init__(build_layer("mlp", dim, dim_inner=dim_inner, key=k1),
                         norm=norm, prenorm=prenorm, dropout=dropout, key=k3)
