"""Convolution and pooling, channels-last: x is (N, *spatial, C).

Padding may be an int, a (low, high) pair per spatial axis, 'valid', 'same' (output length
ceil(L / stride), the extra padding at the high end, as TensorFlow and PyTorch do) or, for
conv1d, 'causal' (all padding at the low end, so output t sees inputs <= t)."""

from __future__ import annotations

from typing import Any

from .. import _dtypes as dt
from .._dispatch import cast_native, fail, promote_binary
from .._errors import DTypeError, EmberError, ShapeError
from .._tensor import Tensor
from ._constants import constant
from ._creation import asarray

__all__ = ["avg_pool", "conv1d", "conv2d", "max_pool"]

T = Tensor
Pairs = tuple[tuple[int, int], ...]


def _tuple(op: str, name: str, v: Any, nd: int) -> tuple[int, ...]:
    t = (int(v),) * nd if isinstance(v, int) else tuple(int(i) for i in v)
    if len(t) != nd or any(i < 1 for i in t):
        raise ShapeError(f"{op}: {name} must be a positive int or {nd} positive ints, got {v!r}")
    return t


def _padding(op: str, padding: Any, nd: int, sizes: tuple[int, ...], kernel: tuple[int, ...],
             stride: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            pads = []
            for size, k, s, d in zip(sizes, kernel, stride, dilation, strict=True):
                out = -(-size // s)
                total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        if padding == "causal":
            if nd != 1:
                raise EmberError(f"{op}: 'causal' padding is only defined for 1-d convolution")
            return ((dilation[0] * (kernel[0] - 1), 0),)
        raise EmberError(f"{op}: padding must be an int, pairs, 'valid', 'same' or 'causal', got {padding!r}")
    if isinstance(padding, int):
        if padding < 0:
            raise ShapeError(f"{op}: padding must be non-negative, got {padding}")
        return ((padding, padding),) * nd
    pads = []
    for p in padding:
        lo, hi = (p, p) if isinstance(p, int) else p
        if lo < 0 or hi < 0:
            raise ShapeError(f"{op}: padding must be non-negative, got {padding!r}")
        pads.append((int(lo), int(hi)))
    if len(pads) != nd:
        raise ShapeError(f"{op}: padding {padding!r} needs {nd} entries")
    return tuple(pads)


def _conv(op: str, nd: int, x: Any, weight: Any, bias: Any, stride: Any, padding: Any,
          dilation: Any, groups: int) -> Tensor:
    b, xn, wn, d = promote_binary(op, x, weight, inexact=True)
    xt, wt = T(xn, b), T(wn, b)
    if xt.ndim != nd + 2 or wt.ndim != nd + 2:
        raise ShapeError(
            f"{op}: x must be (N, {'L' if nd == 1 else 'H, W'}, C_in) and weight "
            f"(C_out, {'K' if nd == 1 else 'KH, KW'}, C_in/groups); got {xt.shape} and {wt.shape}"
        )
    c_in, c_out = xt.shape[-1], wt.shape[0]
    if groups < 1 or c_in % groups or c_out % groups or wt.shape[-1] * groups != c_in:
        raise ShapeError(
            f"{op}: {c_in} input channels, weight {wt.shape} and groups={groups} do not fit: "
            f"need C_in == weight.shape[-1] * groups and C_out divisible by groups"
        )
    s = _tuple(op, "stride", stride, nd)
    dil = _tuple(op, "dilation", dilation, nd)
    kernel = tuple(wt.shape[1:-1])
    pads = _padding(op, padding, nd, tuple(xt.shape[1:-1]), kernel, s, dil)
    for size, k, dd, (lo, hi) in zip(xt.shape[1:-1], kernel, dil, pads, strict=True):
        if size + lo + hi < dd * (k - 1) + 1:
            raise ShapeError(
                f"{op}: input {xt.shape} (padded {pads}) is smaller than the dilated kernel "
                f"{kernel} (dilation {dil}): use a smaller kernel, pad the input "
                f"(padding='same') or give a larger input")
    try:
        out = T(b.kernels.nn_conv(xn, wn, s, pads, dil, groups), b)
    except Exception as exc:
        raise fail(op, (xt, wt), exc) from exc
    if bias is not None:
        bt = bias if isinstance(bias, Tensor) else asarray(bias, backend=b, device=xt.device)
        if bt.shape != (c_out,):
            raise ShapeError(f"{op}: bias must have shape ({c_out},), got {bt.shape}")
        out = out + T(cast_native(bt._b, bt._n, d), bt._b)  # bt's own backend: it may be tracked
    return out


def conv1d(x: Any, weight: Any, bias: Any = None, *, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-d convolution of x (N, L, C_in) with weight (C_out, K, C_in/groups)."""
    return _conv("conv1d", 1, x, weight, bias, stride, padding, dilation, groups)


def conv2d(x: Any, weight: Any, bias: Any = None, *, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-d convolution of x (N, H, W, C_in) with weight (C_out, KH, KW, C_in/groups)."""
    return _conv("conv2d", 2, x, weight, bias, stride, padding, dilation, groups)


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
        x = T(cast_native(x._b, x._n, dt.DEFAULT_FLOAT), x._b)
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
