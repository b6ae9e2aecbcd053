"""Floating-point draws: uniform, normal and truncated normal, from the exact constructions of
``_bits``. Uniform draws are bit-identical on every backend; normal ones (Box-Muller, through
log, cos and sin) and truncated normal ones (inverse CDF, through erfinv) identical to a few
units in the last place, as far as those functions agree between backends."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ... import _dtypes as dt
from ..._backend import Backend
from ..._errors import DTypeError, EmberError
from ..._tensor import Tensor
from ._bits import open_unit, planes, shape_of, target, unit
from ._keys import Key

__all__ = ["normal", "truncated_normal", "uniform"]

_SQRT2 = math.sqrt(2.0)
_SQRT_HALF = math.sqrt(0.5)
_TWO_PI = 2.0 * math.pi


def _inexact(dtype: Any, op: str) -> dt.DType:
    d = dt.default_float() if dtype is None else dt.as_dtype(dtype)
    if not d.is_inexact:
        raise DTypeError(f"random.{op}: expected a floating or complex dtype, got {d}")
    return d


def _real_of(d: dt.DType) -> dt.DType:
    return {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(d, d)


def _draw(k: Key | int, shape: Any, d: dt.DType, device: str | None, backend: Any,
          part: Callable[[list[Tensor], dt.DType], Tensor], op: str) -> Tensor:
    """``part(word planes, real dtype)`` for the real part, and for complex dtypes the
    imaginary part from the planes after it; reshaped to ``shape``."""
    from .._manipulation import reshape

    s = shape_of(shape)
    b: Backend = target(backend, device, d, op, s)
    real = _real_of(d)
    per = 2 if real is dt.float64 else 1
    n = math.prod(s)
    p = planes(k, per * (2 if d.is_complex else 1), n, b, device)
    x = part(p[:per], real)
    if d.is_complex:
        x = x + part(p[per:], real) * 1j
    return reshape(x, s)


def uniform(k: Key | int, shape: Any = (), dtype: Any = None, low: float = 0.0,
            high: float = 1.0, *, device: str | None = None, backend: Any = None) -> Tensor:
    """Uniform samples in [low, high) (complex dtypes: real and imaginary parts each).

    The [0, 1) draw is exact (float32: 24 random bits, float64: 53), then ``* (high - low)
    + low`` in the dtype; the same key gives the same bits on every backend.

    >>> ember.random.uniform(ember.random.key(0), (3,)).tolist()
    [0.3990464210510254, 0.8805201649665833, 0.7357127666473389]
    """
    d = _inexact(dtype, "uniform")
    scale, shift = float(high) - float(low), float(low)

    def part(p: list[Tensor], real: dt.DType) -> Tensor:
        u = unit(p, real)
        return u if scale == 1.0 and shift == 0.0 else u * scale + shift

    return _draw(k, shape, d, device, backend, part, "uniform")


def _box_muller(p: list[Tensor], real: dt.DType) -> tuple[Tensor, Tensor]:
    """Two independent standard normals per pair of uniforms (Box and Muller):
    ``r * cos(t)`` and ``r * sin(t)`` for ``r = sqrt(-2 log u)``, u uniform on the open
    interval (0, 1), and ``t = 2 pi v``, v uniform on [0, 1); the word planes hold u, then v.
    Computed in float32 (float64 for float64), then cast to ``real``."""
    from .._dtypes import astype
    from .._elementwise import cos, log, sin, sqrt

    work = dt.float64 if real is dt.float64 else dt.float32
    half = len(p) // 2
    r = sqrt(log(open_unit(p[:half], work)) * -2.0)
    t = unit(p[half:], work) * _TWO_PI
    c, s = r * cos(t), r * sin(t)
    return (c, s) if work is real else (astype(c, real), astype(s, real))


def normal(k: Key | int, shape: Any = (), dtype: Any = None, loc: float = 0.0,
           scale: float = 1.0, *, device: str | None = None, backend: Any = None) -> Tensor:
    """Normal samples with mean loc and standard deviation scale (complex dtypes: real and
    imaginary parts independent, each of variance scale**2 / 2).

    Box-Muller on exact uniform draws, in float32 (float64 for float64): the pairs
    ``sqrt(-2 log u) * (cos, sin)(2 pi v)`` fill the first and the second half of the draw
    (a complex draw's real and imaginary parts); |z| < 5.8 in float32, < 8.6 in float64.
    Backends agree to a few units in the last place (their log, cos and sin differ that much).

    >>> [round(v, 5) for v in ember.random.normal(ember.random.key(0), (3,)).tolist()]
    [-0.12152, -0.39767, -1.35003]
    """
    from .._manipulation import concat, reshape

    d = _inexact(dtype, "normal")
    s = shape_of(shape)
    b = target(backend, device, d, "normal", s)
    real = _real_of(d)
    per = 2 if real is dt.float64 else 1
    n = math.prod(s)
    pairs = n if d.is_complex else -(-n // 2)
    c, z1 = _box_muller(planes(k, 2 * per, pairs, b, device), real)
    if d.is_complex:
        z = c * _SQRT_HALF + z1 * (1j * _SQRT_HALF)
    else:
        z = c if n == pairs else concat([c, z1[:n - pairs]])
    z = reshape(z, s)
    if scale != 1.0:
        z = z * scale
    return z if loc == 0.0 else z + loc


def truncated_normal(k: Key | int, lower: float = -2.0, upper: float = 2.0, shape: Any = (),
                     dtype: Any = None, *, device: str | None = None,
                     backend: Any = None) -> Tensor:
    """Standard normal samples conditioned on [lower, upper] (inverse-CDF sampling:
    ``sqrt(2) * erfinv(2p - 1)`` with p uniform between the CDF at lower and at upper)."""
    from .._dtypes import astype
    from .._elementwise import clip, erfinv

    if not lower < upper:
        raise EmberError(f"truncated_normal: need lower < upper, got [{lower}, {upper}]")
    d = _inexact(dtype, "truncated_normal")
    if d.is_complex:
        raise DTypeError(f"random.truncated_normal: expected a real floating dtype, got {d}")
    work = dt.float64 if d is dt.float64 else dt.float32
    a = 0.5 * (1.0 + math.erf(lower / _SQRT2))
    c = 0.5 * (1.0 + math.erf(upper / _SQRT2))

    def part(p: list[Tensor], real: dt.DType) -> Tensor:
        u = unit(p, work)
        x = clip(erfinv(u * (2.0 * (c - a)) + (2.0 * a - 1.0)) * _SQRT2, lower, upper)
        return x if work is real else astype(x, real)

    return _draw(k, shape, d, device, backend, part, "truncated_normal")
