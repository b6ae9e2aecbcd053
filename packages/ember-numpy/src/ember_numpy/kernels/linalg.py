"""Linear algebra kernels (LAPACK through numpy.linalg). All act on the last two axes and
broadcast over leading (batch) axes; multi-output kernels return plain tuples.

Ill-posed input raises ``ember.LinAlgError`` (see ``ember._linalg_errors``): the factorising
kernels first check that every entry is finite (one pass, far cheaper than the factorisation),
and LAPACK's own failure (a zero pivot, a non-positive-definite minor) is traced to the
failing matrices of a batch on the failure path only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from ember._linalg_errors import (
    NONFINITE,
    NOT_CONVERGED,
    NOT_PD,
    SINGULAR,
    failing,
    linalg_error,
)

__all__ = [
    "linalg_cholesky", "linalg_cross", "linalg_det", "linalg_diagonal", "linalg_eigh",
    "linalg_eigvalsh", "linalg_inv", "linalg_matrix_norm", "linalg_matrix_power",
    "linalg_matrix_rank", "linalg_pinv", "linalg_qr", "linalg_slogdet", "linalg_solve",
    "linalg_svd", "linalg_svdvals", "linalg_trace", "linalg_vector_norm", "matmul", "tensordot",
]  # fmt: skip

matmul = np.matmul


def tensordot(x1: Any, x2: Any, axes: tuple[tuple[int, ...], tuple[int, ...]]) -> Any:
    return np.tensordot(x1, x2, axes=axes)


def _finite(op: str, x: np.ndarray, name: str | None = None) -> None:
    """LinAlgError naming the matrices of ``x`` with a NaN or infinite entry, if any."""
    if x.dtype.kind in "fc" and not np.isfinite(x).all():
        bad = ~np.isfinite(x).all(axis=(-2, -1))
        raise linalg_error(op, NONFINITE, x.shape, x.dtype, np.ravel(bad).tolist(), name=name)


def _factor(op: str, problem: str, fn: Callable[..., Any], x: np.ndarray, *args: Any,
            each: Callable[[Any], Any] | None = None, name: str | None = None) -> Any:
    """``fn(x, *args)`` for finite ``x``; LAPACK's failure becomes LinAlgError(problem) naming
    the matrices that fail ``each`` (``fn`` by default) one by one."""
    _finite(op, x, name)
    try:
        return fn(x, *args)
    except np.linalg.LinAlgError:
        one = each if each is not None else (lambda m: fn(m, *args))
        bad = failing(one, x, np.linalg.LinAlgError)
        raise linalg_error(op, problem, x.shape, x.dtype, bad, name=name) from None


def linalg_cholesky(x: Any, upper: bool) -> np.ndarray:
    """Lower factor ``L`` (``x = L L^H``) or, with ``upper``, ``U = L^H`` (``x = U^H U``)."""
    low = _factor("linalg.cholesky", NOT_PD, np.linalg.cholesky, np.asarray(x))
    return np.conj(np.swapaxes(low, -1, -2)) if upper else low


def linalg_cross(x1: Any, x2: Any, axis: int) -> np.ndarray:
    """Cross product of 3-vectors along ``axis`` of the broadcast shape."""
    x1, x2 = np.broadcast_arrays(x1, x2)
    return np.cross(x1, x2, axis=axis)


linalg_det = np.linalg.det


def linalg_inv(x: Any) -> np.ndarray:
    return _factor("linalg.inv", SINGULAR, np.linalg.inv, np.asarray(x))


def linalg_eigvalsh(x: Any) -> np.ndarray:
    return _factor("linalg.eigvalsh", NOT_CONVERGED, np.linalg.eigvalsh, np.asarray(x))


def linalg_diagonal(x: Any, offset: int) -> np.ndarray:
    return np.diagonal(x, offset, axis1=-2, axis2=-1)


def linalg_eigh(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """(eigenvalues ascending, eigenvectors as columns)."""
    w, v = _factor("linalg.eigh", NOT_CONVERGED, np.linalg.eigh, np.asarray(x))
    return w, v


def linalg_matrix_norm(x: Any, keepdims: bool, ord: Any) -> Any:
    """Norm of the last two axes: 'fro', 'nuc', 1, -1, 2, -2, inf or -inf (real dtype result)."""
    if ord in (2, -2, "nuc"):  # from singular values: svdvals' rules
        _finite("linalg.matrix_norm", np.asarray(x))
    return np.linalg.norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def linalg_matrix_power(x: Any, n: int) -> np.ndarray:
    if n < 0:
        x = _factor("linalg.matrix_power", SINGULAR, np.linalg.inv, np.asarray(x))
        n = -n
    return np.linalg.matrix_power(x, n)


def _eps(x: np.ndarray) -> float:
    return float(np.finfo(x.dtype).eps)


def _cutoff(x: np.ndarray, s: np.ndarray, rtol: Any) -> np.ndarray:
    """``rtol * max(singular value)`` per matrix; ``rtol=None`` means ``max(M, N) * eps``."""
    if rtol is None:
        rtol = max(x.shape[-2:]) * _eps(s)
    else:
        rtol = np.asarray(rtol)[..., np.newaxis]
    return rtol * np.max(s, axis=-1, keepdims=True, initial=0)


def linalg_matrix_rank(x: Any, rtol: Any) -> np.ndarray:
    """Number of singular values above ``rtol * max(singular value)`` (int64)."""
    x = np.asarray(x)
    s = linalg_svdvals(x, "linalg.matrix_rank")
    return np.count_nonzero(s > _cutoff(x, s, rtol), axis=-1).astype(np.int64)


def linalg_pinv(x: Any, rtol: Any) -> np.ndarray:
    """Moore-Penrose pseudo-inverse, dropping singular values ``<= rtol * max(s)``."""
    x = np.asarray(x)
    u, s, vh = _factor("linalg.pinv", NOT_CONVERGED, np.linalg.svd, x, False)
    keep = s > _cutoff(x, s, rtol)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_inv = np.where(keep, 1 / np.where(keep, s, 1), 0).astype(s.dtype)
    vt = np.conj(np.swapaxes(vh, -1, -2))
    ut = np.conj(np.swapaxes(u, -1, -2))
    return np.matmul(vt * s_inv[..., np.newaxis, :], ut)


def linalg_qr(x: Any, mode: Any) -> tuple[np.ndarray, np.ndarray]:
    """(Q, R); a matrix with a NaN or infinite entry gives NaN factors, R zero below its
    diagonal (LAPACK leaves a mix of NaN, infinities and numbers there, unlike other libraries)."""
    q, r = np.linalg.qr(x, mode=mode)
    if x.size and not np.isfinite(x).all():
        good = np.isfinite(x).all(axis=(-2, -1), keepdims=True)
        nan = np.asarray(complex(np.nan, np.nan) if x.dtype.kind == "c" else np.nan, q.dtype)
        q = np.where(good, q, nan)
        r = np.where(good, r, np.triu(np.broadcast_to(nan, r.shape[-2:])))
    return q, r


def linalg_slogdet(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """(sign, log|det|); sign is 0 and log|det| is -inf for singular matrices."""
    sign, logabsdet = np.linalg.slogdet(x)
    nan = np.isnan(logabsdet)
    if nan.any():  # NaN entries: the sign is NaN too (LAPACK leaves it 1 or 0)
        sign = np.where(nan, np.asarray(np.nan, sign.dtype), sign)
    return sign, logabsdet


def linalg_solve(x1: Any, x2: Any) -> np.ndarray:
    """Solve ``x1 @ out = x2``; ``x2`` is a vector only when 1-d (NumPy >= 2 semantics)."""
    x1, x2 = np.asarray(x1), np.asarray(x2)
    vec = x2.ndim == 1
    out = _factor("linalg.solve", SINGULAR, np.linalg.solve, x1, x2[:, np.newaxis] if vec else x2,
                  each=np.linalg.inv, name="x1")
    return out[..., 0] if vec else out


def linalg_svd(x: Any, full_matrices: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U, S, Vh) with S descending and ``x = U @ diag(S) @ Vh``."""
    u, s, vh = _factor("linalg.svd", NOT_CONVERGED, np.linalg.svd, np.asarray(x), full_matrices)
    return u, s, vh


def linalg_svdvals(x: Any, op: str = "linalg.svdvals") -> np.ndarray:
    return _factor(op, NOT_CONVERGED, np.linalg.svd, np.asarray(x), False, False)


def linalg_trace(x: Any, offset: int, dtype: Any) -> Any:
    """Sum of diagonal ``offset`` of the last two axes; ``dtype=None`` keeps ``x``'s dtype."""
    if dtype is None:
        dtype = np.dtype(np.int64) if x.dtype.kind == "b" else x.dtype
    return np.trace(x, offset, axis1=-2, axis2=-1, dtype=dtype)


def linalg_vector_norm(
    x: Any,
    axis: tuple[int, ...] | None,
    keepdims: bool,
    ord: Any,
) -> Any:
    """p-norm over ``axis`` for any real ``ord`` (0 counts non-zeros, +-inf is max/min |x|).

    The result has the real dtype of ``x``. Empty reductions give 0 (``ord=-inf``: inf).
    """
    a = np.abs(x)
    if a.dtype.kind not in "f":
        a = a.astype(np.float64)
    if ord == np.inf:
        return np.max(a, axis=axis, keepdims=keepdims, initial=0)
    if ord == -np.inf:
        return np.min(a, axis=axis, keepdims=keepdims, initial=np.inf)
    if ord == 0:
        return np.sum(a != 0, axis=axis, keepdims=keepdims, dtype=a.dtype)
    if ord == 1:
        return np.sum(a, axis=axis, keepdims=keepdims)
    if ord == 2:
        return np.sqrt(np.sum(a * a, axis=axis, keepdims=keepdims))
    with np.errstate(divide="ignore"):
        return np.power(np.sum(a**ord, axis=axis, keepdims=keepdims), 1.0 / ord)
