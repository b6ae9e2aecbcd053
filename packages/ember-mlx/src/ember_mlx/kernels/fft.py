"""FFT kernels. MLX transforms are complex64 only: float64 input raises rather than losing
precision silently (MLX has no complex128)."""

from __future__ import annotations

import mlx.core as mx
from ember import UnsupportedError

__all__ = [
    "fft_fft",
    "fft_fftn",
    "fft_ifft",
    "fft_ifftn",
    "fft_irfft",
    "fft_irfftn",
    "fft_rfft",
    "fft_rfftn",
]


def _complex(x):
    if x.dtype == mx.complex64:
        return x
    return _real(x).astype(mx.complex64)


def _real(x):
    if x.dtype == mx.float64:
        raise UnsupportedError(
            "MLX's FFT is complex64 only and MLX has no complex128, so a float64 transform "
            "would lose precision; cast to float32 first (x.astype(ember.float32))"
        )
    if x.dtype == mx.complex64:
        raise TypeError("a real FFT needs real input")
    return x if x.dtype == mx.float32 else x.astype(mx.float32)


def _axes(axes):
    return None if axes is None else list(axes)


def _s(s):
    return None if s is None else list(s)


def fft_fft(x, n, axis, norm):
    return mx.fft.fft(_complex(x), n=n, axis=axis, norm=norm)


def fft_ifft(x, n, axis, norm):
    return mx.fft.ifft(_complex(x), n=n, axis=axis, norm=norm)


def fft_fftn(x, s, axes, norm):
    return mx.fft.fftn(_complex(x), s=_s(s), axes=_axes(axes), norm=norm)


def fft_ifftn(x, s, axes, norm):
    return mx.fft.ifftn(_complex(x), s=_s(s), axes=_axes(axes), norm=norm)


def fft_rfft(x, n, axis, norm):
    return mx.fft.rfft(_real(x), n=n, axis=axis, norm=norm)


def fft_irfft(x, n, axis, norm):
    return mx.fft.irfft(_complex(x), n=n, axis=axis, norm=norm)


def fft_rfftn(x, s, axes, norm):
    return mx.fft.rfftn(_real(x), s=_s(s), axes=_axes(axes), norm=norm)


def fft_irfftn(x, s, axes, norm):
    return mx.fft.irfftn(_complex(x), s=_s(s), axes=_axes(axes), norm=norm)
