"""Gradient cases of ``ember.fft``: every transform with n / s padding and truncation, all three
norms and NumPy's defaults of s and axes; real inputs through spectral losses (magnitudes,
filters) as well as complex inputs.

The transforms have complex results (or complex intermediates), so every case but the real
shifts is ``complex=True``: MLX, whose transforms are complex64 only, is checked in float32 by
the engine comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._grad_cases import GradCall, grad_case

E = ember
F64 = E.float64
C128 = E.complex128
_NORMS = st.sampled_from(["backward", "ortho", "forward"])


def _signal(data: Any, cplx: bool, min_side: int = 1, max_side: int = 5,
            max_dims: int = 3) -> np.ndarray:
    shape = S.shape(data, 1, max_dims, min_side, max_side)
    return S.arr(data, C128 if cplx else F64, shape, -2, 2)


def _n(data: Any) -> int | None:
    return data.draw(st.one_of(st.none(), st.integers(1, 8)), label="n")


def _axes_s(data: Any, x: np.ndarray, min_size: int = 1) -> tuple[Any, Any]:
    """axes None or distinct axes (mixed signs); s None or one size per axis (padding and
    truncating). s always comes with axes: s without axes is deprecated in NumPy."""
    nd = x.ndim
    axes = data.draw(st.one_of(st.none(), st.lists(st.integers(-nd, nd - 1), min_size=1,
                                                   max_size=nd, unique_by=lambda a: a % nd)),
                     label="axes")
    s = None
    if axes is not None and data.draw(st.booleans(), label="with s"):
        s = tuple(data.draw(st.integers(min_size, 6), label="size") for _ in axes)
    return s, None if axes is None else tuple(axes)


def _const(t: Any, a: np.ndarray) -> Any:
    """A constant of t's precision (complex64 / float32 beside float32 input)."""
    single = t.dtype in (E.float32, E.complex64)
    d = (E.complex64 if single else C128) if np.iscomplexobj(a) else (E.float32 if single else F64)
    return E.asarray(a, backend=t.backend, dtype=d)


def _random(data: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Generic real values (from a seeded generator): no symmetric or constant signals."""
    return S.rng(data).normal(size=shape)


def _away_from_zero(spectrum: np.ndarray) -> None:
    """abs has a kink at 0: keep every bin of a magnitude loss away from it."""
    assume(spectrum.size == 0 or float(np.min(np.abs(spectrum))) > 1e-2)


# -- one axis ----------------------------------------------------------------------------------
def _one_axis(op: str, cplx: bool, min_side: int = 1) -> None:
    """fft.<op>(x, n, axis, norm) on a drawn signal (complex or real input)."""
    f = getattr(E.fft, op)

    @grad_case(f"fft.{op}", "n-axis-norm", complex=True)
    def build(data: Any) -> GradCall:
        x = _signal(data, cplx, min_side=min_side)
        axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
        n, norm = _n(data), data.draw(_NORMS, label="norm")
        return GradCall(lambda t: f(t, n=n, axis=axis, norm=norm), (x,),
                        note=f"n={n} axis={axis} norm={norm}")


# irfft and hfft with n=None make 2 * (m - 1) >= 2 points
for _op, _cplx, _min in (("fft", True, 1), ("ifft", True, 1), ("rfft", False, 1),
                         ("irfft", True, 2), ("hfft", True, 2), ("ihfft", False, 1)):
    _one_axis(_op, _cplx, _min)

for _op in ("fft", "ifft"):
    @grad_case(f"fft.{_op}", "real input", complex=True)
    def _c2c_real(data: Any, _op: str = _op) -> GradCall:  # cast to complex inside the op
        x = _signal(data, False)
        n, norm = _n(data), data.draw(_NORMS, label="norm")
        f = getattr(E.fft, _op)
        return GradCall(lambda t: f(t, n=n, norm=norm), (x,), note=f"n={n} norm={norm}")


@grad_case("fft.rfft", "magnitude spectrum", complex=True)
def _rfft_abs(data: Any) -> GradCall:  # a spectral loss: real in, real out
    x = _random(data, S.shape(data, 1, 2, 1, 6))
    n, norm = _n(data), data.draw(_NORMS, label="norm")
    _away_from_zero(np.fft.rfft(x, n=n, norm=norm))
    return GradCall(lambda t: E.abs(E.fft.rfft(t, n=n, norm=norm)), (x,),
                    note=f"n={n} norm={norm}")


@grad_case("fft.irfft", "spectral filter", complex=True)
def _irfft_filter(data: Any) -> GradCall:  # real -> rfft -> complex gain -> irfft -> real
    x = _signal(data, False, min_side=2)
    m = x.shape[-1]
    gain = S.arr(data, C128, (m // 2 + 1,), -2, 2)
    norm = data.draw(_NORMS, label="norm")
    return GradCall(lambda t: E.fft.irfft(E.fft.rfft(t, norm=norm) * _const(t, gain), n=m, norm=norm),
                    (x,), note=f"norm={norm}")



# -- several axes ------------------------------------------------------------------------------
for _op in ("fftn", "ifftn"):
    @grad_case(f"fft.{_op}", "s-axes-norm", complex=True)
    def _c2c_n(data: Any, _op: str = _op) -> GradCall:
        x = _signal(data, True, max_side=4)
        (s, axes), norm = _axes_s(data, x), data.draw(_NORMS, label="norm")
        f = getattr(E.fft, _op)
        return GradCall(lambda t: f(t, s=s, axes=axes, norm=norm), (x,),
                        note=f"s={s} axes={axes} norm={norm}")


@grad_case("fft.fftn", "real input", complex=True)
def _fftn_real(data: Any) -> GradCall:
    x = _signal(data, False, max_side=4)
    return GradCall(lambda t: E.fft.fftn(t), (x,))


@grad_case("fft.rfftn", "s-axes-norm", complex=True)
def _rfftn(data: Any) -> GradCall:
    x = _signal(data, False, max_side=4)
    (s, axes), norm = _axes_s(data, x), data.draw(_NORMS, label="norm")
    return GradCall(lambda t: E.fft.rfftn(t, s=s, axes=axes, norm=norm), (x,),
                    note=f"s={s} axes={axes} norm={norm}")


@grad_case("fft.rfftn", "magnitude spectrum", complex=True)
def _rfftn_abs(data: Any) -> GradCall:
    x = _random(data, S.shape(data, 2, 3, 1, 4))
    norm = data.draw(_NORMS, label="norm")
    _away_from_zero(np.fft.rfftn(x, axes=(-2, -1), norm=norm))
    return GradCall(lambda t: E.abs(E.fft.rfftn(t, axes=(-2, -1), norm=norm)), (x,),
                    note=f"norm={norm}")


@grad_case("fft.irfftn", "s-axes-norm", complex=True)
def _irfftn(data: Any) -> GradCall:
    x = _signal(data, True, min_side=2, max_side=4)
    (s, axes), norm = _axes_s(data, x), data.draw(_NORMS, label="norm")
    return GradCall(lambda t: E.fft.irfftn(t, s=s, axes=axes, norm=norm), (x,),
                    note=f"s={s} axes={axes} norm={norm}")


# -- shifts ------------------------------------------------------------------------------------
def _shift_axes(data: Any, nd: int) -> Any:
    return data.draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                               st.lists(st.integers(0, nd - 1), unique=True, min_size=1)
                               .map(tuple)), label="axes")


for _op in ("fftshift", "ifftshift"):
    @grad_case(f"fft.{_op}", "axes")
    def _shift(data: Any, _op: str = _op) -> GradCall:
        x = _signal(data, False, max_side=6)
        axes, f = _shift_axes(data, x.ndim), getattr(E.fft, _op)
        return GradCall(lambda t: f(t, axes=axes), (x,), note=f"axes={axes}")

    @grad_case(f"fft.{_op}", "complex spectrum", complex=True)
    def _shift_c(data: Any, _op: str = _op) -> GradCall:
        x = _signal(data, True, max_side=6)
        axes, f = _shift_axes(data, x.ndim), getattr(E.fft, _op)
        return GradCall(lambda t: f(E.fft.fftn(t), axes=axes), (x,), note=f"axes={axes}")


# -- second order: the gradient of a spectral loss, differentiated again -----------------------
def _grad_of(f: Any) -> Any:
    """t -> d/dt sum(f(t)) from a nested tape; its gradient is a second derivative of f."""

    def fn(t: Any) -> Any:
        with E.GradientTape() as tape:
            tape.watch(t)
            loss = E.sum(f(t))
        return tape.gradient(loss, t)

    return fn


@grad_case("fft.rfft", "second order", complex=True)
def _rfft_second(data: Any) -> GradCall:
    x = _signal(data, False, max_dims=2)
    w = _random(data, (x.shape[-1] // 2 + 1,))
    norm = data.draw(_NORMS, label="norm")

    def power(t: Any) -> Any:  # |X|^2 as X conj(X): smooth at X = 0, where abs has a kink
        spec = E.fft.rfft(t, norm=norm)
        return E.real(spec * E.conj(spec)) * _const(t, w)

    return GradCall(_grad_of(power), (x,), note=f"norm={norm}")


@grad_case("fft.irfftn", "second order", complex=True)
def _irfftn_second(data: Any) -> GradCall:
    x = _signal(data, True, min_side=2, max_side=3, max_dims=2)
    norm = data.draw(_NORMS, label="norm")
    return GradCall(_grad_of(lambda t: E.square(E.fft.irfftn(t, norm=norm))), (x,),
                    note=f"norm={norm}")


@grad_case("fft.fft", "second order", complex=True)
def _fft_second(data: Any) -> GradCall:
    x = _signal(data, True, max_dims=2)
    n, norm = _n(data), data.draw(_NORMS, label="norm")

    def cube(t: Any) -> Any:
        spec = E.fft.fft(t, n=n, norm=norm)
        return E.real(spec * spec * spec)

    return GradCall(_grad_of(cube), (x,), note=f"n={n} norm={norm}")
