"""Cases of the linear-algebra and FFT ops. Decompositions whose factors are not unique (eigh,
svd, qr) are compared through invariants: reconstructions, orthonormality, eigen/singular
values and the moduli of R; inputs are well conditioned (diagonally dominant, SPD, or with
singular values in [1, 2])."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import BACKEND, call, case
from ._compare import assert_close

E = ember
LA = S.LINALG
LAC = S.LINALG + S.COMPLEX
MATMUL = (E.int8, E.int32, E.int64, E.uint8, E.float16, E.float32, E.float64, E.complex64,
          E.complex128)


def _batch(data: Any, max_dims: int = 2) -> tuple[int, ...]:
    return S.shape(data, 0, max_dims, 1, 3)


def _n(data: Any, lo: int = 1, hi: int = 4) -> int:
    return data.draw(st.integers(lo, hi), label="n")


def _svals(g: np.random.Generator, batch: tuple[int, ...], n: int, m: int, d: Any) -> np.ndarray:
    """Matrices with singular values spread over [1, 2] (so pinv/svd are well defined)."""
    k = min(n, m)
    u = np.linalg.qr(g.standard_normal((*batch, n, n)))[0][..., :k]
    v = np.linalg.qr(g.standard_normal((*batch, m, m)))[0][..., :k]
    s = np.sort(g.uniform(1, 2, (*batch, k)))[..., ::-1]
    return ((u * s[..., None, :]) @ np.swapaxes(v, -1, -2)).astype(S.np_dtype(d))


def _h(a: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(a, -1, -2))


def _eye_like(a: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(np.eye(n), (*a.shape[:-2], n, n))


# --- matrix products ----------------------------------------------------------------------------
def _mm_operands(data: Any, d: Any) -> tuple[np.ndarray, np.ndarray]:
    n, k, m = _n(data, 0), _n(data), _n(data, 0)
    kind = data.draw(st.sampled_from(["batched", "vec-mat", "mat-vec", "vec-vec"]))
    lo, hi = (-3, 3) if d.kind in "iu" else (-1, 1)
    if kind == "batched":
        b1, b2 = S.bcast_shapes(data, max_dims=2, min_side=1, max_side=3)
        return S.arr(data, d, (*b1, n, k), lo, hi), S.arr(data, d, (*b2, k, m), lo, hi)
    s1 = (k,) if kind.startswith("vec") else (*_batch(data, 1), n, k)
    s2 = (k,) if kind.endswith("vec") else (*_batch(data, 1), k, m)
    return S.arr(data, d, s1, lo, hi), S.arr(data, d, s2, lo, hi)


for _name in ("matmul", "linalg.matmul"):
    @case(_name, "shapes", MATMUL, bf16=True, tol=10)
    def _matmul(data: Any, d: Any) -> Any:
        return call(*_mm_operands(data, d))


@case("matmul", "operator", (E.float32,), tol=10)
def _matmul_op(data: Any, d: Any) -> Any:
    return call(*_mm_operands(data, d), fn=lambda a, b: a @ b)


for _name in ("tensordot", "linalg.tensordot"):
    @case(_name, "axes", (E.int32, E.float32, E.float64, E.complex64), tol=10)
    def _tensordot(data: Any, d: Any) -> Any:
        shp = S.shape(data, 1, 3, 1, 3)
        k = data.draw(st.integers(0, len(shp)))
        a = S.arr(data, d, (*S.shape(data, 0, 2, 1, 3), *shp[:k]), -2, 2)
        b = S.arr(data, d, (*shp[:k], *S.shape(data, 0, 2, 1, 3)), -2, 2)
        if data.draw(st.booleans()):
            return call(a, b, axes=k)
        return call(a, b, axes=(tuple(range(a.ndim - k, a.ndim)), tuple(range(k))))


# integer products over each dtype's whole range wrap as NumPy's do; full contractions give
# 0-d results (torch on CUDA has no integer mm/dot: ember multiplies and sums there)
for _name in ("matmul", "tensordot", "vecdot"):
    @case(_name, "integer-wrap", S.INTEGRAL)
    def _int_wrap(data: Any, d: Any, _name: str = _name) -> Any:
        full = S.np_dtype(d)
        lo, hi = int(np.iinfo(full).min), int(np.iinfo(full).max)
        k = _n(data)
        if _name == "vecdot":
            s1, s2 = S.bcast_shapes(data, max_dims=2, min_side=1, max_side=3)
            return call(S.arr(data, d, (*s1, k), lo, hi), S.arr(data, d, (*s2, k), lo, hi))
        s1 = (*_batch(data, 1), _n(data, 0), k)
        a = S.arr(data, d, s1[data.draw(st.integers(0, len(s1) - 1)):], lo, hi)  # ends in k
        b = S.arr(data, d, (k, _n(data, 0))[:data.draw(st.integers(1, 2))], lo, hi)
        if _name == "matmul":
            return call(a, b)
        return call(a, b, axes=([a.ndim - 1], [0]))


for _name in ("vecdot", "linalg.vecdot"):
    @case(_name, "axis", (E.int32, E.float32, E.float64, E.complex64), tol=10)
    def _vecdot(data: Any, d: Any) -> Any:
        s1, s2 = S.bcast_shapes(data, max_dims=2, min_side=1, max_side=3)
        k = _n(data)
        return call(S.arr(data, d, (*s1, k), -3, 3), S.arr(data, d, (*s2, k), -3, 3), axis=-1)


for _name in ("matrix_transpose", "linalg.matrix_transpose"):
    @case(_name, "batched", S.ALL)
    def _mt(data: Any, d: Any) -> Any:
        return call(S.arr(data, d, S.shape(data, 2, 4)))


@case("linalg.outer", "vectors", (E.int32, E.float32, E.complex64))
def _outer(data: Any, d: Any) -> Any:
    return call(S.arr(data, d, (_n(data, 0),)), S.arr(data, d, (_n(data, 0),)))


@case("linalg.cross", "axis", S.NUMERIC, tol=10)
def _cross(data: Any, d: Any) -> Any:
    # every numeric dtype (torch has no uint16+ cross); integers wrap (int8 products of +-100,
    # unsigned differences below 0) and float values are halves, so products are exact in
    # float16 too
    s1, s2 = S.bcast_shapes(data, max_dims=2, min_side=1, max_side=3)
    lo, hi, grid = (-100, 100, 0.0) if d.kind in "iu" else (-5, 5, 0.5)
    a = S.arr(data, d, (*s1, 3), lo, hi, grid=grid)
    b = S.arr(data, d, (*s2, 3), lo, hi, grid=grid)
    if data.draw(st.booleans()) and a.ndim == b.ndim and a.ndim > 1:
        return call(np.moveaxis(a, -1, 0), np.moveaxis(b, -1, 0), axis=-a.ndim)
    return call(a, b, axis=-1)


@case("linalg.diagonal", "offset", S.ALL)
def _diagonal(data: Any, d: Any) -> Any:
    return call(S.arr(data, d, S.shape(data, 2, 4)), offset=data.draw(st.integers(-3, 3)))


@case("linalg.trace", "offset", (E.int8, E.int32, E.uint8, E.float32, E.float64, E.complex64),
      tol=10)
def _trace(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 2, 4), 0, 5)
    dtype = data.draw(st.sampled_from([None, E.float64])) if d.kind != "c" else None
    return call(x, offset=data.draw(st.integers(-2, 2)), dtype=dtype)


# --- solvers and decompositions -------------------------------------------------------------
@case("linalg.cholesky", "spd", LAC, tol=100)
def _cholesky(data: Any, d: Any) -> Any:
    return call(S.spd(S.rng(data), _batch(data), _n(data), d), upper=data.draw(st.booleans()))


for _name in ("linalg.det", "linalg.inv", "linalg.slogdet"):
    @case(_name, "well-conditioned", LAC, tol=100)
    def _square(data: Any, d: Any) -> Any:
        a = S.well_conditioned(S.rng(data), _batch(data), _n(data), d)
        if data.draw(st.booleans()):  # negative determinants too
            a = a[..., ::-1, :]
        return call(np.ascontiguousarray(a))


@case("linalg.solve", "rhs", LAC, tol=100)
def _solve(data: Any, d: Any) -> Any:
    g = S.rng(data)
    batch, n = _batch(data), _n(data)
    a = S.well_conditioned(g, batch, n, d)
    if data.draw(st.booleans()):
        return call(a, S.well_conditioned(g, (), n, d, 1)[:, 0])
    return call(a, S.well_conditioned(g, batch, n, d, _n(data)))


@case("linalg.matrix_power", "n", LA + (E.int64,), tol=100)
def _matrix_power(data: Any, d: Any) -> Any:
    p = data.draw(st.integers(-2 if d.kind != "i" else 0, 4))
    if d.kind == "i":
        return call(S.arr(data, d, (*_batch(data), 3, 3), -2, 2), p)
    a = S.well_conditioned(S.rng(data), _batch(data), _n(data), d) / 4
    return call(a.astype(S.np_dtype(d)), p)


@case("linalg.matrix_norm", "ord", LAC, tol=100)
def _matrix_norm(data: Any, d: Any) -> Any:
    a = _svals(S.rng(data), _batch(data), _n(data), _n(data), d)
    if d.kind == "c":
        a = (a * (1 + 0.5j)).astype(S.np_dtype(d))
    ord_ = data.draw(st.sampled_from(["fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")]))
    return call(a, ord=ord_, keepdims=data.draw(st.booleans()))


@case("linalg.vector_norm", "ord", S.FLOAT + S.COMPLEX, bf16=True, tol=10)
def _vector_norm(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 0, 3, 1), -5, 5)
    ord_ = data.draw(st.sampled_from([2, 1, float("inf"), float("-inf"), 3, 0.5]))
    return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()), ord=ord_)


@case("linalg.matrix_rank", "low-rank", LA)
def _matrix_rank(data: Any, d: Any) -> Any:
    g = S.rng(data)
    n, m = _n(data), _n(data)
    r = data.draw(st.integers(0, min(n, m)))
    a = _svals(g, _batch(data), n, r, E.float64) @ _svals(g, (), r, m, E.float64) if r else (
        np.zeros((n, m)))
    return call(a.astype(S.np_dtype(d)))


@case("linalg.pinv", "full-rank", LAC, tol=100)
def _pinv(data: Any, d: Any) -> Any:
    a = _svals(S.rng(data), _batch(data), _n(data), _n(data), E.float64)
    if d.kind == "c":
        a = a * np.exp(0.3j)
    return call(a.astype(S.np_dtype(d)))


for _name in ("linalg.eigvalsh", "linalg.svdvals"):
    @case(_name, "values", LAC, tol=100)
    def _vals(data: Any, d: Any, _name: str = _name) -> Any:
        g = S.rng(data)
        n = _n(data)
        if _name == "linalg.eigvalsh":
            return call(S.spd(g, _batch(data), n, d) - n)
        return call(S.well_conditioned(g, _batch(data), n, d, _n(data)))


def _check_eigh(actual: Any, expected: Any, args: Any, factor: float) -> None:
    a = args[0].astype(np.complex128 if args[0].dtype.kind == "c" else np.float64)
    w, v = actual[0].array, actual[1].array
    d = actual[1].dtype
    assert_close(w, expected[0].array, d, factor=factor, what="eigenvalues")
    n = a.shape[-1]
    assert_close((v * w[..., None, :]) @ _h(v), a, d, factor=factor * n, what="V diag(w) V^H vs x")
    assert_close(_h(v) @ v, _eye_like(a, n), d, factor=factor * n, what="V^H V vs I")


@case("linalg.eigh", "hermitian", LAC, check=_check_eigh, tol=100)
def _eigh(data: Any, d: Any) -> Any:
    n = _n(data)
    return call(S.spd(S.rng(data), _batch(data), n, d) - n)


def _check_svd(actual: Any, expected: Any, args: Any, factor: float) -> None:
    a = args[0]
    u, s, vh = (r.array for r in actual)
    d = actual[0].dtype
    assert_close(s, expected[1].array, d, factor=factor, what="singular values")
    k = s.shape[-1]
    rec = (u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :]
    assert_close(rec, a, d, factor=factor * 4, what="U diag(S) Vh vs x")
    assert_close(_h(u) @ u, _eye_like(u, u.shape[-1]), d, factor=factor * 4, what="U^H U vs I")
    assert_close(vh @ _h(vh), _eye_like(vh, vh.shape[-2]), d, factor=factor * 4, what="Vh Vh^H vs I")


@case("linalg.svd", "rect", LAC, check=_check_svd, tol=100)
def _svd(data: Any, d: Any) -> Any:
    a = S.well_conditioned(S.rng(data), _batch(data), _n(data), d, _n(data))
    return call(a, full_matrices=data.draw(st.booleans()))


def _check_qr(actual: Any, expected: Any, args: Any, factor: float) -> None:
    _qr_invariants(actual[0].array, actual[1].array, args[0], expected[1].array,
                   actual[0].dtype, factor)


def _qr_invariants(q: Any, r: Any, a: Any, r_ref: Any, d: Any, factor: float) -> None:
    assert_close(q @ r, a, d, factor=factor * 4, what="Q R vs x")
    assert_close(_h(q) @ q, _eye_like(q, q.shape[-1]), d, factor=factor * 4, what="Q^H Q vs I")
    assert_close(np.tril(r, -1), np.zeros_like(r), d, factor=factor, what="R below the diagonal")
    assert_close(np.abs(r), np.abs(r_ref), d, factor=factor * 4, what="|R|")


@case("linalg.qr", "modes", LAC, check=_check_qr, tol=100)
def _qr(data: Any, d: Any) -> Any:
    a = _svals(S.rng(data), _batch(data), _n(data), _n(data), d)
    if d.kind == "c":
        a = (a * np.exp(0.4j)).astype(S.np_dtype(d))
    return call(a, mode=data.draw(st.sampled_from(["reduced", "complete"])))


# --- fft --------------------------------------------------------------------------------------
FFT_IN = (E.float32, E.float64, E.complex64, E.complex128)
_NORM = st.sampled_from(["backward", "ortho", "forward"])


def _signal(data: Any, d: Any, min_side: int = 1) -> np.ndarray:
    return S.arr(data, d, S.shape(data, 1, 3, min_side, 6), -1, 1)


for _name, _dts in (("fft.fft", FFT_IN), ("fft.ifft", FFT_IN), ("fft.rfft", S.LINALG),
                    ("fft.ihfft", S.LINALG), ("fft.irfft", S.COMPLEX), ("fft.hfft", S.COMPLEX)):
    @case(_name, "n-axis-norm", _dts, tol=10)
    def _fft1(data: Any, d: Any, _name: str = _name) -> Any:
        inverse_real = _name in ("fft.irfft", "fft.hfft")
        x = _signal(data, d, 2 if inverse_real else 1)
        axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
        n = data.draw(st.one_of(st.none(), st.integers(1, 8)))
        return call(x, n=n, axis=axis, norm=data.draw(_NORM))


for _name, _dts in (("fft.fftn", FFT_IN), ("fft.ifftn", FFT_IN), ("fft.rfftn", S.LINALG),
                    ("fft.irfftn", S.COMPLEX)):
    @case(_name, "s-axes-norm", _dts, tol=10)
    def _fftn(data: Any, d: Any, _name: str = _name) -> Any:
        x = _signal(data, d, 2)
        axes = data.draw(st.one_of(st.none(), st.lists(st.integers(0, x.ndim - 1), min_size=1,
                                                       max_size=x.ndim, unique=True)))
        s = None
        if axes is not None and data.draw(st.booleans()):
            s = tuple(data.draw(st.integers(2, 6)) for _ in axes)
        return call(x, s=s, axes=None if axes is None else tuple(axes), norm=data.draw(_NORM))


for _name in ("fft.fftfreq", "fft.rfftfreq"):
    @case(_name, "n-d", S.LINALG)
    def _freq(data: Any, d: Any) -> Any:
        return call(data.draw(st.integers(1, 10)), d=data.draw(st.sampled_from([1.0, 0.1, 2.5])),
                    dtype=d, backend=BACKEND)

for _name in ("fft.fftshift", "fft.ifftshift"):
    @case(_name, "axes", (E.int32, E.float32, E.complex64))
    def _shift(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data, 1))
        axes = data.draw(st.one_of(st.none(), st.integers(0, x.ndim - 1),
                                   st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1)))
        return call(x, axes=tuple(axes) if isinstance(axes, list) else axes)
