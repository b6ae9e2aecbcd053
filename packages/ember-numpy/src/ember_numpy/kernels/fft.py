"""FFT kernels (NumPy's pocketfft). NumPy >= 2 computes float32/complex64 input in single
precision and returns complex64 (float32 for the inverse real transforms); float16 input is
computed as float32."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "fft_fft", "fft_fftn", "fft_ifft", "fft_ifftn", "fft_irfft", "fft_irfftn", "fft_rfft",
    "fft_rfftn",
]  # fmt: skip

_SINGLE = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.complex64))


def _single(x: Any, out: np.ndarray, real: bool) -> np.ndarray:
    """Keep single precision for single-precision input (older NumPy promoted to double)."""
    if np.asarray(x).dtype in _SINGLE:
        want = np.float32 if real else np.complex64
        if out.dtype != want:
            return out.astype(want)
    return out


def _shape_args(s: tuple[int, ...] | None, axes: tuple[int, ...] | None) -> dict[str, Any]:
    return {"s": s, "axes": axes}


def fft_fft(x: Any, n: int | None, axis: int, norm: Any) -> np.ndarray:
    return _single(x, np.fft.fft(x, n=n, axis=axis, norm=norm), False)


def fft_ifft(x: Any, n: int | None, axis: int, norm: Any) -> np.ndarray:
    return _single(x, np.fft.ifft(x, n=n, axis=axis, norm=norm), False)


def fft_rfft(x: Any, n: int | None, axis: int, norm: Any) -> np.ndarray:
    return _single(x, np.fft.rfft(x, n=n, axis=axis, norm=norm), False)


def fft_irfft(x: Any, n: int | None, axis: int, norm: Any) -> np.ndarray:
    """Real inverse; ``n=None`` gives ``2 * (m - 1)`` output points."""
    return _single(x, np.fft.irfft(x, n=n, axis=axis, norm=norm), True)


def fft_fftn(x: Any, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, norm: Any) -> Any:
    return _single(x, np.fft.fftn(x, **_shape_args(s, axes), norm=norm), False)


def fft_ifftn(x: Any, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, norm: Any) -> Any:
    return _single(x, np.fft.ifftn(x, **_shape_args(s, axes), norm=norm), False)


def fft_rfftn(x: Any, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, norm: Any) -> Any:
    return _single(x, np.fft.rfftn(x, **_shape_args(s, axes), norm=norm), False)


def fft_irfftn(x: Any, s: tuple[int, ...] | None, axes: tuple[int, ...] | None, norm: Any) -> Any:
    """Real inverse over ``axes``; the last axis has ``2 * (m - 1)`` points unless ``s`` says."""
    return _single(x, np.fft.irfftn(x, **_shape_args(s, axes), norm=norm), True)
