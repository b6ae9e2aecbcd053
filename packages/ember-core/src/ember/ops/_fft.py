"""The ``ember.fft`` extension (Array API 2023.12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _dtypes as dt
from .._dispatch import cast_native, fail, norm_axis
from .._errors import DTypeError, EmberError, ShapeError
from .._tensor import Tensor
from ._creation import arange, asarray

FFT = ["fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
       "fftfreq", "rfftfreq", "fftshift", "ifftshift"]
__all__ = FFT

T = Tensor
_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _complex(x: Tensor) -> Tensor:
    d = x.dtype
    if d.is_complex:
        return x
    target = dt.complex128 if d is dt.float64 else dt.complex64
    return T(cast_native(x._b, x._n, target), x._b)


def _real(op: str, x: Tensor) -> Tensor:
    d = x.dtype
    if d.is_complex:
        raise DTypeError(f"fft.{op} takes real input, got {d}; use fft.fft for complex input")
    if d.is_floating:
        return x
    return T(cast_native(x._b, x._n, dt.default_float()), x._b)


def _check(op: str, norm: str) -> None:
    if norm not in _NORMS:
        raise EmberError(f"fft.{op}: norm must be one of {_NORMS}, got {norm!r}")


def _one(op: str, real_in: bool, x: Any, n: int | None, axis: int, norm: str) -> Tensor:
    _check(op, norm)
    x = asarray(x)
    x = _real(op, x) if real_in else _complex(x)
    if x.ndim == 0:
        raise ShapeError(f"fft.{op} needs at least one axis")
    axis = norm_axis(f"fft.{op}", axis, x.ndim)
    if n is not None and n < 1:
        raise ShapeError(f"fft.{op}: n must be >= 1, got {n}")
    try:
        return T(getattr(x._b.kernels, "fft_" + op)(x._n, n, axis, norm), x._b)
    except Exception as exc:
        raise fail(f"fft.{op}", (x,), exc) from exc


def _many(op: str, real_in: bool, x: Any, s: Any, axes: Any, norm: str) -> Tensor:
    _check(op, norm)
    x = asarray(x)
    x = _real(op, x) if real_in else _complex(x)
    if s is not None:
        s = tuple(int(v) for v in s)
        if axes is None:  # the Array API default: the last len(s) axes
            if len(s) > x.ndim:
                raise ShapeError(f"fft.{op}: s {s} has more entries than x has axes ({x.shape})")
            axes = tuple(range(x.ndim - len(s), x.ndim))
    if axes is not None:
        axes = tuple(norm_axis(f"fft.{op}", a, x.ndim) for a in axes)
    if s is not None and axes is not None and len(s) != len(axes):
        raise ShapeError(f"fft.{op}: s {s} and axes {axes} differ in length")
    try:
        return T(getattr(x._b.kernels, "fft_" + op)(x._n, s, axes, norm), x._b)
    except Exception as exc:
        raise fail(f"fft.{op}", (x,), exc) from exc


def _def1(op: str, real_in: bool, doc: str) -> Callable[..., Tensor]:
    def f(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
        return _one(op, real_in, x, n, axis, norm)

    f.__name__ = f.__qualname__ = op
    f.__doc__ = doc
    return f


def _defn(op: str, real_in: bool, doc: str) -> Callable[..., Tensor]:
    def f(x: Any, /, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Tensor:
        return _many(op, real_in, x, s, axes, norm)

    f.__name__ = f.__qualname__ = op
    f.__doc__ = doc
    return f


fft = _def1("fft", False, "1-d discrete Fourier transform.")
ifft = _def1("ifft", False, "Inverse 1-d discrete Fourier transform.")
rfft = _def1("rfft", True, "1-d DFT of real input (non-negative frequencies).")
irfft = _def1("irfft", False, "Inverse of rfft (real output of length n, default 2*(m-1)).")
fftn = _defn("fftn", False, "n-d discrete Fourier transform.")
ifftn = _defn("ifftn", False, "Inverse n-d discrete Fourier transform.")
rfftn = _defn("rfftn", True, "n-d DFT of real input.")
irfftn = _defn("irfftn", False, "Inverse of rfftn.")


def hfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
    """DFT of a signal with Hermitian symmetry (real output)."""
    from ._elementwise import conj

    _check("hfft", norm)
    return _one("irfft", False, conj(_complex(asarray(x))), n, axis, _SWAP[norm])


def ihfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward") -> Tensor:
    """Inverse of hfft (real input, Hermitian output)."""
    from ._elementwise import conj

    _check("ihfft", norm)
    return conj(_one("rfft", True, x, n, axis, _SWAP[norm]))


def fftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: str | None = None,
            backend: Any = None) -> Tensor:
    """Sample frequencies of an n-point fft with sample spacing d."""
    from ._manipulation import concat

    dtype = dt.default_float() if dtype is None else dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise DTypeError(f"fft.fftfreq: dtype must be real floating, got {dtype}")
    pos = arange(0, (n - 1) // 2 + 1, dtype=dtype, device=device, backend=backend)
    neg = arange(-(n // 2), 0, dtype=dtype, device=device, backend=backend)
    return concat([pos, neg]) / (d * n)


def rfftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: str | None = None,
             backend: Any = None) -> Tensor:
    """Sample frequencies of an n-point rfft with sample spacing d."""
    dtype = dt.default_float() if dtype is None else dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise DTypeError(f"fft.rfftfreq: dtype must be real floating, got {dtype}")
    return arange(0, n // 2 + 1, dtype=dtype, device=device, backend=backend) / (d * n)


def _shift(x: Any, axes: Any, sign: int) -> Tensor:
    from ._manipulation import roll

    x = asarray(x)
    axes = tuple(range(x.ndim)) if axes is None else ((axes,) if isinstance(axes, int) else tuple(axes))
    shifts = tuple(sign * (x.shape[a] // 2) for a in axes)
    return roll(x, shifts, axis=axes) if axes else x


def fftshift(x: Any, /, *, axes: Any = None) -> Tensor:
    """Move the zero-frequency term to the centre."""
    return _shift(x, axes, 1)


def ifftshift(x: Any, /, *, axes: Any = None) -> Tensor:
    """Inverse of fftshift."""
    return _shift(x, axes, -1)


