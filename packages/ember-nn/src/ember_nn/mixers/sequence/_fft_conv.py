"""Hyena's long convolution: a causal convolution as long as the sequence, computed with FFTs
(``fft_conv``), and the same sum at one position (``causal_conv_last``, what decoding runs)."""

from __future__ import annotations

from typing import Any

import ember

__all__ = ["causal_conv_last", "fft_conv"]


def _tensor(name: str, what: str, x: Any) -> ember.Tensor:
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if not x.dtype.is_floating:
        raise ember.DTypeError(f"{name}: {what} must be real floating point, got {x.dtype}; cast "
                               f"with .astype(ember.float32)")
    return x


def _axis(name: str, axis: Any, u: ember.Tensor, k: ember.Tensor) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int) or axis >= 0:
        raise ember.ArgumentError(f"{name}: axis must be a negative int (the length axis counted "
                                  f"from the end, so u and k line up), got {axis!r}")
    if -axis > u.ndim or -axis > k.ndim:
        raise ember.ShapeError(f"{name}: axis {axis} is outside u {u.shape} or k {k.shape}; the "
                               f"filter needs its taps on the same axis counted from the end")
    return axis


def _take(x: ember.Tensor, axis: int, start: int, stop: int) -> ember.Tensor:
    """``x[start:stop]`` along the negative ``axis``."""
    return x[(Ellipsis, slice(start, stop)) + (slice(None),) * (-axis - 1)]


def fft_conv(u: Any, k: Any, bias: Any = None, *, axis: int = -2) -> ember.Tensor:
    """The causal convolution of ``u`` with the filter ``k`` along ``axis``, by FFT::

        y[t] = sum_{s <= t} k[t - s] * u[s]  +  bias * u[t]        t = 0 .. L-1

    Both signals are zero-padded to ``n = 2 L`` (``L`` = ``u``'s length), transformed with
    ``ember.fft.rfft``, multiplied and brought back with ``ember.fft.irfft``; the first ``L``
    values are the causal (linear, not circular) convolution. O(L log L) per channel instead of
    the direct sum's O(L²); differentiable on every backend (the FFTs have VJP rules).

    Arguments:
        u: real floating, the length on ``axis`` (default ``-2``: ``(..., L, channels)``).
        k: real floating, its taps on the same ``axis`` (counted from the end) and broadcasting
            against ``u`` on the other axes (``(L, channels)`` for ``u`` ``(batch, L,
            channels)``). Only its first ``L`` taps reach the outputs: longer filters are cut,
            shorter ones zero-extended.
        bias: None or a tensor broadcasting against ``u``: a per-channel skip term ``bias * u``
            (MAD-Lab's ``D``; Hyena's long-convolution "bias").
        axis: the length axis, a negative int.

    Returns ``y`` with ``u``'s shape (broadcast with ``k``'s) and the real dtype of ``u * k``.
    On MLX the FFT is complex64 only, so float64 inputs raise ``ember.UnsupportedError``.

    >>> u = ember.asarray([[1.0], [2.0], [3.0]])
    >>> k = ember.asarray([[1.0], [0.5], [0.25]])
    >>> [round(v, 4) for v in fft_conv(u, k, ember.asarray([1.0]))[:, 0].tolist()]
    [2.0, 4.5, 7.25]
    """
    name = "fft_conv"
    u, k = _tensor(name, "u", u), _tensor(name, "k", k)
    axis = _axis(name, axis, u, k)
    length = u.shape[axis]
    if length == 0 or k.shape[axis] == 0:
        raise ember.ShapeError(f"{name}: u {u.shape} and k {k.shape} need at least one position "
                               f"on axis {axis}")
    if k.shape[axis] > length:
        k = _take(k, axis, 0, length)
    n = 2 * length
    # the transforms run over the last, contiguous axis (torch's CPU FFT takes twice as long
    # over a strided one)
    ul, kl = (x if axis == -1 else ember.moveaxis(x, axis, -1) for x in (u, k))
    spectrum = ember.fft.rfft(ul, n=n) * ember.fft.rfft(kl, n=n)
    y = ember.fft.irfft(spectrum, n=n)[..., :length]
    if axis != -1:
        y = ember.moveaxis(y, -1, axis)
    if bias is not None:
        y = y + u * _tensor(name, "bias", bias)
    return y


def causal_conv_last(u: Any, k: Any, bias: Any = None, *, axis: int = -2) -> ember.Tensor:
    """``fft_conv(u, k, bias, axis=axis)`` at the last position only, by the direct sum::

        y = sum_{j < m} k[j] * u[L-1-j]  +  bias * u[L-1]          m = min(L, len(k))

    ``u`` holds the inputs seen so far (oldest first); the result has ``u``'s shape without
    ``axis``. O(L) per channel: what a Hyena ``step`` pays at position ``L - 1``.

    >>> u = ember.asarray([[1.0], [2.0], [3.0]])
    >>> k = ember.asarray([[1.0], [0.5], [0.25]])
    >>> causal_conv_last(u, k, ember.asarray([1.0])).tolist()
    [7.25]
    """
    name = "causal_conv_last"
    u, k = _tensor(name, "u", u), _tensor(name, "k", k)
    axis = _axis(name, axis, u, k)
    length, taps = u.shape[axis], k.shape[axis]
    if length == 0 or taps == 0:
        raise ember.ShapeError(f"{name}: u {u.shape} and k {k.shape} need at least one position "
                               f"on axis {axis}")
    m = min(length, taps)
    window = _take(u, axis, length - m, length)
    y = ember.sum(window * ember.flip(_take(k, axis, 0, m), axis=axis), axis=axis)
    if bias is not None:
        last = _take(u, axis, length - 1, length)
        y = y + ember.squeeze(last, axis=axis) * _tensor(name, "bias", bias)
    return y
