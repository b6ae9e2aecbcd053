"""Convolution layers, channels-last: ``Conv1d`` on ``(N, L, C)``, ``Conv2d`` on ``(N, H, W, C)``.

Kernels are in ``ember.nn.conv``'s layout, ``(C_out, *kernel, C_in/groups)`` — PyTorch's
``(C_out, C_in/groups, *kernel)`` with the input-channel axis moved last — and their default
``glorot_uniform`` initialisation counts the receptive field in its fans (see ``ember_nn.init``).
"""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ._support import brief_repr, layer_dtype, new_variable, positive_int, resolve_init

__all__ = ["Conv1d", "Conv2d"]

Pads = str | tuple[tuple[int, int], ...]


def _nonneg(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def normalise_window(layer: str, name: str, value: Any, nd: int) -> tuple[int, ...]:
    """An int or ``nd`` ints, all positive, as a tuple of ``nd`` ints (else a ConfigError)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (positive_int(layer, name, value),) * nd
    if isinstance(value, list | tuple) and len(value) == nd:
        return tuple(positive_int(layer, name, v) for v in value)
    raise ConfigError(f"{layer}: {name} must be a positive int or {nd} positive ints, got "
                      f"{value!r}")


def normalise_padding(layer: str, padding: Any, nd: int, *, strings: bool = True) -> Pads:
    """'valid', 'same', an int, one int per spatial axis, or one ``(low, high)`` pair per axis
    (for 1-d also a bare ``(low, high)`` pair), as a string or a tuple of ``nd`` pairs."""
    if isinstance(padding, str):
        if strings and padding in ("valid", "same"):
            return padding
    elif _nonneg(padding):
        return ((padding, padding),) * nd
    elif isinstance(padding, list | tuple):
        items = list(padding)
        if nd == 1 and len(items) == 2 and all(_nonneg(p) for p in items):
            return ((items[0], items[1]),)
        if len(items) == nd:
            pads = []
            for p in items:
                if _nonneg(p):
                    pads.append((p, p))
                elif isinstance(p, list | tuple) and len(p) == 2 and all(_nonneg(q) for q in p):
                    pads.append((p[0], p[1]))
                else:
                    break
            else:
                return tuple(pads)
    kinds = "'valid', 'same', " if strings else ""
    raise ConfigError(f"{layer}: padding must be {kinds}a non-negative int, {nd} of them or {nd} "
                      f"(low, high) pairs, got {padding!r}")


class _Conv(Module):
    nd: int
    layout: str

    def _build(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
               padding: Any, dilation: Any, groups: int, use_bias: bool, kernel_init: Any,
               bias_init: Any, dtype: Any, key: Any) -> None:
        name, nd = type(self).__name__, self.nd
        self.in_channels = positive_int(name, "in_channels", in_channels)
        self.out_channels = positive_int(name, "out_channels", out_channels)
        self.groups = positive_int(name, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ConfigError(f"{name}: in_channels={in_channels} and out_channels={out_channels} "
                              f"must both be divisible by groups={groups}")
        self.kernel_size = normalise_window(name, "kernel_size", kernel_size, nd)
        self.stride = normalise_window(name, "stride", stride, nd)
        self.dilation = normalise_window(name, "dilation", dilation, nd)
        self.padding: Any = normalise_padding(name, padding, nd)
        d = layer_dtype(name, dtype)
        k_w, k_b = ember.random.split(next_key(key))
        shape = (out_channels, *self.kernel_size, in_channels // groups)
        w_init = resolve_init(self, "kernel_init", kernel_init)
        self.weight = new_variable(name, w_init, k_w, shape, d, "weight")
        self.bias = None
        if use_bias:
            b_init = resolve_init(self, "bias_init", bias_init)
            self.bias = new_variable(name, b_init, k_b, (out_channels,), d, "bias")

    def _check(self, x: Any) -> ember.Tensor:
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        name = type(self).__name__
        if x.ndim != self.nd + 2:
            raise ember.ShapeError(
                f"{name}: input must be channels-last {self.layout}, got shape {x.shape}"
                + ("; add a batch axis with ember.expand_dims(x, axis=0)"
                   if x.ndim == self.nd + 1 else ""))
        if x.shape[-1] != self.in_channels:
            raise ember.ShapeError(
                f"{name}: input of shape {x.shape} has {x.shape[-1]} channels on its last axis "
                f"(channels-last {self.layout}), but the layer takes "
                f"in_channels={self.in_channels}")
        return x

    def extra_repr(self) -> str:
        return brief_repr(self)


class Conv1d(_Conv):
    """1-d convolution of channels-last input ``(N, L, C_in)`` to ``(N, L_out, C_out)``.

    ``weight`` has shape ``(C_out, kernel_size, C_in/groups)``. ``padding`` is 'valid' (none),
    'same' (output length ``ceil(L / stride)``, any odd padding at the end), an int, or a
    ``(low, high)`` pair. ``causal=True`` pads ``dilation * (kernel_size - 1)`` at the start
    instead, so output ``t`` sees only inputs ``<= t`` (it excludes ``padding``).

    >>> conv = ember_nn.Conv1d(2, 4, 3, causal=True, key=0)
    >>> conv(ember.ones((1, 10, 2))).shape
    (1, 10, 4)
    """

    nd = 1
    layout = "(N, L, C)"

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, *,
                 stride: Any = 1, padding: Any = "valid", dilation: Any = 1, groups: int = 1,
                 causal: bool = False, use_bias: bool = True, kernel_init: Any = "glorot_uniform",
                 bias_init: Any = "zeros", dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        if causal and padding not in ("valid", 0):
            raise ConfigError(f"Conv1d: causal=True sets the padding itself; leave padding at "
                              f"'valid', got padding={padding!r}")
        self.causal = bool(causal)
        self._build(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    use_bias, kernel_init, bias_init, dtype, key)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self._check(x)
        return ember.nn.conv1d(x, self.weight, self.bias, stride=self.stride,
                               padding="causal" if self.causal else self.padding,
                               dilation=self.dilation, groups=self.groups)


class Conv2d(_Conv):
    """2-d convolution of channels-last input ``(N, H, W, C_in)`` to ``(N, H_out, W_out, C_out)``.

    ``weight`` has shape ``(C_out, KH, KW, C_in/groups)``; ``kernel_size``, ``stride`` and
    ``dilation`` are an int or a pair. ``padding`` is 'valid', 'same' (output size
    ``ceil(size / stride)``), an int, a pair ``(ph, pw)`` or two ``(low, high)`` pairs.

    >>> conv = ember_nn.Conv2d(3, 8, 3, padding="same", key=0)
    >>> conv(ember.ones((2, 5, 5, 3))).shape
    (2, 5, 5, 8)
    """

    nd = 2
    layout = "(N, H, W, C)"

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, *,
                 stride: Any = 1, padding: Any = "valid", dilation: Any = 1, groups: int = 1,
                 use_bias: bool = True, kernel_init: Any = "glorot_uniform",
                 bias_init: Any = "zeros", dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        self._build(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                    use_bias, kernel_init, bias_init, dtype, key)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = self._check(x)
        return ember.nn.conv2d(x, self.weight, self.bias, stride=self.stride,
                               padding=self.padding, dilation=self.dilation, groups=self.groups)
