"""``HyenaCore``: what the Hyena operators share (``Hyena``, ``MultiHeadHyena``,
``HyenaExperts``): MAD-Lab's argument checks, the short filter, the implicit long filter, and
the order recurrence."""

from __future__ import annotations

import math
from typing import Any

import ember

from ..._core._errors import ConfigError
from ...layers._dense import Dense
from ...layers._dropout import Dropout
from ...layers._support import brief_repr, layer_dtype, new_variable, positive_int
from .._base import SequenceMixer
from .._torch_init import uniform_init
from ._fft_conv import causal_conv_last, fft_conv
from ._hyena_filter import HyenaFilter, parse_long_conv_cfg

__all__ = ["IDENTITY", "HyenaCore", "identity_only"]

IDENTITY = ("id", "identity", "linear", None)


class HyenaCore(SequenceMixer):
    """The parts of a Hyena operator (not a layer of its own): MAD-Lab's argument checks, the
    short causal depthwise filter, the implicit long filter with its skip ``bias``, and the
    order recurrence in full-sequence and one-position form."""

    causal = True
    #: MAD-Lab's ``filter_cfg`` default of each layer (configs/layers/*.yml)
    filter_order = 16
    #: how many times the streams read the input projection over (``Hyena``'s tying)
    proj_groups = 1
    in_proj: Dense

    def _check_options(self, *, num_blocks: Any, fused_bias_fc: Any, outer_mixing: Any,
                       post_order_ffn: Any, dropout: Any) -> None:
        name = type(self).__name__
        positive_int(name, "num_blocks", num_blocks)
        if num_blocks != 1:
            raise ConfigError(f"{name}: num_blocks={num_blocks} (MAD-Lab's blocked long "
                              f"convolution) is not built by ember; use 1 (the default)")
        notes = {"fused_bias_fc": "a CUDA kernel of flash-attn; False is the same math",
                 "outer_mixing": "not built by ember",
                 "post_order_ffn": "not built by ember (MAD-Lab's own code fails with it)"}
        for flag, value in (("fused_bias_fc", fused_bias_fc), ("outer_mixing", outer_mixing),
                            ("post_order_ffn", post_order_ffn)):
            if not isinstance(value, bool):
                raise ConfigError(f"{name}: {flag} must be True or False, got {value!r}")
            if value:
                raise ConfigError(f"{name}: {flag}=True is {notes[flag]}; use False (MAD-Lab's "
                                  f"default)")
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or \
                not 0.0 <= dropout < 1.0:
            raise ConfigError(f"{name}: dropout must be a number in [0, 1), got {dropout!r}")

    def _build(self, *, dim: int, width: int, streams: int, order: int, filter_width: int,
               max_length: int, short_filter_order: int, long_conv_cfg: Any, dropout: float,
               dtype: Any, base: Any, num_heads: int | None = None) -> None:
        """The short filter over ``streams * width`` channels and the long filter of
        ``filter_width`` channels (Hyena's ``width * (order - 1)``: channel ``c`` is order
        ``c % (order - 1)`` of channel ``c // (order - 1)``)."""
        name = type(self).__name__
        self.dim = dim
        self.order = order
        self.max_length = positive_int(name, "max_length", max_length)
        self.short_filter_order = positive_int(name, "short_filter_order", short_filter_order)
        self.width = width
        d = layer_dtype(name, dtype)
        default = {"bias": True, "filter_cls": "implicit",
                   "filter_cfg": {"order": self.filter_order}}
        use_bias, filter_kwargs = parse_long_conv_cfg(name, long_conv_cfg, default,
                                                      num_heads=num_heads)
        channels, taps = streams * width, short_filter_order
        bound = 1.0 / math.sqrt(taps)  # torch's nn.Conv1d: fan_in = taps for a depthwise filter
        self.short_filter_weight = new_variable(name, uniform_init(bound), ember.random.fold_in(
            base, 10), (channels, taps, 1), d, "short_filter_weight")
        self.short_filter_bias = new_variable(name, uniform_init(bound), ember.random.fold_in(
            base, 11), (channels,), d, "short_filter_bias")
        self.filter = HyenaFilter(filter_width, seq_len=max_length, dtype=dtype,
                                  key=ember.random.fold_in(base, 12), **filter_kwargs)
        self.long_conv_bias = new_variable(
            name, lambda k, s, dt: ember.random.normal(k, s, dt), ember.random.fold_in(base, 13),
            (filter_width,), d, "long_conv_bias") if use_bias else None
        self.dropout = Dropout(dropout, key=ember.random.fold_in(base, 14)) if dropout else None

    # -- pieces --------------------------------------------------------------------------------
    def _project(self, x: ember.Tensor) -> ember.Tensor:
        p: ember.Tensor = self.in_proj(x)
        if self.proj_groups > 1:
            p = ember.tile(p, (1,) * (p.ndim - 1) + (self.proj_groups,))
        return p

    def _check_length(self, x: ember.Tensor) -> None:
        if x.shape[1] > self.max_length:
            raise ember.ShapeError(f"{type(self).__name__}: sequence of length {x.shape[1]} is "
                                   f"longer than max_length={self.max_length} (the long "
                                   f"filter's taps); build the layer with a larger max_length")

    def _short(self, p: ember.Tensor) -> ember.Tensor:
        """The causal depthwise convolution (``short_filter_order`` taps) of ``p`` ``(batch,
        length, channels)``."""
        return ember.nn.conv1d(p, self.short_filter_weight, self.short_filter_bias,
                               padding=((self.short_filter_order - 1, 0),),
                               groups=self.short_filter_weight.shape[0])

    def _short_step(self, window: ember.Tensor, p_t: ember.Tensor
                    ) -> tuple[ember.Tensor, ember.Tensor]:
        """One position of ``_short``: ``window`` holds the previous ``short_filter_order - 1``
        inputs ``(batch, taps - 1, channels)``."""
        full = ember.concat([window, p_t[:, None, :]], axis=1)
        w = ember.permute_dims(self.short_filter_weight[..., 0], (1, 0))
        return ember.sum(full * w, axis=1) + self.short_filter_bias, full[:, 1:]

    def _split(self, u: ember.Tensor, count: int) -> list[ember.Tensor]:
        n = self.width
        return [u[..., i * n:(i + 1) * n] for i in range(count)]

    def _long_taps(self, length: int) -> tuple[ember.Tensor, ember.Tensor | None]:
        """The long filter ``(length, width, order - 1)`` and its bias ``(width, order - 1)``."""
        k = ember.reshape(self.filter(length), (length, self.width, self.order - 1))
        b = self.long_conv_bias
        return k, None if b is None else ember.reshape(b, (self.width, self.order - 1))

    def _recurrence(self, gates: list[ember.Tensor], v: ember.Tensor) -> ember.Tensor:
        """``gates`` x_0..x_{N-1} and ``v`` ``(batch, length, width)`` -> ``x_0 . z_N``."""
        k, b = self._long_taps(v.shape[1])
        n = self.order
        for o in range(n - 1):
            v = v * gates[n - 1 - o]
            if self.dropout is not None:
                v = self.dropout(v)
            v = fft_conv(v, k[..., o], None if b is None else b[:, o])
        return v * gates[0]

    def _recurrence_step(self, gates: list[ember.Tensor], v: ember.Tensor,
                         state: dict[str, Any]) -> tuple[ember.Tensor, tuple[ember.Tensor, ...]]:
        """One position of ``_recurrence`` from the inputs each long convolution has seen."""
        k, bias = state["filter"], self.long_conv_bias
        b = None if bias is None else ember.reshape(bias, (self.width, self.order - 1))
        seen = []
        n = self.order
        for o in range(n - 1):
            inputs = ember.concat([state["inputs"][o], (v * gates[n - 1 - o])[:, None, :]],
                                  axis=1)
            seen.append(inputs)
            v = causal_conv_last(inputs, k[:inputs.shape[1], :, o],
                                 None if b is None else b[:, o])
        return v * gates[0], tuple(seen)

    def _order_state(self, batch: int, dtype: Any) -> dict[str, Any]:
        window = self._window(batch, dtype)
        return {"window": window, "filter": self._long_taps(self.max_length)[0],
                "inputs": tuple(self._zeros((window.shape[0], 0, self.width), dtype)
                                for _ in range(self.order - 1))}

    def _order_step(self, x_t: ember.Tensor, state: Any
                    ) -> tuple[ember.Tensor, dict[str, Any]]:
        """One position of the projection, short filter and recurrence: ``x_0 . z_N`` at it
        and the state after it."""
        self._position(state, x_t.shape[0], ("inputs",))
        u, window = self._short_step(state["window"], self._project(x_t))
        *gates, v = self._split(u, self.order + 1)
        y, seen = self._recurrence_step(gates, v, state)
        return y, {"window": window, "filter": state["filter"], "inputs": seen}

    def _position(self, state: Any, batch: int, keys: tuple[str, ...]) -> int:
        """The position the next ``step`` decodes: the length of ``state[keys[0]]`` (a
        ShapeError for a foreign state)."""
        name = type(self).__name__
        if not isinstance(state, dict) or set(state) != {"window", "filter", *keys}:
            raise ember.ShapeError(f"{name}.step: state must be the dict init_state returns, "
                                   f"got {type(state).__name__}")
        window = state["window"]
        want = (batch, self.short_filter_order - 1, self.short_filter_weight.shape[0])
        if window.shape != want:
            raise ember.ShapeError(f"{name}.step: the state's window has shape {window.shape}, "
                                   f"need {want} (init_state({batch}))")
        seen = state[keys[0]]
        t = int((seen[0] if isinstance(seen, tuple) else seen).shape[1])
        if t >= self.max_length:
            raise ember.ShapeError(f"{name}.step: position {t} is past max_length="
                                   f"{self.max_length} (the long filter's taps)")
        return t

    def _zeros(self, shape: tuple[int, ...], dtype: Any) -> ember.Tensor:
        like = self.short_filter_bias  # its dtype, backend and device follow Module.to
        return ember.zeros(shape, dtype=like.dtype if dtype is None else dtype,
                           backend=like.backend, device=like.device)

    def _window(self, batch: int, dtype: Any) -> ember.Tensor:
        batch = positive_int(f"{type(self).__name__}.init_state", "batch", batch)
        channels = self.short_filter_weight.shape[0]
        return self._zeros((batch, self.short_filter_order - 1, channels), dtype)

    def extra_repr(self) -> str:
        return brief_repr(self)


def identity_only(name: str, activation: Any) -> None:
    if activation not in IDENTITY:
        raise ConfigError(f"{name}: activation={activation!r} is accepted but never applied by "
                          f"MAD-Lab's operator; use 'id' (only HyenaExperts applies one)")
