"""Convolution, channels-last: x is (N, *spatial, C).

Padding may be an int, a (low, high) pair per spatial axis, 'valid', 'same' (output length
ceil(L / stride), the extra padding at the high end, as TensorFlow and PyTorch do) or, for
conv1d, 'causal' (all padding at the low end, so output t sees inputs <= t)."""

from __future__ import annotations

from typing import Any

from .._dispatch import cast_native, fail, promote_binary
from .._errors import EmberError, ShapeError
from .._tensor import Tensor
from ._creation import asarray

__all__ = ["conv", "conv1d", "conv2d"]

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
        names = ("L", "K") if nd == 1 else ("H, W", "KH, KW") if nd == 2 else (
            "*spatial", "*kernel")
        raise ShapeError(
            f"{op}: x must be (N, {names[0]}, C_in) and weight "
            f"(C_out, {names[1]}, C_in/groups); got {xt.shape} and {wt.shape}"
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


def conv(x: Any, weight: Any, bias: Any = None, *, stride: Any = 1, padding: Any = 0,
         dilation: Any = 1, groups: int = 1) -> Tensor:
    """N-d convolution of x (N, *spatial, C_in) with weight (C_out, *kernel, C_in/groups); the
    number of spatial axes is x's rank minus 2 (conv1d and conv2d are this with 1 and 2)."""
    nd = (x if isinstance(x, Tensor) else asarray(x)).ndim - 2
    if nd < 1:
        raise ShapeError(f"conv: x must be (N, *spatial, C_in) with at least one spatial axis, "
                         f"got rank {nd + 2}")
    return _conv("conv", nd, x, weight, bias, stride, padding, dilation, groups)
