"""Hyena's long convolution: a causal convolution as long as the sequence, computed with FFTs
or, where it is cheaper, as one matrix product per filter (``fft_conv``), and the same sum at
one position (``causal_conv_last``, what decoding runs)."""

from __future__ import annotations

import math
from typing import Any

import ember

__all__ = ["causal_conv_last", "fft_conv"]

METHODS = ("auto", "fft", "direct")
# "auto" takes the direct product up to DIRECT_MAX_LENGTH where each filter has at least
# DIRECT_MIN_SIGNALS * L signals (benchmarks/fft_conv.py, convolution and gradient, float32).
# CPU, torch: 0.22-0.66x of the FFTs' time from 128 to 1,024 taps with 4,096 signals a filter.
# GPU, torch on an H100: 0.57-0.77x from 128 to 512 taps with 32,768 signals, but 1.26x at
# 1,024 taps and 1.6-9.9x with 128 signals (the FFTs are memory-bound there, the product not
# worth its L² work until the filter is shared far more widely).
DIRECT_MAX_LENGTH = {"cpu": 1024, "gpu": 512}
DIRECT_MIN_SIGNALS = {"cpu": 1, "gpu": 8}


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


def fft_conv(u: Any, k: Any, bias: Any = None, *, axis: int = -2,
             method: str = "auto") -> ember.Tensor:
    """The causal convolution of ``u`` with the filter ``k`` along ``axis``, by FFT::

        y[t] = sum_{s <= t} k[t - s] * u[s]  +  bias * u[t]        t = 0 .. L-1

    ``method="fft"``: both signals are zero-padded to ``n = 2 L`` (``L`` = ``u``'s length),
    transformed with ``ember.fft.rfft``, multiplied and brought back with ``ember.fft.irfft``;
    the first ``L`` values are the causal (linear, not circular) convolution. O(L log L) per
    signal instead of the direct sum's O(L²); differentiable on every backend (the FFTs have
    VJP rules).

    ``method="direct"``: each distinct filter becomes its ``L x L`` lower-triangular Toeplitz
    matrix, and every signal sharing that filter is multiplied by it in one matrix product
    (O(L²) per signal, but a dense product rather than memory-bound transforms). The sum is the
    same; only the rounding differs (and a matrix product follows the backend's matmul
    precision, e.g. TF32 where torch allows it).

    ``method="auto"`` (default) takes the direct product where it measured faster: on a CPU
    when ``L <= 1024`` and each filter is shared by at least ``L`` signals, on a GPU when ``L <=
    512`` and at least ``8 L`` signals share each filter (MultiHeadHyena's 8 filters over batch
    x 16 x 16 signals, at MAD's lengths); else the FFTs (Hyena's one filter per channel on a
    small batch, long sequences). On MLX's CPU always the FFTs (its matrix product is slow
    there).

    Arguments:
        u: real floating, the length on ``axis`` (default ``-2``: ``(..., L, channels)``).
        k: real floating, its taps on the same ``axis`` (counted from the end) and broadcasting
            against ``u`` on the other axes (``(L, channels)`` for ``u`` ``(batch, L,
            channels)``). Only its first ``L`` taps reach the outputs: longer filters are cut,
            shorter ones zero-extended.
        bias: None or a tensor broadcasting against ``u``: a per-channel skip term ``bias * u``
            (MAD-Lab's ``D``; Hyena's long-convolution "bias").
        axis: the length axis, a negative int.
        method: ``"auto"``, ``"fft"`` or ``"direct"`` (above).

    Returns ``y`` with ``u``'s shape (broadcast with ``k``'s) and the real dtype of ``u * k``.
    On MLX the FFT is complex64 only, so float64 inputs raise ``ember.UnsupportedError`` where
    the FFTs run.

    >>> u = ember.asarray([[1.0], [2.0], [3.0]])
    >>> k = ember.asarray([[1.0], [0.5], [0.25]])
    >>> [round(v, 4) for v in fft_conv(u, k, ember.asarray([1.0]))[:, 0].tolist()]
    [2.0, 4.5, 7.25]
    """
    name = "fft_conv"
    if method not in METHODS:
        raise ember.ArgumentError(f"{name}: method must be one of {METHODS}, got {method!r}")
    u, k = _tensor(name, "u", u), _tensor(name, "k", k)
    axis = _axis(name, axis, u, k)
    length = u.shape[axis]
    if length == 0 or k.shape[axis] == 0:
        raise ember.ShapeError(f"{name}: u {u.shape} and k {k.shape} need at least one position "
                               f"on axis {axis}")
    if k.shape[axis] > length:
        k = _take(k, axis, 0, length)
    # both ways run over the last, contiguous axis (torch's CPU FFT takes twice as long over a
    # strided one)
    ul, kl = (x if axis == -1 else ember.moveaxis(x, axis, -1) for x in (u, k))
    filters, signals = _layout(ul.shape[:-1], kl.shape[:-1])
    if method == "direct" or (method == "auto" and _direct_pays(ul.backend, ul.device, length,
                                                                signals)):
        y = _direct(ul, kl, length, filters)
    else:
        n = 2 * length
        spectrum = ember.fft.rfft(ul, n=n) * ember.fft.rfft(kl, n=n)
        y = ember.fft.irfft(spectrum, n=n)[..., :length]
    if axis != -1:
        y = ember.moveaxis(y, -1, axis)
    if bias is not None:
        y = y + u * _tensor(name, "bias", bias)
    return y


def _direct_pays(backend: str, device: str, length: int, signals: int) -> bool:
    """``method="auto"``'s choice for a tensor on ``backend``'s ``device`` (the table above
    ``DIRECT_MAX_LENGTH``); never on MLX's CPU, whose matrix product (mlx[cpu] 0.32 on Linux,
    ~6 GFLOP/s) loses to its FFTs there."""
    kind = "cpu" if device == "cpu" else "gpu"
    if backend == "mlx" and kind == "cpu":
        return False
    return length <= DIRECT_MAX_LENGTH[kind] and signals >= DIRECT_MIN_SIGNALS[kind] * length


def _layout(u_lead: tuple[int, ...], k_lead: tuple[int, ...]) -> tuple[list[int], int]:
    """The axes (of the broadcast leading shape) along which the filter varies, and how many
    signals share each filter (the product of the other axes)."""
    nd = max(len(u_lead), len(k_lead))
    us, ks = (1,) * (nd - len(u_lead)) + u_lead, (1,) * (nd - len(k_lead)) + k_lead
    if any(a != b and 1 not in (a, b) for a, b in zip(us, ks, strict=True)):
        raise ember.ShapeError(f"fft_conv: u and k do not broadcast on the axes other than the "
                               f"length axis (those axes: u {u_lead}, k {k_lead}); make them "
                               f"equal or 1")
    filters = [i for i in range(nd) if ks[i] != 1]
    return filters, math.prod(us[i] for i in range(nd) if ks[i] == 1)


def _direct(u: ember.Tensor, k: ember.Tensor, length: int, filters: list[int]
            ) -> ember.Tensor:
    """The causal convolution on the last axis as ``signals @ T`` per filter, ``T[s, t] =
    k[t - s]`` (0 for ``s > t``); ``k`` at most ``length`` taps; ``filters`` the axes along
    which ``k`` varies (``_layout``'s, counted in the shapes padded to one rank)."""
    taps = k.shape[-1]
    if taps < length:
        k = ember.concat([k, ember.zeros(k.shape[:-1] + (length - taps,), dtype=k.dtype,
                                         device=k.device, backend=k.backend)], axis=-1)
    nd = max(u.ndim, k.ndim) - 1
    u = ember.reshape(u, (1,) * (nd + 1 - u.ndim) + u.shape)
    k = ember.reshape(k, (1,) * (nd + 1 - k.ndim) + k.shape)
    lead = tuple(max(a, b) for a, b in zip(u.shape[:-1], k.shape[:-1], strict=True))
    if u.shape[:-1] != lead:                      # the filter fans a signal out: materialise it
        u = ember.broadcast_to(u, lead + (length,))
    shared = [i for i in range(nd) if i not in filters]
    order = filters + shared
    u2 = ember.reshape(ember.permute_dims(u, (*order, nd)),
                       (-1, math.prod(lead[i] for i in shared), length))
    k2 = ember.reshape(ember.permute_dims(k, (*order, nd)), (-1, length))
    # T[f, s, t] = [0 ... 0, k_f][length + t - s]: zeros where s > t
    padded = ember.concat([ember.zeros_like(k2), k2], axis=-1)
    steps = ember.arange(length, dtype=ember.int64, device=k2.device, backend=k2.backend)
    index = steps[None, :] - steps[:, None] + length
    y = ember.matmul(u2, ember.take(padded, index, axis=-1))
    y = ember.reshape(y, tuple(lead[i] for i in order) + (length,))
    return ember.permute_dims(y, tuple(order.index(i) for i in range(nd)) + (nd,))


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
