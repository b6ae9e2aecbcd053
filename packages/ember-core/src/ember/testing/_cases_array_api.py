"""Cases from running the Array API's own test suite (data-apis/array-api-tests, 2023.12)
against ember: each reproduces one of its findings, so every backend and plugin runs it.

Where the NumPy reference itself was wrong (complex special cases, vecdot's dtype, a Python
float stored into float64), the case checks the standard's answer directly (``check=``)
instead of comparing with the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import BACKEND, call, case
from ._compare import Result
from ._special_cases import TABLE, inputs, matches

E = ember


def _only(actual: list[Result]) -> Result:
    assert len(actual) == 1, f"expected one result, got {len(actual)}"
    return actual[0]


# --- complex special cases (the standard's tables) ----------------------------------------
def _special_check(fn: str) -> Any:
    def check(actual: list[Result], expected: list[Result], args: Any, factor: float) -> None:
        out = _only(actual)
        rtol = 1e-5 if out.dtype is E.complex64 else 1e-12
        bad = []
        for (z, r, i), got in zip(inputs(fn), out.array.reshape(-1), strict=True):
            if not (matches(r, z, 0, float(got.real), rtol)
                    and matches(i, z, 1, float(got.imag), rtol)):
                bad.append(f"{fn}({z}) = {complex(got)}, the standard says {r} + {i} j")
        if bad:
            raise AssertionError("complex special cases:\n  " + "\n  ".join(bad))

    return check


for _fn in TABLE:
    @case(_fn, "special-cases", S.COMPLEX, check=_special_check(_fn), examples=1)
    def _special(data: Any, d: Any, _fn: str = _fn) -> Any:
        return call(np.array([z for z, _, _ in inputs(_fn)], dtype=S.np_dtype(d)))


# --- dtypes of results --------------------------------------------------------------------
def _vecdot_check(actual: list[Result], expected: list[Result], args: Any, factor: float) -> None:
    out = _only(actual)
    x1, x2 = args
    assert out.dtype.name == x1.dtype.name, (
        f"vecdot of two {x1.dtype} tensors gave {out.dtype.name}; the standard keeps the "
        f"operands' (promoted) dtype")
    want = np.sum(np.conj(x1) * x2, axis=-1, dtype=x1.dtype)  # wraps like the dtype does
    np.testing.assert_array_equal(out.array, want)


@case("vecdot", "keeps-small-dtype", (E.uint8, E.int8, E.int16, E.uint16, E.int32),
      check=_vecdot_check)
def _vecdot_small(data: Any, d: Any) -> Any:
    shp = S.shape(data, 1, 3)
    return call(S.arr(data, d, shp, 0, 9), S.arr(data, d, shp, 0, 9))


@case("searchsorted", "indexing-dtype", (E.uint8, E.float32))
def _searchsorted_dtype(data: Any, d: Any) -> Any:
    x1 = np.sort(S.arr(data, d, (data.draw(st.integers(1, 6)),), 0, 9, grid=1.0))
    return call(x1, S.arr(data, d, (3,), 0, 9), fn=_searchsorted_int64)


def _searchsorted_int64(x1: Any, x2: Any) -> Any:
    out = E.searchsorted(x1, x2)
    indexing = E.__array_namespace_info__().default_dtypes()["indexing"]
    assert out.dtype is indexing, f"searchsorted gave {out.dtype}, info says {indexing}"
    return out


# --- creation -----------------------------------------------------------------------------
def _nested_asarray(x: Any, with_dtype: bool) -> Any:
    """x rebuilt as nested lists of 0-d tensors (how the suite builds expected values)."""
    rows = [[x[i, j] for j in range(x.shape[1])] for i in range(x.shape[0])]
    out = E.asarray(rows, dtype=x.dtype if with_dtype else None)
    assert out.dtype is x.dtype, f"asarray of {x.dtype} 0-d tensors gave {out.dtype}"
    return out


@case("asarray", "nested-0d-tensors", S.ALL)
def _asarray_nested(data: Any, d: Any) -> Any:
    x = S.arr(data, d, (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))))
    return call(x, data.draw(st.booleans()), fn=_nested_asarray)


@case("eye", "diagonal-beyond-matrix", (E.float32, E.int32, E.bool))
def _eye_far(data: Any, d: Any) -> Any:
    n = data.draw(st.integers(0, 3))
    k = data.draw(st.sampled_from([2**31, -(2**31), 2**40, n, -n - 1]))
    return call(n, data.draw(st.sampled_from([None, 2])), k=k, dtype=d, backend=BACKEND)


def _from_dlpack_device_copy(x: Any, copy: Any) -> Any:
    device = E.__array_namespace_info__().default_device()
    out = E.from_dlpack(x, device=device, copy=copy)
    assert out.device == x.device, f"from_dlpack moved {x.device!r} to {out.device!r}"
    return out


@case("from_dlpack", "device-copy", S.NUMERIC + S.BOOL)
def _from_dlpack_kw(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, min_dims=1))
    return call(x, data.draw(st.sampled_from([None, True, False])), fn=_from_dlpack_device_copy)


for _name in ("fft.fftfreq", "fft.rfftfreq"):
    @case(_name, "device", (E.float32, E.float64))
    def _freq_device(data: Any, d: Any, _name: str = _name) -> Any:
        fn = getattr(E.fft, _name[4:])
        return call(data.draw(st.integers(1, 9)), fn=lambda n, dtype: fn(
            n, d=0.5, dtype=dtype, device=E.__array_namespace_info__().default_device()),
            dtype=d)


# --- manipulation -------------------------------------------------------------------------
@case("expand_dims", "positional-axis", (E.float32, E.bool))
def _expand_dims_pos(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    return call(x, data.draw(st.integers(-x.ndim - 1, x.ndim)))


# --- element-wise -------------------------------------------------------------------------
@case("round", "complex", S.COMPLEX)
def _round_complex(data: Any, d: Any) -> Any:
    return call(S.arr(data, d, S.shape(data), -5, 5) * 1.5)


for _name in ("unique_all", "unique_values"):
    @case(_name, "complex", S.COMPLEX)
    def _unique_complex(data: Any, d: Any) -> Any:
        g = S.rng(data)
        parts = g.integers(-2, 3, (2, data.draw(st.integers(0, 8))))
        return call((parts[0] + 1j * parts[1]).astype(S.np_dtype(d)))


# --- indexing -----------------------------------------------------------------------------
@case("getitem", "empty-mask", (E.float32, E.int64))
def _empty_mask(data: Any, d: Any) -> Any:
    x = S.arr(data, d, (data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))))
    keep = data.draw(st.lists(st.booleans(), min_size=2, max_size=2))
    mask = np.zeros(tuple(s if k else 0 for s, k in zip(x.shape, keep, strict=True)), bool)
    return call(x, mask, fn=lambda x, m: x[m])


@case("index_update", "0d-mask", (E.float32, E.bool, E.int16))
def _update_0d_mask(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 0, 2))
    mask = np.array(data.draw(st.booleans()))
    return call(x, mask, S.arr(data, d, ()), fn=lambda x, m, v: E.index_update(x, m, v))


def _store_python(x: Any, value: float) -> Any:
    x[0] = value
    return x


def _stored_exactly(actual: list[Result], expected: list[Result], args: Any, factor: float) -> None:
    out, value = _only(actual), args[1]
    assert out.array[0] == value, f"x[0] = {value!r} stored {out.array[0]!r} into {out.dtype}"


@case("index_update", "python-scalar-precision", (E.float64, E.int64), check=_stored_exactly)
def _python_scalar(data: Any, d: Any) -> Any:
    value: Any = (float(2**24 + 1) + data.draw(st.integers(0, 4)) * 2.0 if d.kind == "f"
                  else 2**62 + data.draw(st.integers(1, 9)))
    return call(np.zeros(2, S.np_dtype(d)), value, fn=_store_python)


@case("tensordot", "empty", (E.uint8, E.int32, E.float32))
def _tensordot_empty(data: Any, d: Any) -> Any:
    m, k, n = (data.draw(st.integers(0, 2)) for _ in range(3))
    if data.draw(st.booleans()):
        return call(S.arr(data, d, (m, k), 0, 5), S.arr(data, d, (k, n), 0, 5), axes=1)
    return call(S.arr(data, d, (k, m), 0, 5), S.arr(data, d, (k, n), 0, 5), axes=([0], [0]))


# --- Python ints beyond int64 (uint64 only; MLX reads Python ints as int64) -----------------
_BIG = st.sampled_from([2**63, 2**63 + 7, 2**64 - 1])

for _name in ("add", "equal", "maximum", "less", "bitwise_and"):
    @case(_name, "scalar-beyond-int64", (E.uint64,))
    def _big_scalar(data: Any, d: Any) -> Any:
        x = np.array(data.draw(st.lists(st.sampled_from([0, 1, 2**63 + 7, 2**64 - 2]),
                                        min_size=1, max_size=4)), np.uint64)
        return call(x, data.draw(_BIG))


@case("clip", "bound-beyond-int64", (E.uint64,))
def _clip_big(data: Any, d: Any) -> Any:
    x = np.array([0, 5, 2**63 + 7, 2**64 - 1], np.uint64)
    return call(x, data.draw(st.sampled_from([None, 3])), data.draw(_BIG))


@case("where", "scalar-beyond-int64", (E.uint64,))
def _where_big(data: Any, d: Any) -> Any:
    return call(np.array([True, False]), np.array([1, 2**63 + 1], np.uint64), data.draw(_BIG))


# --- nextafter (2024.12): bit-exact, the standard's zeros ----------------------------------
def _nextafter_check(actual: list[Result], expected: list[Result], args: Any,
                     factor: float) -> None:
    """The exact next float, compared bit for bit (a tolerance would pass x1 itself), with the
    standard's answer where the two are equal: x2 (-0 towards +0 is +0). NumPy's float16
    version returns x1 there, so the answer is computed here, not taken from the reference."""
    out = np.asarray(_only(actual).array)
    x1, x2 = (np.asarray(a) for a in args)
    with np.errstate(over="ignore"):
        want = np.nextafter(x1, x2)
    want = np.where(np.equal(x1, x2), x2, want).astype(want.dtype)
    nan = np.isnan(want)
    assert out.dtype == want.dtype, f"nextafter gave {out.dtype} for {want.dtype} operands"
    np.testing.assert_array_equal(np.isnan(out), nan, err_msg="NaN where either is NaN")
    np.testing.assert_array_equal(out[~nan], want[~nan])
    np.testing.assert_array_equal(np.signbit(out[~nan]), np.signbit(want[~nan]),
                                  err_msg="the sign of a zero")


@case("nextafter", "bits", S.FLOAT, check=_nextafter_check)
def _nextafter(data: Any, d: Any) -> Any:
    s1, s2 = S.bcast_shapes(data, min_dims=1, min_side=1)
    x1 = S.arr(data, d, s1, specials=True)
    x2 = S.arr(data, d, s2, specials=True)
    if s1 == s2 and data.draw(st.booleans(), label="equal pairs"):
        x2 = np.where(np.equal(x1, 0), -x1, x1)  # x1 == x2, zeros of the other sign
    return call(x1, x2)


@case("nextafter", "zeros-and-limits", S.FLOAT, check=_nextafter_check, examples=1)
def _nextafter_limits(data: Any, d: Any) -> Any:
    info = np.finfo(S.np_dtype(d))
    tiny = np.nextafter(S.np_dtype(d).type(0), S.np_dtype(d).type(1))
    x1 = np.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, info.max, -info.max, np.inf, -np.inf, tiny,
                   -tiny, np.nan, 2.0], dtype=S.np_dtype(d))
    x2 = np.array([-0.0, 0.0, -1.0, 1.0, 2.0, 0.0, np.inf, -np.inf, 0.0, 0.0, 0.0, 0.0, 1.0,
                   np.nan], dtype=S.np_dtype(d))
    return call(x1, x2)


# --- floor_divide of a small x1 by a large x2 (the suite's "negative sign" special case) -----
@case("floor_divide", "small-by-large", (E.float32, E.float64))
def _floor_divide_small_by_large(data: Any, d: Any) -> Any:
    """|x1| much smaller than |x2|: the floor is 0 or -1 (-1 where the signs differ), which an
    fmod rebuilt from a remainder of the divisor's sign loses to rounding (MLX gave 0.0 for
    1.0 // -3e10)."""
    shape = S.shape(data, 1, 2, 1)
    x1 = S.arr(data, d, shape, -10, 10)
    scale = data.draw(st.sampled_from((1e6, 3e10, 9007199254740996.0, 1e30)), label="|x2|")
    x2 = S.arr(data, d, shape, 1, 4).astype(np.float64) * scale
    sign = np.where(S.arr(data, d, shape, 0, 1, grid=1.0) > 0, 1.0, -1.0)
    return call(x1, (sign * x2).astype(S.np_dtype(d)))


# --- full keeps the sign of a zero part (test_repeat's expected values are xp.full) ---------
def _signed_zero_check(actual: list[Result], expected: list[Result], args: Any,
                       factor: float) -> None:
    out = np.asarray(_only(actual).array).reshape(-1)
    fill = complex(args[1])
    assert out.size, "kit bug: an empty shape"
    for part, want in (("real", fill.real), ("imag", fill.imag)):
        got = getattr(out, part)
        np.testing.assert_array_equal(got, want, err_msg=f"full(..., {fill!r}): the {part} part")
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want),
                                      err_msg=f"full(..., {fill!r}): the sign of the {part} part")


@case("full", "complex-signed-zeros", S.COMPLEX, check=_signed_zero_check)
def _full_signed_zeros(data: Any, d: Any) -> Any:
    """MLX built complex64 fills as zeros + value, and 0 + (-0) is +0: full((1,), -0j) read
    0j (the suite's test_repeat compares with xp.full of each element)."""
    re, im = (data.draw(st.sampled_from((0.0, -0.0, 1.5, -2.0)), label=p) for p in "ri")
    return call(S.shape(data, 1, 2, 1), complex(re, im), dtype=d, backend=BACKEND)
