"""Discrete draws: randint (exact integer arithmetic), bernoulli (exact comparisons),
permutation (a stable sort of 63-bit integer keys) and categorical (Gumbel-max)."""

from __future__ import annotations

import math
from typing import Any

from ... import _dtypes as dt
from ..._backend import Backend
from ..._errors import DTypeError, EmberError, ShapeError
from ..._tensor import Tensor
from ._bits import open_unit, planes, shape_of, target, unit, unit_bits24
from ._keys import Key

__all__ = ["bernoulli", "categorical", "permutation", "randint"]

Limb = Tensor | int


def _limbs16(p: list[Tensor]) -> list[Tensor]:
    """The 16-bit limbs of the number whose 32-bit words are the planes (plane 0 the most
    significant), least significant limb first."""
    out: list[Tensor] = []
    for w in reversed(p):
        out += [w & 0xFFFF, w >> 16]
    return out


def _scaled(p: list[Tensor], span: int) -> tuple[Limb, Limb]:
    """``floor(X * span / 2**(32 c))`` for the c-word number X of the planes, as (high, low)
    32-bit words: schoolbook multiplication on 16-bit limbs, every partial sum below 2**36.
    Only the limbs the result can have (it is below span) are formed."""
    x = _limbs16(p)
    s = [(span >> (16 * j)) & 0xFFFF for j in range(5)]
    need = max(1, -(-(span - 1).bit_length() // 16))
    carry: Limb = 0
    r: list[Limb] = [0, 0, 0, 0]
    for m in range(len(x) + need):
        acc: Limb = carry
        for j, sj in enumerate(s):
            if sj and 0 <= m - j < len(x):
                acc = acc + x[m - j] * sj
        if m >= len(x):
            r[m - len(x)] = acc & 0xFFFF
        carry = acc >> 16
    return (r[3] << 16) | r[2], (r[1] << 16) | r[0]


def randint(k: Key | int, shape: Any, low: int, high: int, dtype: Any = None, *,
            device: str | None = None, backend: Any = None) -> Tensor:
    """Integers uniform in [low, high) (int64 unless dtype is given).

    ``low + floor(X * (high - low) / 2**b)`` for X of b random bits (Lemire's multiply-shift,
    without rejection): b = 64 when high - low <= 2**32, else 96, so each value's probability is
    within a factor 1 +- 2**-32 of 1 / (high - low), and exact when high - low is a power of
    two. Integer arithmetic throughout: the same values on every backend.

    >>> ember.random.randint(ember.random.key(0), (5,), 0, 10).tolist()
    [3, 8, 7, 6, 9]
    """
    from .._dtypes import astype
    from .._manipulation import reshape

    d = dt.DEFAULT_INT if dtype is None else dt.as_dtype(dtype)
    if not d.is_integer:
        raise DTypeError(f"randint: dtype must be an integer dtype, got {d}")
    if high <= low:
        raise EmberError(f"randint: need low < high, got [{low}, {high})")
    lo, hi = dt.int_range(d)
    if low < lo or high - 1 > hi:
        raise DTypeError(f"randint: [{low}, {high}) does not fit {d}")
    low, high = int(low), int(high)
    s = shape_of(shape)
    b = target(backend, device, d, "randint", s)
    span = high - low
    p = planes(k, 2 if span <= 1 << 32 else 3, math.prod(s), b, device)
    r_hi, r_lo = _scaled(p, span)
    base = low % (1 << 64)
    t = r_lo + (base & 0xFFFFFFFF)  # low + r modulo 2**64, in two 32-bit words
    assert isinstance(t, Tensor)  # r_lo holds the draw's low limbs
    v_lo = t & 0xFFFFFFFF
    v_hi = (r_hi + ((base >> 32) + (t >> 32))) & 0xFFFFFFFF
    if d is dt.uint64:
        out = (astype(v_hi, dt.uint64) << 32) | astype(v_lo, dt.uint64)
    else:  # the signed value: high word minus 2**32 when its top bit is set
        out = astype((v_hi - ((v_hi >> 31) << 32)) * (1 << 32) + v_lo, d)
    return reshape(out, s)


def bernoulli(k: Key | int, p: Any = 0.5, shape: Any = None, *, device: str | None = None,
              backend: Any = None) -> Tensor:
    """Booleans that are True with probability p (a float or a tensor, broadcast to shape).

    True exactly where ``uniform(k, shape, float32) < p`` (a float p is not rounded to float32
    first: the comparison is on the draw's 24-bit integer), so every backend gives the same
    booleans.

    >>> ember.random.bernoulli(ember.random.key(0), 0.45, (3,)).tolist()
    [True, False, False]
    """
    if isinstance(p, Tensor):
        s = p.shape if shape is None else shape
        u = _unit32(k, s, device or p.device, backend or p._b)
        return u < p
    if not 0.0 <= float(p) <= 1.0:
        raise EmberError(f"bernoulli: p must be in [0, 1], got {p}")
    s = shape_of(() if shape is None else shape)
    b = target(backend, device, dt.bool, "bernoulli", s)
    (w,) = planes(k, 1, math.prod(s), b, device)
    from .._manipulation import reshape

    return reshape(unit_bits24(w) < math.ceil(float(p) * 2**24), s)


def _unit32(k: Key | int, shape: Any, device: str | None, backend: Any) -> Tensor:
    from .._manipulation import reshape

    s = shape_of(shape)
    b = target(backend, device, dt.float32)
    return reshape(unit(planes(k, 1, math.prod(s), b, device), dt.float32), s)


def categorical(k: Key | int, logits: Any, *, axis: int = -1, shape: Any = None) -> Tensor:
    """Class indices (int64) drawn from unnormalised log-probabilities along axis (Gumbel-max:
    the argmax of ``logits - log(-log(u))``, u uniform on (0, 1), in float32, or float64 for
    float64 logits).

    ``shape`` (batch shape of the result) defaults to logits' shape without ``axis``. Backends
    agree except where two perturbed logits lie within a few units in the last place of each
    other (their ``log`` may differ by one unit).
    """
    from .. import _elementwise as ew
    from .._creation import asarray
    from .._manipulation import moveaxis, reshape
    from .._searching import argmax

    lg = asarray(logits)
    if lg.ndim == 0:
        raise ShapeError("categorical: logits need a class axis")
    lg = moveaxis(lg, axis, -1)
    batch = lg.shape[:-1] if shape is None else shape_of(shape)
    work = dt.float64 if lg.dtype is dt.float64 else dt.float32
    full = (*batch, lg.shape[-1])
    b = target(lg._b, lg.device, work)
    n = math.prod(full)
    u = reshape(open_unit(planes(k, 2 if work is dt.float64 else 1, n, b, lg.device), work), full)
    return argmax(lg - ew.log(-ew.log(u)), axis=-1)


def permutation(k: Key | int, x: Any, *, axis: int = 0) -> Tensor:
    """A random permutation of range(x) if x is an int, else of x along axis.

    The order sorts 63-bit random integers (two words per element) with a stable sort, so ties
    (probability below n**2 / 2**64) keep index order: the same permutation on every backend.
    """
    from .._creation import asarray
    from .._indexing import take

    if isinstance(x, int) and not isinstance(x, bool):
        if x < 0:
            raise ShapeError(f"permutation: n must be non-negative, got {x}")
        return _order(k, x, target(None, None, dt.int64), None)
    t = asarray(x)
    if t.ndim == 0:
        raise ShapeError("permutation: x must be an int or a tensor with at least one axis")
    return take(t, _order(k, t.shape[axis], t._b.root, t.device), axis=axis)


def _order(k: Key | int, n: int, b: Backend, device: str | None) -> Tensor:
    from .._sorting import argsort

    hi, lo = planes(k, 2, n, b, device)
    return argsort(((hi >> 1) << 32) | lo, stable=True)
