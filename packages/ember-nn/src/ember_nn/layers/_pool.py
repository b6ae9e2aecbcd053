"""Pooling and reshaping layers, channels-last: ``MaxPool1d/2d``, ``AvgPool1d/2d``,
``GlobalAvgPool``, ``GlobalMaxPool`` and ``Flatten``."""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ._conv import normalise_padding, normalise_window
from ._support import brief_repr

__all__ = ["AvgPool1d", "AvgPool2d", "Flatten", "GlobalAvgPool", "GlobalMaxPool", "MaxPool1d",
           "MaxPool2d"]


class _Pool(Module):
    nd: int
    layout: str

    def _build(self, kernel_size: Any, stride: Any, padding: Any) -> None:
        name = type(self).__name__
        self.kernel_size = normalise_window(name, "kernel_size", kernel_size, self.nd)
        self.stride = self.kernel_size if stride is None else normalise_window(
            name, "stride", stride, self.nd)
        self.padding = normalise_padding(name, padding, self.nd, strings=False)
        pads: list[tuple[int, int]] = list(self.padding)  # type: ignore[arg-type]
        for (lo, hi), k in zip(pads, self.kernel_size, strict=True):
            if lo >= k or hi >= k:
                raise ConfigError(f"{name}: padding {padding!r} must be smaller than the window "
                                  f"{self.kernel_size} on each side")

    def _check(self, x: Any) -> ember.Tensor:
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        if x.ndim != self.nd + 2:
            raise ember.ShapeError(f"{type(self).__name__}: input must be channels-last "
                                   f"{self.layout}, got shape {x.shape}")
        return x

    def extra_repr(self) -> str:
        return brief_repr(self)


class _MaxPool(_Pool):
    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return ember.nn.max_pool(self._check(x), self.kernel_size, self.stride, self.padding)


class _AvgPool(_Pool):
    count_include_pad: bool

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return ember.nn.avg_pool(self._check(x), self.kernel_size, self.stride, self.padding,
                                 count_include_pad=self.count_include_pad)


class MaxPool1d(_MaxPool):
    """Max over windows of ``kernel_size`` along L of ``(N, L, C)``; ``stride`` defaults to the
    window; ``padding`` (an int or a ``(low, high)`` pair) is filled with -inf.

    >>> ember_nn.MaxPool1d(2)(ember.tensor([[[1.0], [3.0], [2.0], [0.0]]])).tolist()
    [[[3.0], [2.0]]]
    """

    nd, layout = 1, "(N, L, C)"

    def __init__(self, kernel_size: Any, *, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self._build(kernel_size, stride, padding)


class MaxPool2d(_MaxPool):
    """Max over ``kernel_size`` windows of H and W of ``(N, H, W, C)``; ``stride`` defaults to
    the window; ``padding`` (an int, a pair or two ``(low, high)`` pairs) is filled with -inf.

    >>> ember_nn.MaxPool2d(2)(ember.ones((1, 4, 4, 3))).shape
    (1, 2, 2, 3)
    """

    nd, layout = 2, "(N, H, W, C)"

    def __init__(self, kernel_size: Any, *, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self._build(kernel_size, stride, padding)


class AvgPool1d(_AvgPool):
    """Mean over windows along L of ``(N, L, C)``. Padded positions count towards the divisor
    only with ``count_include_pad=True`` (PyTorch's default is True, ember's False).

    >>> ember_nn.AvgPool1d(2)(ember.tensor([[[1.0], [3.0], [2.0], [0.0]]])).tolist()
    [[[2.0], [1.0]]]
    """

    nd, layout = 1, "(N, L, C)"

    def __init__(self, kernel_size: Any, *, stride: Any = None, padding: Any = 0,
                 count_include_pad: bool = False) -> None:
        super().__init__()
        self._build(kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)


class AvgPool2d(_AvgPool):
    """Mean over windows of H and W of ``(N, H, W, C)`` (see ``AvgPool1d`` for padding).

    >>> ember_nn.AvgPool2d(2)(ember.ones((1, 4, 4, 3))).shape
    (1, 2, 2, 3)
    """

    nd, layout = 2, "(N, H, W, C)"

    def __init__(self, kernel_size: Any, *, stride: Any = None, padding: Any = 0,
                 count_include_pad: bool = False) -> None:
        super().__init__()
        self._build(kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)


def _spatial(layer: str, x: Any) -> tuple[ember.Tensor, tuple[int, ...]]:
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if x.ndim < 3:
        raise ember.ShapeError(f"{layer}: input must be channels-last (N, *spatial, C) with at "
                               f"least one spatial axis, got shape {x.shape}")
    return x, tuple(range(1, x.ndim - 1))


class GlobalAvgPool(Module):
    """Mean over every spatial axis of channels-last ``(N, *spatial, C)``: ``(N, C)``, or
    ``(N, 1, ..., 1, C)`` with ``keepdims=True``.

    >>> ember_nn.GlobalAvgPool()(ember.ones((2, 5, 5, 3))).shape
    (2, 3)
    """

    def __init__(self, *, keepdims: bool = False) -> None:
        super().__init__()
        self.keepdims = bool(keepdims)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x, axes = _spatial("GlobalAvgPool", x)
        return ember.mean(x, axis=axes, keepdims=self.keepdims)

    def extra_repr(self) -> str:
        return brief_repr(self)


class GlobalMaxPool(Module):
    """Max over every spatial axis of channels-last ``(N, *spatial, C)``: ``(N, C)``.

    >>> ember_nn.GlobalMaxPool()(ember.ones((2, 5, 3))).shape
    (2, 3)
    """

    def __init__(self, *, keepdims: bool = False) -> None:
        super().__init__()
        self.keepdims = bool(keepdims)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x, axes = _spatial("GlobalMaxPool", x)
        return ember.max(x, axis=axes, keepdims=self.keepdims)

    def extra_repr(self) -> str:
        return brief_repr(self)


class Flatten(Module):
    """Merge axes ``start_axis..end_axis`` (inclusive) into one: by default every axis but the
    batch axis, ``(N, ...) -> (N, prod(...))``.

    >>> ember_nn.Flatten()(ember.ones((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, *, start_axis: int = 1, end_axis: int = -1) -> None:
        super().__init__()
        for name, v in (("start_axis", start_axis), ("end_axis", end_axis)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"Flatten: {name} must be an int, got {v!r}")
        self.start_axis, self.end_axis = start_axis, end_axis

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        n = max(x.ndim, 1)
        lo, hi = self.start_axis, self.end_axis
        if not (-n <= lo < n and -n <= hi < n) or lo % n > hi % n:
            raise ember.ShapeError(f"Flatten: axes {lo}..{hi} do not fit an input of shape "
                                   f"{x.shape}")
        lo, hi = lo % n, hi % n
        if x.ndim == 0:
            return ember.reshape(x, (1,))
        merged = 1
        for s in x.shape[lo:hi + 1]:
            merged *= s
        return ember.reshape(x, (*x.shape[:lo], merged, *x.shape[hi + 1:]))

    def extra_repr(self) -> str:
        return brief_repr(self)
