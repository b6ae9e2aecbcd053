"""Pooling, channels-last: x is (N, *spatial, C); padding as for convolution (an int, (low,
high) pairs per spatial axis, 'valid' or 'same')."""

from __future__ import annotations

from typing import Any

from .. import _dtypes as dt
from .._dispatch import cast_native, fail
from .._errors import DTypeError, ShapeError
from .._tensor import Tensor
from ._constants import constant
from ._convolution import Pairs, _padding, _tuple
from ._creation import asarray

__all__ = ["avg_pool", "max_pool"]

T = Tensor


def _pool(op: str, x: Any, window: Any, stride: Any, padding: Any) -> tuple[Tensor, tuple, tuple, tuple]:
    x = x if isinstance(x, Tensor) else asarray(x)
    nd = x.ndim - 2
    if nd < 1:
        raise ShapeError(f"{op}: x must be (N, *spatial, C), got shape {x.shape}")
    w = _tuple(op, "window", window, nd)
    s = w if stride is None else _tuple(op, "stride", stride, nd)
    pads = _padding(op, padding, nd, tuple(x.shape[1:-1]), w, s, (1,) * nd)
    for (lo, hi), k in zip(pads, w, strict=True):
        if lo >= k or hi >= k:
            raise ShapeError(f"{op}: padding {pads} must be smaller than the window {w}")
    spatial = tuple(x.shape[1:-1])
    if any(n + lo + hi < k for n, (lo, hi), k in zip(spatial, pads, w, strict=True)):
        raise ShapeError(
            f"{op}: the window {w} does not fit the input's spatial shape {spatial} (x of shape "
            f"{x.shape}, padding {pads}, stride {s}): every output needs a full window; use a "
            f"window of at most the padded size, pad the input, or pass padding='same'")
    if x.dtype.is_complex or x.dtype is dt.bool:
        raise DTypeError(f"{op} takes real tensors, got {x.dtype}")
    return x, w, s, pads


def max_pool(x: Any, window: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Max over sliding windows of the spatial axes of x (N, *spatial, C); stride defaults to window."""
    x, w, s, pads = _pool("max_pool", x, window, stride, padding)
    try:
        return T(x._b.kernels.nn_max_pool(x._n, w, s, pads), x._b)
    except Exception as exc:
        raise fail("max_pool", (x,), exc) from exc


def avg_pool(x: Any, window: Any, stride: Any = None, padding: Any = 0, *,
             count_include_pad: bool = False) -> Tensor:
    """Mean over sliding windows; padding counts towards the divisor only if count_include_pad."""
    x, w, s, pads = _pool("avg_pool", x, window, stride, padding)
    if not x.dtype.is_inexact:
        x = T(cast_native(x._b, x._n, dt.default_float()), x._b)
    div = None if count_include_pad else pool_divisor(x, w, s, pads)
    try:
        return T(x._b.kernels.nn_avg_pool(x._n, w, s, pads, None if div is None else div._n), x._b)
    except Exception as exc:
        raise fail("avg_pool", (x,), exc) from exc


def _inside(size: int, k: int, s: int, lo: int, hi: int) -> tuple[int, ...]:
    """Per output position along one axis, how many window elements lie inside the input."""
    return tuple(min(o * s - lo + k, size) - max(o * s - lo, 0)
                 for o in range((lo + size + hi - k) // s + 1))


def pool_divisor(x: Tensor, window: tuple[int, ...], stride: tuple[int, ...],
                 padding: Pairs) -> Tensor | None:
    """What avg_pool divides each window's sum by when padding does not count: None where
    every window lies inside x (the window size), else a ``(1, *out_spatial, 1)`` tensor of x's
    dtype holding, per output position, the number of window elements inside x. Computed here
    once (and cached per shape) for every backend's kernel and for the VJP rule."""
    if not any(lo or hi for lo, hi in padding):
        return None
    args = (x._b.root, x.device, x.dtype, tuple(x.shape[1:-1]), window, stride, padding)
    return constant(("avg_pool divisor", *args), lambda: _divisor(*args))


def _divisor(b: Any, device: str, dtype: Any, spatial: tuple[int, ...], window: tuple[int, ...],
             stride: tuple[int, ...], padding: Pairs) -> Tensor | None:
    from . import _elementwise as ew
    from ._manipulation import reshape

    counts = [_inside(n, k, s, lo, hi)
              for n, k, s, (lo, hi) in zip(spatial, window, stride, padding, strict=True)]
    if all(c == k for cs, k in zip(counts, window) for c in cs):
        return None  # the padding lies beyond every window
    nd = len(counts)
    axes = [reshape(asarray(list(cs), dtype=dtype, device=device, backend=b),
                    tuple(len(cs) if j == i + 1 else 1 for j in range(nd + 2)))
            for i, cs in enumerate(counts)]
    out = axes[0]
    for a in axes[1:]:
        out = ew.multiply(out, a)
    return out
