"""Cases of the linear-algebra ops on edge inputs: tolerances given as tensors, ill-posed
matrices (the values every backend gives where they are not errors; the errors are in
``_linalg_failures.py``), zero-size matrices and batches, and non-finite input to ``qr``.
See docs/semantics.md, "Linear algebra failures"."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import call, case
from ._cases_linalg import LA, LAC, _check_eigh, _check_qr, _check_svd, _n, _qr_invariants, _svals

E = ember

# rtol as a tensor (one tolerance per matrix, broadcast to the batch shape): singular values
# and tolerances from grids whose cutoffs (rtol * largest) stay 0.025 or more from every singular
# value, so rounding never decides which are kept
_SV_GRID = (1.0, 1.25, 1.5, 1.75, 2.0)
_RTOL_GRID = (0.0, 0.3, 0.45, 0.55, 0.7, 0.95, 3.0)


def _grid_matrices(data: Any, d: Any, batch: tuple[int, ...]) -> np.ndarray:
    g = S.rng(data)
    n, m = _n(data), _n(data)
    k = min(n, m)
    u = np.linalg.qr(g.standard_normal((*batch, n, n)))[0][..., :k]
    v = np.linalg.qr(g.standard_normal((*batch, m, m)))[0][..., :k]
    sv = -np.sort(-g.choice(_SV_GRID, (*batch, k)), axis=-1)
    a = (u * sv[..., None, :]) @ np.swapaxes(v, -1, -2)
    if d.kind == "c":
        a = a * np.exp(0.3j)
    return a.astype(S.np_dtype(d))


def _rtol_arg(data: Any, batch: tuple[int, ...]) -> Any:
    """None, a float, or an array of the batch shape or one that broadcasts to it (a 0-d
    array, axes of 1, fewer axes), float32 or float64 whatever x's dtype."""
    kind = data.draw(st.sampled_from(["none", "float", "batch", "broadcast"]))
    if kind == "none":
        return None
    if kind == "float":
        return data.draw(st.sampled_from(_RTOL_GRID))
    if kind == "batch":
        shape = batch
    else:
        shape = tuple(data.draw(st.sampled_from([1, n])) for n in batch)
        shape = shape[data.draw(st.integers(0, len(shape))):]
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    return S.rng(data).choice(_RTOL_GRID, shape).astype(dtype)


for _name in ("linalg.pinv", "linalg.matrix_rank"):
    @case(_name, "rtol-tensor", LAC, tol=100)
    def _rtol_case(data: Any, d: Any) -> Any:
        batch = S.shape(data, 0, 2, 0, 3)  # empty batches too
        return call(_grid_matrices(data, d, batch), rtol=_rtol_arg(data, batch))


# --- ill-posed matrices: the values every backend gives (docs/semantics.md, "Linear algebra
# failures"; the errors are in _linalg_failures.py) -----------------------------------------------
def _ill_posed(d: Any) -> np.ndarray:
    """A batch: exactly singular (rows repeat: a zero LU pivot everywhere), zero, NaN entry,
    infinite entry, invertible."""
    nan, inf = float("nan"), float("inf")
    return np.array([[[1, 2], [2, 4]], [[0, 0], [0, 0]], [[nan, 0], [0, 1]], [[inf, 0], [0, 1]],
                     [[2, 1], [1, 3]]], dtype=S.np_dtype(d))


for _name in ("linalg.det", "linalg.slogdet"):
    @case(_name, "singular-nan-inf", LA)
    def _det_ill(data: Any, d: Any) -> Any:
        a = _ill_posed(d)  # det: 0, 0, NaN, inf, 5; slogdet: (0, -inf), (0, -inf), (NaN, NaN), ...
        return call(a[data.draw(st.permutations(range(len(a))))])


@case("linalg.pinv", "singular", LA, tol=100)
def _pinv_singular(data: Any, d: Any) -> Any:
    return call(_ill_posed(d)[[0, 1, 4]])  # pseudo-inverses, not errors


@case("linalg.inv", "sum-overflows", LA, tol=100)
def _inv_huge(data: Any, d: Any) -> Any:
    # finite entries whose sum overflows: not non-finite (torch and MLX screen with the sum)
    big = float(np.finfo(S.np_dtype(d)).max) / 1.5
    return call(np.array([[big, big], [0, 1]], dtype=S.np_dtype(d)))


for _name in ("linalg.inv", "linalg.cholesky", "linalg.eigvalsh", "linalg.svdvals"):
    @case(_name, "empty", LA)
    def _empty_factor(data: Any, d: Any) -> Any:
        return call(np.zeros(data.draw(st.sampled_from([(0, 0), (0, 2, 2), (3, 0, 0)])),
                             dtype=S.np_dtype(d)))


@case("linalg.solve", "empty", LA)
def _solve_empty(data: Any, d: Any) -> Any:
    return call(np.zeros((0, 0), S.np_dtype(d)), np.zeros((0, 2), S.np_dtype(d)))


# --- zero-size matrices and batches, for every op (MLX's reductions and matmul refused some) ----
_EMPTY_SQUARE = [(0, 0), (0, 1, 1), (0, 2, 2), (3, 0, 0), (0, 0, 0), (2, 1, 0, 0)]
_EMPTY_RECT = [*_EMPTY_SQUARE, (2, 0, 3), (2, 3, 0), (0, 2, 3), (0, 3, 2), (1, 0, 1, 2)]


def _zeros_of(data: Any, d: Any, shapes: list[tuple[int, ...]]) -> np.ndarray:
    return np.zeros(data.draw(st.sampled_from(shapes), label="shape"), dtype=S.np_dtype(d))


for _name in ("linalg.det", "linalg.slogdet", "linalg.eigvalsh", "linalg.matrix_power"):
    @case(_name, "zero-size", LAC, examples=25)
    def _empty_square(data: Any, d: Any, _name: str = _name) -> Any:
        x = _zeros_of(data, d, _EMPTY_SQUARE)
        if _name == "linalg.matrix_power":
            return call(x, data.draw(st.sampled_from([-2, -1, 0, 1, 3])))
        return call(x)


for _name in ("linalg.svdvals", "linalg.pinv", "linalg.matrix_rank", "linalg.diagonal",
              "linalg.trace", "linalg.matrix_transpose"):
    @case(_name, "zero-size", LAC, examples=25)
    def _empty_rect(data: Any, d: Any, _name: str = _name) -> Any:
        x = _zeros_of(data, d, _EMPTY_RECT)
        if _name in ("linalg.pinv", "linalg.matrix_rank"):
            return call(x, rtol=_rtol_arg(data, x.shape[:-2]))
        if _name in ("linalg.diagonal", "linalg.trace"):
            return call(x, offset=data.draw(st.integers(-2, 2)))
        return call(x)


@case("linalg.matrix_norm", "zero-size", LAC, examples=25)
def _matrix_norm_empty(data: Any, d: Any) -> Any:
    x = _zeros_of(data, d, _EMPTY_RECT)
    n, m = x.shape[-2:]
    ords: list[Any] = ["fro", "nuc", 1, 2, float("inf")]  # maxima and sums: 0 over nothing
    ords += [-2] * bool(min(n, m)) + [-1] * bool(m) + [float("-inf")] * bool(n)
    return call(x, ord=data.draw(st.sampled_from(ords)), keepdims=data.draw(st.booleans()))


@case("linalg.vector_norm", "zero-size", LAC, examples=25)
def _vector_norm_empty(data: Any, d: Any) -> Any:
    x = _zeros_of(data, d, _EMPTY_RECT)
    ord_ = data.draw(st.sampled_from([2, 1, 0, float("inf"), float("-inf"), 3]))
    return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()), ord=ord_)


@case("linalg.solve", "zero-size", LAC, examples=25)
def _solve_zero_size(data: Any, d: Any) -> Any:
    a = _zeros_of(data, d, _EMPTY_SQUARE)
    return call(a, np.zeros((*a.shape[:-1], data.draw(st.integers(0, 2))), S.np_dtype(d)))


@case("linalg.cross", "zero-size", (E.int32, E.uint16, E.float32, E.complex64), examples=25)
def _cross_empty(data: Any, d: Any) -> Any:
    shape = data.draw(st.sampled_from([(0, 3), (2, 0, 3), (0, 1, 3)]))
    return call(np.zeros(shape, S.np_dtype(d)), np.ones(shape[-1:], S.np_dtype(d)))


for _name in ("matmul", "linalg.outer"):
    @case(_name, "zero-size", (E.int32, E.uint8, E.float32, E.complex64), examples=25)
    def _mm_empty(data: Any, d: Any, _name: str = _name) -> Any:
        if _name == "linalg.outer":
            return call(np.ones(data.draw(st.integers(0, 2)), S.np_dtype(d)),
                        np.ones(data.draw(st.integers(0, 2)), S.np_dtype(d)))
        n, k, m = (data.draw(st.integers(0, 2)) for _ in range(3))
        batch = data.draw(st.sampled_from([(), (0,), (2,), (0, 1)]))
        return call(np.ones((*batch, n, k), S.np_dtype(d)), np.ones((k, m), S.np_dtype(d)))


# factors of zero-size matrices are not unique either (svd of (2, 0, 3): any orthogonal Vh)
@case("linalg.eigh", "zero-size", LAC, check=_check_eigh, examples=25)
def _eigh_empty(data: Any, d: Any) -> Any:
    return call(_zeros_of(data, d, _EMPTY_SQUARE))


@case("linalg.svd", "zero-size", LAC, check=_check_svd, examples=25)
def _svd_empty(data: Any, d: Any) -> Any:
    return call(_zeros_of(data, d, _EMPTY_RECT), full_matrices=data.draw(st.booleans()))


@case("linalg.qr", "zero-size", LAC, check=_check_qr, examples=25)
def _qr_empty(data: Any, d: Any) -> Any:
    return call(_zeros_of(data, d, _EMPTY_RECT), mode=data.draw(st.sampled_from(["reduced",
                                                                             "complete"])))


def _check_qr_nonfinite(actual: Any, expected: Any, args: Any, factor: float) -> None:
    """A matrix with a NaN or infinite entry: Q and R NaN, R exactly +0 below its diagonal
    (docs/semantics.md, "Linear algebra failures"); the finite matrices of the batch factorise
    as usual."""
    a = args[0]
    q, r = actual[0].array, actual[1].array
    bad = ~np.isfinite(a).all(axis=(-2, -1))
    below = np.tril(np.ones(r.shape[-2:], bool), -1)
    for idx in np.ndindex(a.shape[:-2]):
        if not bad[idx]:
            _qr_invariants(q[idx], r[idx], a[idx], expected[1].array[idx], actual[0].dtype,
                           factor)
            continue
        assert np.isnan(q[idx]).all(), f"Q of the non-finite matrix at {idx} is not NaN: {q[idx]}"
        rr = r[idx]
        assert np.isnan(rr[~below]).all(), f"R of the non-finite matrix at {idx}: {rr}"
        assert (rr[below] == 0).all() and not np.signbit(rr[below].real).any(), (
            f"R of the non-finite matrix at {idx} is not +0 below its diagonal: {rr}")


@case("linalg.qr", "non-finite", LAC, check=_check_qr_nonfinite, tol=100)
def _qr_nonfinite(data: Any, d: Any) -> Any:
    g = S.rng(data)
    batch = (data.draw(st.integers(1, 4)),)
    a = _svals(g, batch, _n(data, 1), _n(data, 1), d)
    for i in range(batch[0]):  # NaN or +-inf at random places of some matrices
        if data.draw(st.booleans(), label=f"non-finite {i}"):
            where = tuple(data.draw(st.integers(0, n - 1)) for n in a.shape[-2:])
            a[(i, *where)] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return call(a, mode=data.draw(st.sampled_from(["reduced", "complete"])))
