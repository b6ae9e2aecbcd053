"""Inverses, solves, factorisations and what is computed from them (rank, pseudo-inverse,
matrix powers). MLX's factorisations run only on the CPU stream (``stream=CPU``)."""

from __future__ import annotations

import contextlib
import math

import mlx.core as mx
from ember._linalg_errors import NOT_CONVERGED, NOT_PD, SINGULAR
from ember._squaring import power_by_squaring

from ..._lazy_numpy import np
from .._linalg_checks import checked, evaluate, failed_cholesky, iterative, singular
from .._util import CPU, from_numpy, is_complex, to_host
from ._products import matmul
from ._reduce import max0, safe_sum


def _batch(a, b):
    """Broadcast the batch dimensions of two stacks of matrices."""
    batch = mx.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return (mx.broadcast_to(a, batch + a.shape[-2:]), mx.broadcast_to(b, batch + b.shape[-2:]))


def _embed(a):
    """Complex (..., n, m) -> the real (..., 2n, 2m) matrix [[X, -Y], [Y, X]]."""
    x, y = mx.real(a), mx.imag(a)
    return mx.concatenate(
        [mx.concatenate([x, -y], axis=-1), mx.concatenate([y, x], axis=-1)], axis=-2
    )


def _unembed(r, n, m):
    return r[..., :n, :m] + 1j * r[..., n:, :m]


def _inv(x, op):
    if x.shape[-1] == 0:  # MLX's LU divides by zero (SIGFPE) on 0 x 0 matrices
        return mx.zeros(x.shape, dtype=x.dtype)
    if is_complex(x.dtype):
        n = x.shape[-1]
        out = _unembed(mx.linalg.inv(_embed(x), stream=CPU), n, n)
    else:
        out = mx.linalg.inv(x, stream=CPU)
    return checked(op, x, out, SINGULAR, on_error=singular)


def linalg_inv(x):
    return _inv(x, "linalg.inv")


def linalg_solve(x1, x2):
    a = x1
    vec = x2.ndim == 1
    if vec:
        x2 = x2[:, None]
    x1, x2 = _batch(x1, x2)
    if x1.shape[-1] == 0:  # see _inv
        out = mx.zeros(x2.shape, dtype=x2.dtype)
        return out[..., 0] if vec else out
    if is_complex(x1.dtype):
        n = x1.shape[-1]
        b = mx.concatenate([mx.real(x2), mx.imag(x2)], axis=-2)
        r = mx.linalg.solve(_embed(x1), b, stream=CPU)
        out = r[..., :n, :] + 1j * r[..., n:, :]
    else:
        out = mx.linalg.solve(x1, x2, stream=CPU)
    out = checked("linalg.solve", a, out, SINGULAR, on_error=singular, name="x1")
    return out[..., 0] if vec else out


def _host_complex(fn, x, *args):
    """MLX's factorisations are real-only: complex64 goes through NumPy on the host."""
    out = fn(to_host(x), *args)
    if isinstance(out, tuple):
        return tuple(from_numpy(o.astype(_NP_OF[o.dtype.kind])) for o in out)
    return from_numpy(out.astype(_NP_OF[out.dtype.kind]))


_NP_OF = {"c": "complex64", "f": "float32", "i": "int64"}


def _host_float64(fn, x, *args):
    """float64 through NumPy on the host, results kept in float64 (MLX loses precision here)."""
    out = fn(to_host(x), *args)
    if isinstance(out, tuple):
        return tuple(from_numpy(np.asarray(o, dtype=np.float64)) for o in out)
    return from_numpy(np.asarray(out, dtype=np.float64))


def linalg_cholesky(x, upper):
    if is_complex(x.dtype):  # NumPy's LAPACK on the host: it reports failure itself
        def host(a):
            try:
                return np.linalg.cholesky(a, upper=upper)
            except np.linalg.LinAlgError:  # the failing matrices become NaN: flagged below
                out = np.full(a.shape, np.nan, a.dtype)
                for idx in np.ndindex(a.shape[:-2]):
                    with contextlib.suppress(np.linalg.LinAlgError):
                        out[idx] = np.linalg.cholesky(a[idx], upper=upper)
                return out

        out = _host_complex(host, x)
    else:
        out = mx.linalg.cholesky(x, upper=upper, stream=CPU)
    return checked("linalg.cholesky", x, out, NOT_PD, failed=failed_cholesky(out))


def linalg_det(x):
    # complex: MLX's LU is real-only; float64: MLX's det comes back with float32 precision
    if x.dtype == mx.float64:
        return _host_float64(np.linalg.det, x)
    if is_complex(x.dtype):
        return _host_complex(np.linalg.det, x)
    if x.shape[-1] == 0:
        return mx.ones(x.shape[:-2], dtype=x.dtype)
    return mx.linalg.det(x, stream=CPU)


def linalg_slogdet(x):
    if x.dtype == mx.float64:  # see linalg_det
        return _nan_sign(*_host_float64(lambda a: tuple(np.linalg.slogdet(a)), x))
    if is_complex(x.dtype):
        return _nan_sign(*_host_complex(lambda a: tuple(np.linalg.slogdet(a)), x))
    if x.shape[-1] == 0:
        return mx.ones(x.shape[:-2], dtype=x.dtype), mx.zeros(x.shape[:-2], dtype=x.dtype)
    sign, logabs = mx.linalg.slogdet(x, stream=CPU)
    return _nan_sign(sign, logabs)


def _nan_sign(sign, logabs):
    """NaN entries: the sign is NaN too (LAPACK leaves it 1 or 0), as on every backend."""
    return mx.where(mx.isnan(logabs), logabs.astype(sign.dtype), sign), logabs


def linalg_eigh(x):
    w, v = iterative("linalg.eigh", x, lambda a: tuple(mx.linalg.eigh(a, stream=CPU)),
                     NOT_CONVERGED)
    return w, v


def linalg_eigvalsh(x):
    return iterative("linalg.eigvalsh", x, lambda a: mx.linalg.eigvalsh(a, stream=CPU),
                     NOT_CONVERGED)


def linalg_svd(x, full_matrices, op="linalg.svd"):
    u, s, vh = iterative(op, x, lambda a: tuple(mx.linalg.svd(a, compute_uv=True, stream=CPU)),
                         NOT_CONVERGED)
    if not full_matrices:
        k = min(x.shape[-2], x.shape[-1])
        u, vh = u[..., :, :k], vh[..., :k, :]
    return u, s, vh


def linalg_svdvals(x, op="linalg.svdvals"):
    return iterative(op, x, lambda a: mx.linalg.svd(a, compute_uv=False, stream=CPU),
                     NOT_CONVERGED)


def linalg_qr(x, mode):
    """(Q, R); a matrix with a NaN or infinite entry gives NaN factors, R zero below its
    diagonal, as on every backend. The factors are evaluated with one flag (finite input costs
    that flag); inside compile/vmap traces the NaNs are put elementwise."""
    if is_complex(x.dtype):
        q, r = _host_complex(lambda a: tuple(np.linalg.qr(a, mode=mode)), x)
    else:
        q, r = _qr_real(x, mode)
    if x.size == 0:
        return q, r
    finite = mx.all(mx.isfinite(x))
    if evaluate(q, r, finite) and finite.item():
        return q, r
    good = mx.all(mx.isfinite(x), axis=(-2, -1), keepdims=True)
    nan = mx.array(complex(math.nan, math.nan) if is_complex(x.dtype) else math.nan, q.dtype)
    return mx.where(good, q, nan), mx.where(good, r, _triu(mx.broadcast_to(nan, r.shape[-2:])))


def _qr_real(x, mode):
    m, n = x.shape[-2], x.shape[-1]
    if mode == "complete" and m > n:
        # Householder QR of [x, I[:, :m-n]]: its first n columns factor x, and Q is square
        extra = mx.broadcast_to(mx.eye(m, m - n, dtype=x.dtype), x.shape[:-2] + (m, m - n))
        q, r = mx.linalg.qr(mx.concatenate([x, extra], axis=-1), stream=CPU)
        return q, mx.triu(r[..., :, :n]) if r.ndim == 2 else _triu(r[..., :, :n])
    q, r = mx.linalg.qr(x, stream=CPU)
    return q, r


def _triu(r):
    keep = mx.logical_not(mx.tri(r.shape[-2], r.shape[-1], -1, dtype=mx.bool_))
    return mx.where(keep, r, mx.zeros((), dtype=r.dtype))


def linalg_matrix_power(x, n):
    if n == 0:
        return mx.broadcast_to(mx.eye(x.shape[-1], dtype=x.dtype), x.shape)
    if n < 0:
        x, n = _inv(x, "linalg.matrix_power"), -n
    return power_by_squaring(x, n, matmul)


_EPS = {
    mx.float16: 2.0**-10,
    mx.bfloat16: 2.0**-7,
    mx.float32: 2.0**-23,
    mx.float64: 2.0**-52,
    mx.complex64: 2.0**-23,
}


def _default_rtol(x):
    return max(x.shape[-2], x.shape[-1]) * _EPS[x.dtype]


def _cutoff(x, s, rtol):
    """``rtol * max(singular value)`` per matrix, shape (..., 1); rtol comes as None, a float
    or an array of the batch shape (ember-core broadcasts it)."""
    tol = _default_rtol(x) if rtol is None else rtol
    if isinstance(tol, mx.array):
        tol = tol[..., None]
    return max0(s, axis=-1, keepdims=True) * tol


def linalg_matrix_rank(x, rtol):
    if x.size == 0:  # no singular values (or no matrices): rank 0
        return mx.zeros(x.shape[:-2], dtype=mx.int64)
    s = linalg_svdvals(x, "linalg.matrix_rank")
    return safe_sum(s > _cutoff(x, s, rtol), axis=-1).astype(mx.int64)


def linalg_pinv(x, rtol):
    if x.size == 0:  # the (..., m, n) result is empty too; MLX's reductions refuse empty axes
        return mx.zeros(x.shape[:-2] + (x.shape[-1], x.shape[-2]), dtype=x.dtype)
    if is_complex(x.dtype):
        if isinstance(rtol, mx.array):
            rtol = to_host(rtol)
        # the host's SVD gets the non-finite matrices zeroed too (it would raise on them)
        return iterative("linalg.pinv", x,
                         lambda a: _host_complex(lambda h: np.linalg.pinv(h, rtol=rtol), a),
                         NOT_CONVERGED)
    u, s, vh = linalg_svd(x, False, "linalg.pinv")
    cutoff = _cutoff(x, s, rtol)
    sinv = mx.where(s > cutoff, 1 / mx.where(s > cutoff, s, 1), mx.zeros((), dtype=s.dtype))
    return mx.matmul(mx.swapaxes(vh, -1, -2) * sinv[..., None, :], mx.swapaxes(u, -1, -2))
