"""Gradient cases of ember.linalg's factorisations, solvers and norms.

Inputs are small (at most 4x4, batches of at most 2) and built from a hypothesis-seeded NumPy
generator so that the ops are differentiable there: matrices well conditioned, spectra and
singular values well apart (and from zero), no ties between the extremes a norm picks, no
entries near the kinks of |x|. Hermitian inputs are parametrised symmetrically (f(a + a^H)) so
that finite differences agree whichever triangle a kernel reads; eigen- and singular vectors
enter through sign- (phase-) invariant functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._grad_cases import GradCall, grad_case

E = ember
F64 = E.float64
C128 = E.complex128
la = E.linalg


def _batch(data: Any) -> tuple[int, ...]:
    return data.draw(st.sampled_from([(), (2,), (2, 1)]), label="batch")


def _size(data: Any, lo: int = 1, hi: int = 4, label: str = "size") -> int:
    return data.draw(st.integers(lo, hi), label=label)


def _gauss(g: np.random.Generator, shape: tuple[int, ...], cplx: bool) -> np.ndarray:
    a = g.standard_normal(shape)
    return a + 1j * g.standard_normal(shape) if cplx else a


def _orthonormal(g: np.random.Generator, batch: tuple[int, ...], n: int, k: int,
                 cplx: bool) -> np.ndarray:
    """(batch, n, k) matrices with orthonormal columns (k <= n)."""
    q, _ = np.linalg.qr(_gauss(g, (*batch, n, k), cplx))
    return q


def _spread(g: np.random.Generator, batch: tuple[int, ...], k: int, lo: float,
            gap: float) -> np.ndarray:
    """(batch, k) values >= lo, each at least ``gap`` from the others (descending)."""
    steps = gap + g.uniform(0, 0.5, (*batch, k))
    return lo + np.flip(np.cumsum(steps, axis=-1), axis=-1)


def _with_singular_values(g: np.random.Generator, batch: tuple[int, ...], m: int, n: int,
                          cplx: bool = False, lo: float = 0.5, gap: float = 0.4) -> np.ndarray:
    """(batch, m, n) matrices U diag(s) V^H with s >= lo, pairwise >= gap apart."""
    k = min(m, n)
    u = _orthonormal(g, batch, m, k, cplx)
    v = _orthonormal(g, batch, n, k, cplx)
    s = _spread(g, batch, k, lo, gap)
    return (u * s[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))


def _half_hermitian(g: np.random.Generator, batch: tuple[int, ...], n: int,
                    cplx: bool = False) -> np.ndarray:
    """Half of a Hermitian matrix whose eigenvalues are >= 0.8 apart (a + a^H is that matrix)."""
    q = _orthonormal(g, batch, n, n, cplx)
    w = _spread(g, batch, n, -2.0, 0.8)
    h = (q * w[..., None, :]) @ np.conj(np.swapaxes(q, -1, -2))
    return h / 2


def _sym(t: Any) -> Any:
    """t + t^H: the Hermitian matrix the case's input parametrises."""
    th = E.matrix_transpose(t)
    return t + (E.conj(th) if t.dtype.is_complex else th)


def _square(data: Any, cplx: bool = False) -> np.ndarray:
    g = S.rng(data)
    return S.well_conditioned(g, _batch(data), _size(data), C128 if cplx else F64)


def _away_from_zero(g: np.random.Generator, shape: tuple[int, ...], cplx: bool) -> np.ndarray:
    """Entries with |x| in [0.3, 2] (no kink of |x| within a finite-difference step)."""
    r = g.uniform(0.3, 2.0, shape)
    if cplx:
        return r * np.exp(1j * g.uniform(-np.pi, np.pi, shape))
    return r * g.choice([-1.0, 1.0], shape)


def _abs2(t: Any) -> Any:
    """|t|^2 element-wise (real): invariant under the sign / phase of a column."""
    return E.real(t * E.conj(t)) if t.dtype.is_complex else t * t


# -- Hermitian input -----------------------------------------------------------------------------
def _cholesky(cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        g = S.rng(data)
        a = S.spd(g, _batch(data), _size(data), C128 if cplx else F64) / 2
        upper = data.draw(st.booleans(), label="upper")
        return GradCall(lambda t: la.cholesky(_sym(t), upper=upper), (a,), note=f"upper={upper}")

    return build


grad_case("linalg.cholesky", second=True)(_cholesky(False))
grad_case("linalg.cholesky", "complex", complex=True)(_cholesky(True))


def _eigh(cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        a = _half_hermitian(S.rng(data), _batch(data), _size(data), cplx)

        def fn(t: Any) -> Any:
            w, v = la.eigh(_sym(t))
            scaled = v * E.astype(E.expand_dims(w * w, axis=-2), v.dtype)
            recon = E.matmul(scaled, E.conj(E.matrix_transpose(v)))
            return w, _abs2(v), recon

        return GradCall(fn, (a,))

    return build


grad_case("linalg.eigh")(_eigh(False))
grad_case("linalg.eigh", "complex", complex=True)(_eigh(True))


def _eigvalsh(cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        a = _half_hermitian(S.rng(data), _batch(data), _size(data), cplx)
        return GradCall(lambda t: la.eigvalsh(_sym(t)), (a,))

    return build


grad_case("linalg.eigvalsh")(_eigvalsh(False))
grad_case("linalg.eigvalsh", "complex", complex=True)(_eigvalsh(True))


# -- determinants, inverse, solve, powers ------------------------------------------------------
def _signed_square(data: Any, cplx: bool) -> np.ndarray:
    """Well-conditioned matrices, the first row negated half the time (negative det)."""
    a = _square(data, cplx)
    if data.draw(st.booleans(), label="flip a row"):
        a[..., 0, :] *= -1
    return a


for _c in (False, True):
    _v = "complex" if _c else ""

    @grad_case("linalg.det", _v, complex=_c)
    def _det(data: Any, _c: bool = _c) -> GradCall:
        return GradCall(la.det, (_signed_square(data, _c),))

    @grad_case("linalg.slogdet", _v, complex=_c)
    def _slogdet(data: Any, _c: bool = _c) -> GradCall:
        return GradCall(lambda t: tuple(la.slogdet(t)), (_signed_square(data, _c),))

    @grad_case("linalg.inv", _v, complex=_c, second=not _c)
    def _inv(data: Any, _c: bool = _c) -> GradCall:
        return GradCall(la.inv, (_square(data, _c),))

    @grad_case("linalg.matrix_power", _v, complex=_c, second=not _c)
    def _matrix_power(data: Any, _c: bool = _c) -> GradCall:
        g = S.rng(data)
        n = _size(data)
        a = S.well_conditioned(g, _batch(data), n, C128 if _c else F64) / (n + 1)  # |eig| ~ 1
        p = data.draw(st.sampled_from([-3, -2, -1, 0, 1, 2, 3, 5]), label="n")
        return GradCall(lambda t: la.matrix_power(t, p), (a,), note=f"n={p}")

    @grad_case("linalg.solve", "matrix" + (" complex" if _c else ""), complex=_c)
    def _solve(data: Any, _c: bool = _c) -> GradCall:
        g = S.rng(data)
        n, k = _size(data), _size(data, 1, 3, "columns")
        b1, b2 = data.draw(st.sampled_from([((), ()), ((2,), ()), ((), (2,)), ((2, 1), (3,)),
                                            ((1,), (2,))]), label="batches")
        a = S.well_conditioned(g, b1, n, C128 if _c else F64)
        b = S.well_conditioned(g, b2, n, C128 if _c else F64, k)
        return GradCall(la.solve, (a, b))

    @grad_case("linalg.solve", "vector" + (" complex" if _c else ""), complex=_c)
    def _solve_vec(data: Any, _c: bool = _c) -> GradCall:
        g = S.rng(data)
        n = _size(data)
        a = S.well_conditioned(g, _batch(data), n, C128 if _c else F64)
        b = _gauss(g, (n,), _c)
        return GradCall(la.solve, (a, b))

    @grad_case("linalg.cross", _v, complex=_c)
    def _cross(data: Any, _c: bool = _c) -> GradCall:
        g = S.rng(data)
        b1, b2 = S.bcast_shapes(data, 2, 0, 2, 1, 2)
        nd = max(len(b1), len(b2)) + 1
        axis = data.draw(st.integers(-nd, nd - 1), label="axis")
        pos = axis % nd
        s1 = list((1,) * (nd - 1 - len(b1)) + b1)
        s2 = list((1,) * (nd - 1 - len(b2)) + b2)
        s1.insert(pos, 3)
        s2.insert(pos, 3)
        x1, x2 = _gauss(g, tuple(s1), _c), _gauss(g, tuple(s2), _c)
        return GradCall(lambda a, b: la.cross(a, b, axis=axis), (x1, x2), note=f"axis={axis}")

    @grad_case("linalg.diagonal", _v, complex=_c)
    def _diagonal(data: Any, _c: bool = _c) -> GradCall:
        g = S.rng(data)
        n, m = _size(data), _size(data, label="columns")
        x = _gauss(g, (*_batch(data), n, m), _c)
        off = data.draw(st.integers(-n, m), label="offset")
        return GradCall(lambda t: la.diagonal(t, offset=off), (x,), note=f"offset={off}")

    @grad_case("linalg.trace", _v, complex=_c)
    def _trace(data: Any, _c: bool = _c) -> GradCall:
        g = S.rng(data)
        n, m = _size(data), _size(data, label="columns")
        x = _gauss(g, (*_batch(data), n, m), _c)
        off = data.draw(st.integers(-n, m), label="offset")
        return GradCall(lambda t: la.trace(t, offset=off), (x,), note=f"offset={off}")


# -- norms ---------------------------------------------------------------------------------------
_VECTOR_ORDS = [2, 1, np.inf, -np.inf, 0, 3, 1.5, 0.5, -1.5]


def _vector_norm(p: float, cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        g = S.rng(data)
        x = _away_from_zero(g, S.shape(data, 1, 3, 1, 3), cplx)
        axes = S.axes_arg(data, x.ndim)
        keep = data.draw(st.booleans(), label="keepdims")
        return GradCall(lambda t: la.vector_norm(t, axis=axes, keepdims=keep, ord=p), (x,),
                        note=f"ord={p} axis={axes} keepdims={keep}")

    return build


for _p in _VECTOR_ORDS:
    grad_case("linalg.vector_norm", f"ord={_p}")(_vector_norm(_p, False))
for _p in (2, 1, np.inf, 3, 0.5):
    grad_case("linalg.vector_norm", f"ord={_p} complex", complex=True)(_vector_norm(_p, True))


@grad_case("linalg.vector_norm", "zero vectors")
def _vector_norm_zero(data: Any) -> GradCall:
    """ord=2 (and p > 1) at a zero vector: the gradient is 0 (a subgradient), not NaN."""
    g = S.rng(data)
    x = _away_from_zero(g, (3, 4), False)
    x[data.draw(st.integers(0, 2), label="zero row")] = 0.0
    p = data.draw(st.sampled_from([2, 3]), label="ord")
    return GradCall(lambda t: la.vector_norm(t, axis=-1, ord=p), (x,), note=f"ord={p}")


def _line_sums_apart(g: np.random.Generator, shape: tuple[int, ...], cplx: bool) -> np.ndarray:
    """Matrices whose column sums and row sums of |x| are each >= 0.05 apart."""
    while True:
        x = _away_from_zero(g, shape, cplx)
        a = np.abs(x)
        gaps = [np.diff(np.sort(a.sum(axis=ax), axis=-1), axis=-1) for ax in (-2, -1)]
        if all(gp.size == 0 or gp.min() > 0.05 for gp in gaps):
            return x


def _matrix_norm(o: Any, cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        g = S.rng(data)
        batch, m, n = _batch(data), _size(data), _size(data, label="columns")
        if o in ("nuc", 2, -2):
            x = _with_singular_values(g, batch, m, n, cplx)
        else:
            x = _line_sums_apart(g, (*batch, m, n), cplx)
        keep = data.draw(st.booleans(), label="keepdims")
        return GradCall(lambda t: la.matrix_norm(t, keepdims=keep, ord=o), (x,),
                        note=f"ord={o} keepdims={keep}")

    return build


for _o in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
    grad_case("linalg.matrix_norm", f"ord={_o}")(_matrix_norm(_o, False))
for _o in ("fro", "nuc", 2, 1, np.inf):
    grad_case("linalg.matrix_norm", f"ord={_o} complex", complex=True)(_matrix_norm(_o, True))


# -- QR, SVD, pseudo-inverse -------------------------------------------------------------------
def _shape_mn(data: Any) -> tuple[int, int]:
    return _size(data, label="rows"), _size(data, label="columns")


def _qr_input(g: np.random.Generator, batch: tuple[int, ...], m: int, n: int,
              cplx: bool) -> np.ndarray:
    """Full rank; for wide input the leading square block is well conditioned too."""
    if m >= n:
        return _with_singular_values(g, batch, m, n, cplx, lo=0.8, gap=0.2)
    x = S.well_conditioned(g, batch, m, C128 if cplx else F64)
    return np.concatenate([x, _gauss(g, (*batch, m, n - m), cplx)], axis=-1)


def _qr(cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        m, n = _shape_mn(data)
        modes = ["reduced", "complete"] if m <= n else ["reduced"]
        mode = data.draw(st.sampled_from(modes), label="mode")
        x = _qr_input(S.rng(data), _batch(data), m, n, cplx)
        return GradCall(lambda t: tuple(la.qr(t, mode=mode)), (x,), note=f"mode={mode}")

    return build


grad_case("linalg.qr")(_qr(False))
grad_case("linalg.qr", "complex", complex=True)(_qr(True))


def _svd(cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        m, n = _shape_mn(data)
        k = min(m, n)
        full = data.draw(st.booleans(), label="full_matrices")
        x = _with_singular_values(S.rng(data), _batch(data), m, n, cplx)

        def fn(t: Any) -> Any:  # only the determined columns, through sign-invariant functions
            u, s, vh = la.svd(t, full_matrices=full)
            u, vh = u[..., :, :k], vh[..., :k, :]
            return s, E.matmul(u, vh), _abs2(u), _abs2(vh)

        return GradCall(fn, (x,), note=f"full_matrices={full}")

    return build


grad_case("linalg.svd")(_svd(False))
grad_case("linalg.svd", "complex", complex=True)(_svd(True))


def _svdvals(cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        m, n = _shape_mn(data)
        return GradCall(la.svdvals, (_with_singular_values(S.rng(data), _batch(data), m, n, cplx),))

    return build


grad_case("linalg.svdvals")(_svdvals(False))
grad_case("linalg.svdvals", "complex", complex=True)(_svdvals(True))


def _pinv(cplx: bool) -> Any:
    def build(data: Any) -> GradCall:
        m, n = _shape_mn(data)
        x = _with_singular_values(S.rng(data), _batch(data), m, n, cplx, lo=0.8, gap=0.2)
        return GradCall(la.pinv, (x,))

    return build


grad_case("linalg.pinv")(_pinv(False))
grad_case("linalg.pinv", "complex", complex=True)(_pinv(True))
