"""The gated linear unit family of channel mixers: ``GLU``, ``SwiGLU``, ``GeGLU``, ``ReGLU``.

Shazeer (2020), "GLU Variants Improve Transformer" (after Dauphin et al. 2017, "Language
Modeling with Gated Convolutional Networks"): the feed-forward layer with its hidden units gated
by a second projection,

    y = W3 (act(W1 x) * W2 x)

with ``act`` the sigmoid (GLU), SiLU/Swish (SwiGLU), GELU (GeGLU) or ReLU (ReGLU). MAD-Lab's
``swiglu`` (``mad/model/layers/mlp.py``) sets the inner width so the three matrices hold about
as many parameters as a 4x MLP: ``int(8 * dim / 3)`` rounded up to a multiple of
``multiple_of`` (16).
"""

from __future__ import annotations

from typing import Any

import ember

from ..._core._activation_names import get as get_activation
from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._dropout import Dropout
from ...layers._support import brief_repr, positive_int
from .._base import ChannelMixer
from .._torch_init import torch_linear

__all__ = ["GLU", "GeGLU", "ReGLU", "SwiGLU", "check_features", "glu_inner_width"]


def glu_inner_width(dim: int, multiple_of: int = 16) -> int:
    """MAD-Lab's inner width of a GLU of width ``dim``: ``int(2 * dim * 4 / 3)`` (two thirds of
    a 4x MLP's, so the three matrices hold as many parameters as its two) rounded up to a
    multiple of ``multiple_of``. ``glu_inner_width(128) == 352``."""
    inner = (8 * dim) // 3
    return multiple_of * ((inner + multiple_of - 1) // multiple_of)


def check_features(layer: str, x: Any, dim: int) -> ember.Tensor:
    """``x`` as a tensor if it is floating with ``dim`` features on its last axis (any leading
    axes: ``(batch, length, dim)`` or one position ``(batch, dim)``), else an error."""
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if x.ndim == 0 or x.shape[-1] != dim:
        raise ember.ShapeError(f"{layer}: input of shape {x.shape} must have the layer's dim "
                               f"({dim}) on its last axis, e.g. (batch, length, {dim})")
    if not x.dtype.is_floating:
        raise ember.DTypeError(f"{layer}: input must be floating point, got {x.dtype}; cast with "
                               f".astype(ember.float32)")
    return x


def check_rate(layer: str, drop_rate: Any) -> float:
    if isinstance(drop_rate, bool) or not isinstance(drop_rate, int | float) \
            or not 0.0 <= drop_rate < 1.0:
        raise ConfigError(f"{layer}: drop_rate must be a number in [0, 1), got {drop_rate!r}")
    return float(drop_rate)


def check_bool(layer: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{layer}: {name} must be True or False, got {value!r}")
    return value


class GLU(ChannelMixer):
    """Gated linear unit channel mixer, ``y = W3 (act(W1 x) * W2 x)``, with dropout (at
    ``drop_rate``, training mode) on ``act(W1 x)``, on ``W2 x`` and on the output, as MAD-Lab.

    Shazeer (2020), "GLU Variants Improve Transformer"; Dauphin et al. (2017), "Language
    Modeling with Gated Convolutional Networks" (the sigmoid gate). ``SwiGLU``, ``GeGLU`` and
    ``ReGLU`` are this layer with ``act`` fixed.

    Arguments:
        dim: the width of the input and output (last axis).
        dim_inner: the hidden width; None: MAD-Lab's ``int(8 * dim / 3)`` rounded up to a
            multiple of ``multiple_of`` (``glu_inner_width``).
        activation: the gate's activation, a name or function (``"sigmoid"``: GLU).
        multiple_of: see ``dim_inner`` (16, as MAD-Lab).
        bias: biases in the three projections (False, as MAD-Lab).
        drop_rate: dropout rate (0: none).
        dtype: the parameters' dtype (float32).
        key: seed or key of the initialisation (and dropout masks).

    ``w1``, ``w2``, ``w3`` are ``Dense`` layers (weights ``(in, out)``: MAD-Lab's and torch's
    ``nn.Linear`` weights transposed), initialised as torch's ``nn.Linear`` (MAD-Lab's):
    uniform in ``±1/sqrt(in_features)``. Input ``(..., dim)`` (a sequence ``(batch, length, dim)``
    or one position); each position is mixed on its own. Cost per position:
    ``3 * dim * dim_inner`` multiply-adds; parameters ``3 * dim * dim_inner`` (+ biases).

    >>> from ember_nn.mixers.channel import GLU
    >>> mixer = GLU(8, key=0)
    >>> mixer.dim_inner, mixer(ember.ones((2, 5, 8))).shape
    (32, (2, 5, 8))
    >>> mixer
    GLU(8)  # 768 parameters
      (w1): Dense(8, 32, use_bias=False)  # 256 parameters
      (w2): Dense(8, 32, use_bias=False)  # 256 parameters
      (w3): Dense(32, 8, use_bias=False)  # 256 parameters
    """

    def __init__(self, dim: int, *, dim_inner: int | None = None, activation: Any = "sigmoid",
                 multiple_of: int = 16, bias: bool = False, drop_rate: float = 0.0,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        self.dim = positive_int(name, "dim", dim)
        self.multiple_of = positive_int(name, "multiple_of", multiple_of)
        self.dim_inner = glu_inner_width(dim, multiple_of) if dim_inner is None \
            else positive_int(name, "dim_inner", dim_inner)
        self.activation = get_activation(activation)
        self.bias = check_bool(name, "bias", bias)
        self.drop_rate = check_rate(name, drop_rate)
        base = next_key(key)
        k = [ember.random.fold_in(base, i) for i in range(6)]
        self.w1 = torch_linear(dim, self.dim_inner, bias=bias, dtype=dtype, key=k[0])
        self.w2 = torch_linear(dim, self.dim_inner, bias=bias, dtype=dtype, key=k[1])
        self.w3 = torch_linear(self.dim_inner, dim, bias=bias, dtype=dtype, key=k[2])
        self.drops = [Dropout(self.drop_rate, key=k[i]) for i in (3, 4, 5)] \
            if self.drop_rate else None

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = check_features(type(self).__name__, x, self.dim)
        gate, value = self.activation(self.w1(x)), self.w2(x)
        if self.drops is None:
            return self.w3(gate * value)
        d1, d2, d3 = self.drops
        return d3(self.w3(d1(gate) * d2(value)))

    def extra_repr(self) -> str:
        return brief_repr(self)


class SwiGLU(GLU):
    """``GLU`` with a SiLU (Swish) gate, ``y = W3 (silu(W1 x) * W2 x)``: MAD-Lab's ``swiglu``
    (Shazeer 2020, "GLU Variants Improve Transformer"). Arguments as ``GLU``'s.

    >>> from ember_nn.mixers.channel import SwiGLU
    >>> mixer = SwiGLU(128, key=0)
    >>> mixer.dim_inner, mixer.num_parameters()
    (352, 135168)
    >>> y = mixer(ember.ones((1, 3, 128)))
    >>> y.shape
    (1, 3, 128)
    """

    def __init__(self, dim: int, *, dim_inner: int | None = None, multiple_of: int = 16,
                 bias: bool = False, drop_rate: float = 0.0, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__(dim, dim_inner=dim_inner, activation="silu", multiple_of=multiple_of,
                         bias=bias, drop_rate=drop_rate, dtype=dtype, key=key)


class GeGLU(GLU):
    """``GLU`` with a GELU gate (the exact, erf form, as Shazeer 2020 uses),
    ``y = W3 (gelu(W1 x) * W2 x)``. Arguments as ``GLU``'s.

    >>> from ember_nn.mixers.channel import GeGLU
    >>> GeGLU(16, dim_inner=24, key=0)(ember.zeros((4, 16))).tolist()[0][:3]  # no biases: 0 -> 0
    [0.0, 0.0, 0.0]
    """

    def __init__(self, dim: int, *, dim_inner: int | None = None, multiple_of: int = 16,
                 bias: bool = False, drop_rate: float = 0.0, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__(dim, dim_inner=dim_inner, activation="gelu", multiple_of=multiple_of,
                         bias=bias, drop_rate=drop_rate, dtype=dtype, key=key)


class ReGLU(GLU):
    """``GLU`` with a ReLU gate, ``y = W3 (relu(W1 x) * W2 x)`` (Shazeer 2020). Arguments as
    ``GLU``'s.

    >>> from ember_nn.mixers.channel import ReGLU
    >>> ReGLU(4, key=0)(ember.ones((1, 4))).shape
    (1, 4)
    """

    def __init__(self, dim: int, *, dim_inner: int | None = None, multiple_of: int = 16,
                 bias: bool = False, drop_rate: float = 0.0, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__(dim, dim_inner=dim_inner, activation="relu", multiple_of=multiple_of,
                         bias=bias, drop_rate=drop_rate, dtype=dtype, key=key)
