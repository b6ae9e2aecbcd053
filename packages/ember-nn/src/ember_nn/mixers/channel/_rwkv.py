"""RWKV channel mixing: ``RWKV6ChannelMix`` and ``RWKV5ChannelMix``, with MAD-Lab's arguments.
Unlike the other channel mixers they read the previous position too (the token shift), so
they take whole sequences and step with a state."""

from __future__ import annotations

from typing import Any

import ember

from ..._core._random import next_key
from ...layers._support import brief_repr, layer_dtype, positive_int
from .._base import ChannelMixer, check_sequence, check_step
from .._token_shift import (
    check_layer_position,
    constant_variable,
    ramp,
    token_shift,
)
from .._torch_init import torch_linear

__all__ = ["RWKV5ChannelMix", "RWKV6ChannelMix"]


class _RWKVChannelMix(ChannelMixer):
    """What both versions share; a subclass builds its two mixing vectors and defines
    ``_mixed`` (the keys' and receptances' inputs from ``x`` and ``xx = shift(x) - x``)."""

    def _setup(self, name: str, dim: int, dim_inner: int | None, n_layer: int, layer_id: int,
               dtype: Any, key: Any) -> tuple[ember.DType, list[float]]:
        self.dim = positive_int(name, "dim", dim)
        self.dim_inner = 4 * dim if dim_inner is None else \
            positive_int(name, "dim_inner", dim_inner)
        n_layer, layer_id = check_layer_position(name, n_layer, layer_id)
        d = layer_dtype(name, dtype)
        k_k, k_r, k_v = ember.random.split(next_key(key), 3)
        self.key = torch_linear(dim, self.dim_inner, bias=False, dtype=dtype, key=k_k)
        self.receptance = torch_linear(dim, dim, bias=False, dtype=dtype, key=k_r)
        self.value = torch_linear(self.dim_inner, dim, bias=False, dtype=dtype, key=k_v)
        self._dtype = d
        return d, ramp(dim, 1.0 - layer_id / n_layer)

    def _mixed(self, x: ember.Tensor, xx: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
        raise NotImplementedError

    def _apply(self, x: ember.Tensor, prev: ember.Tensor) -> ember.Tensor:
        xk, xr = self._mixed(x, prev - x)
        k = ember.square(ember.nn.relu(self.key(xk)))
        return ember.nn.sigmoid(self.receptance(xr)) * self.value(k)

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence(type(self).__name__, x, self.dim)
        return self._apply(x, token_shift(x))

    def init_state(self, batch: int, dtype: Any = None) -> ember.Tensor:
        """The previous input: zeros ``(batch, dim)``."""
        batch = positive_int(f"{type(self).__name__}.init_state", "batch", batch)
        like = self.receptance.weight
        return ember.zeros((batch, self.dim), dtype=self._dtype if dtype is None else dtype,
                           backend=like.backend, device=like.device)

    def step(self, x_t: Any, state: Any) -> tuple[ember.Tensor, Any]:
        name = type(self).__name__
        x_t = check_step(name, x_t, self.dim)
        if state.shape != x_t.shape:
            raise ember.ShapeError(f"{name}.step: state of shape {state.shape} must be the "
                                   f"previous input {x_t.shape} (see init_state)")
        return self._apply(x_t, state), x_t

    def extra_repr(self) -> str:
        return brief_repr(self)


class RWKV6ChannelMix(_RWKVChannelMix):
    """RWKV-6 channel mixing (Peng et al. 2024, "Eagle and Finch: RWKV with Matrix-Valued
    States and Dynamic Recurrence"), on ``(batch, length, dim)``. Not per-position: each
    output also reads the previous position (the token shift), so it is causal and steps with
    the previous input as its state (``init_state``/``step``).

    With ``xx = shift(x) - x`` (the previous position minus this one, zero before the start)::

        x_k = x + xx * time_maa_k;   x_r = x + xx * time_maa_r
        out = sigmoid(receptance(x_r)) * value(relu(key(x_k)) ** 2)

    as MAD-Lab's ``rwkv6-channel-mixer``. Arguments: ``dim``; ``dim_inner`` (None:
    ``4 * dim``, MAD-Lab's 512 at dim 128); ``n_layer=1``, ``layer_id=0`` (RWKV's init ramps:
    ``time_maa = 1 - (i / dim) ** (1 - layer_id / n_layer)``); ``dtype``; ``key``. Linear layers
    are initialised as torch's ``nn.Linear``. Cost: O(length · dim · dim_inner).

    >>> mixer = RWKV6ChannelMix(8, key=0)
    >>> y = mixer(ember.ones((2, 5, 8)))
    >>> y.shape, round(float(y[0, -1, 0]), 4)
    ((2, 5, 8), -0.0106)
    """

    def __init__(self, dim: int, *, dim_inner: int | None = None, n_layer: int = 1,
                 layer_id: int = 0, dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "RWKV6ChannelMix"
        d, ddd = self._setup(name, dim, dim_inner, n_layer, layer_id, dtype, key)
        maa = [1.0 - v for v in ddd]
        self.time_maa_k = constant_variable(name, maa, (dim,), d, "time_maa_k")
        self.time_maa_r = constant_variable(name, maa, (dim,), d, "time_maa_r")

    def _mixed(self, x: ember.Tensor, xx: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
        return x + xx * self.time_maa_k, x + xx * self.time_maa_r


class RWKV5ChannelMix(_RWKVChannelMix):
    """RWKV-5 channel mixing (Peng et al. 2024, "Eagle and Finch: RWKV with Matrix-Valued
    States and Dynamic Recurrence"), on ``(batch, length, dim)``. Not per-position: each
    output also reads the previous position ``prev`` (zero before the start), so it is causal
    and steps with the previous input as its state::

        x_k = x * time_mix_k + prev * (1 - time_mix_k)   (x_r likewise with time_mix_r)
        out = sigmoid(receptance(x_r)) * value(relu(key(x_k)) ** 2)

    as MAD-Lab's ``rwkv5-channel-mixer`` (``time_mix = (i / dim) ** (1 - layer_id /
    n_layer)``). Arguments and cost as :class:`RWKV6ChannelMix`.

    >>> mixer = RWKV5ChannelMix(8, key=0)
    >>> mixer(ember.ones((2, 5, 8))).shape
    (2, 5, 8)
    """

    def __init__(self, dim: int, *, dim_inner: int | None = None, n_layer: int = 1,
                 layer_id: int = 0, dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "RWKV5ChannelMix"
        d, ddd = self._setup(name, dim, dim_inner, n_layer, layer_id, dtype, key)
        self.time_mix_k = constant_variable(name, ddd, (dim,), d, "time_mix_k")
        self.time_mix_r = constant_variable(name, ddd, (dim,), d, "time_mix_r")

    def _mixed(self, x: ember.Tensor, xx: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
        return x + xx * (1.0 - self.time_mix_k), x + xx * (1.0 - self.time_mix_r)
