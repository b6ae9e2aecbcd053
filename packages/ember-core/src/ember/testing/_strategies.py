"""Hypothesis strategies for the conformance kit: dtypes, shapes, axes and NumPy input arrays.

Inputs are always built as NumPy arrays (the reference backend takes them as they are, the
backend under test gets ``ember.asarray(arr, backend=name)``); a case draws them with ``data``,
a :func:`hypothesis.strategies.data` object.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember

__all__ = [
    "ALL", "BOOL", "COMPLEX", "FLOAT", "INEXACT", "INT", "INTEGRAL", "LINALG", "NUMERIC",
    "REAL", "UINT", "arr", "axes_arg", "axis_arg", "bcast_shapes", "bf16_round", "np_dtype",
    "rng", "shape", "spd", "well_conditioned",
]

E = ember
BOOL = (E.bool,)
INT = (E.int8, E.int16, E.int32, E.int64)
UINT = (E.uint8, E.uint16, E.uint32, E.uint64)
INTEGRAL = INT + UINT
FLOAT = (E.float16, E.float32, E.float64)
COMPLEX = (E.complex64, E.complex128)
INEXACT = FLOAT + COMPLEX
REAL = INTEGRAL + FLOAT
NUMERIC = REAL + COMPLEX
ALL = BOOL + NUMERIC
LINALG = (E.float32, E.float64)


def np_dtype(d: Any) -> np.dtype:
    """The NumPy dtype of an ember dtype (float32 stands in for bfloat16)."""
    return np.dtype("float32" if d.name == "bfloat16" else d.name)


def shape(data: Any, min_dims: int = 0, max_dims: int = 3, min_side: int = 0,
          max_side: int = 4) -> tuple[int, ...]:
    return data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                                      max_side=max_side), label="shape")


def bcast_shapes(data: Any, n: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 0,
                 max_side: int = 4) -> tuple[tuple[int, ...], ...]:
    """``n`` shapes that broadcast together (different ranks, length-1 axes, empty axes)."""
    bs = data.draw(hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side),
        label="shapes")
    return bs.input_shapes


def _int_range(d: Any, lo: int | None, hi: int | None) -> tuple[int, int]:
    info = ember.iinfo(d)
    lo = -10 if lo is None else lo
    hi = 10 if hi is None else hi
    return max(lo, info.min), min(hi, info.max)


def arr(data: Any, d: Any, shp: tuple[int, ...], lo: float | None = None, hi: float | None = None,
        *, nonzero: bool = False, grid: float = 0.0, specials: bool = False,
        unique: bool = False) -> np.ndarray:
    """A NumPy array of ember dtype ``d`` and shape ``shp`` with values in [lo, hi].

    ``grid``: floats are multiples of it (exact halves for rounding, no near-ties for floor);
    ``specials``: floats may be NaN, +-inf or -0.0; ``nonzero``: no zeros (divisors);
    complex values keep their real and imaginary parts away from the axes (branch cuts)."""
    npd = np_dtype(d)
    if d.kind == "b":
        elems: Any = st.booleans()
        return data.draw(hnp.arrays(npd, shp, elements=elems, unique=unique), label="array")
    if d.kind in "iu":
        a, b = _int_range(d, None if lo is None else int(lo), None if hi is None else int(hi))
        elems = st.integers(a, b)
        if nonzero:
            elems = elems.filter(lambda v: v != 0)
        return data.draw(hnp.arrays(npd, shp, elements=elems, unique=unique), label="array")
    lo = -10.0 if lo is None else lo
    hi = 10.0 if hi is None else hi
    if grid:
        elems = st.integers(int(np.ceil(lo / grid)), int(np.floor(hi / grid))).map(lambda k: k * grid)
    else:
        elems = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if nonzero:
        elems = elems.filter(lambda v: abs(v) >= 0.25)
    if specials:
        elems = st.one_of(elems, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))
    if d.kind == "c":
        part = st.floats(0.1, max(abs(lo), abs(hi), 0.2), allow_nan=False)
        signed = st.tuples(part, st.booleans()).map(lambda t: -t[0] if t[1] else t[0])
        elems = st.builds(complex, signed, signed)
        out = data.draw(hnp.arrays(np.complex128, shp, elements=elems, unique=unique), label="array")
    else:
        out = data.draw(hnp.arrays(np.float64, shp, elements=elems, unique=unique), label="array")
    with np.errstate(over="ignore"):
        return out.astype(npd)


def axis_arg(data: Any, ndim: int, *, allow_none: bool = True) -> int | None:
    """None or one axis in [-ndim, ndim), negative half the time."""
    choices: list[Any] = [None] if allow_none else []
    choices += list(range(-ndim, ndim))
    if not choices:
        return None
    return data.draw(st.sampled_from(choices), label="axis")


def axes_arg(data: Any, ndim: int) -> Any:
    """None, one axis, or a tuple of distinct axes (possibly empty, mixed signs)."""
    kind = data.draw(st.sampled_from(["none", "int", "tuple"]), label="axis kind")
    if kind == "none" or (ndim == 0 and kind == "int"):
        return None
    if kind == "int":
        return data.draw(st.integers(-ndim, ndim - 1), label="axis")
    picked = data.draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim) if ndim
                       else st.just([]), label="axes")
    signs = data.draw(st.lists(st.booleans(), min_size=len(picked), max_size=len(picked)))
    return tuple(a - ndim if s else a for a, s in zip(picked, signs))


def bf16_round(a: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16 (as float32), ties to even."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    return r.view(np.float32).reshape(a.shape)


def rng(data: Any) -> np.random.Generator:
    """A NumPy generator seeded by hypothesis (for structured inputs such as matrices)."""
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def well_conditioned(g: np.random.Generator, batch: tuple[int, ...], n: int, d: Any,
                     m: int | None = None) -> np.ndarray:
    """Random (batch, n, m) matrices; square ones are diagonally dominant (condition < ~10)."""
    m = n if m is None else m
    a = g.uniform(-1, 1, (*batch, n, m))
    if d.kind == "c":
        a = a + 1j * g.uniform(-1, 1, (*batch, n, m))
    if n == m:
        a = a + (n + 1) * np.eye(n)
    return a.astype(np_dtype(d))


def spd(g: np.random.Generator, batch: tuple[int, ...], n: int, d: Any) -> np.ndarray:
    """Hermitian positive-definite matrices with eigenvalues well apart from 0."""
    b = g.uniform(-1, 1, (*batch, n, n))
    if d.kind == "c":
        b = b + 1j * g.uniform(-1, 1, (*batch, n, n))
    a = b @ np.conj(np.swapaxes(b, -1, -2)) + n * np.eye(n)
    return a.astype(np_dtype(d))
