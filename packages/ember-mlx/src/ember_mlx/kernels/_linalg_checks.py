"""How the MLX linear-algebra kernels find ill-posed input (see ``ember._linalg_errors``).

MLX is lazy and its factorisations report nothing themselves: ``inv``/``solve`` raise a bare
RuntimeError only when their result is evaluated (and the array then reads as garbage), and
``cholesky`` never fails (it returns a half-factored matrix). So a checked kernel evaluates its
result together with one flag, "is any matrix non-finite or failed", in a single ``mx.eval``
(one synchronisation), and works out which matrices failed on the failure path only. Inside
``mx.compile``/``mx.vmap`` traces nothing can be evaluated: the checks are skipped there.
"""

from __future__ import annotations

import math
from typing import Any

import mlx.core as mx
from ember._linalg_errors import NONFINITE, linalg_error

from .._lazy_numpy import np
from ._util import CPU, is_complex

__all__ = ["checked", "evaluate", "failed_cholesky", "iterative", "nonfinite", "singular"]


def nonfinite(x: mx.array) -> Any:
    """Per matrix: does it have a NaN or infinite entry (a NumPy bool array, the batch shape).
    ``x`` must be evaluated: it is read in NumPy, scheduling nothing on MLX's stream (right
    after a LAPACK error, a new MLX evaluation there waited forever once in a CI run: MLX
    0.32.4 on Linux, the svdvals of an infinite matrix)."""
    return np.logical_not(np.all(np.isfinite(np.asarray(x)), axis=(-2, -1)))


def failed_cholesky(factor: mx.array) -> mx.array:
    """Per matrix: did the Cholesky factorisation fail. LAPACK's potrf stops at the first
    non-positive pivot and leaves it (<= 0, or NaN) on the diagonal; a factor's diagonal is
    otherwise positive."""
    d = mx.diagonal(factor, axis1=-2, axis2=-1)
    if is_complex(d.dtype):
        d = mx.real(d)
    return mx.logical_not(mx.all(d > 0, axis=-1))


def singular(x: mx.array) -> mx.array:
    """Per matrix: a zero pivot in its LU factorisation (the failure path of inv/solve)."""
    if is_complex(x.dtype):  # the real embedding [[X, -Y], [Y, X]] is singular with x
        re, im = mx.real(x), mx.imag(x)
        x = mx.concatenate([mx.concatenate([re, -im], axis=-1),
                            mx.concatenate([im, re], axis=-1)], axis=-2)
    lu, _ = mx.linalg.lu_factor(x, stream=CPU)
    return mx.any(mx.diagonal(lu, axis1=-2, axis2=-1) == 0, axis=-1)


def _flags(mask: Any) -> list[bool]:
    return [bool(b) for b in np.asarray(mask).ravel()]


def evaluate(*arrays: Any) -> bool:
    """Evaluate now; False inside a compile/vmap trace (MLX forbids evaluating there)."""
    try:
        mx.eval(*arrays)
    except ValueError as exc:
        if "transformations" in str(exc):
            return False
        raise
    return True


def checked(op: str, x: mx.array, out: Any, problem: str, *, failed: mx.array | None = None,
            on_error: Any = None, name: str | None = None, finite: mx.array | None = None) -> Any:
    """``out`` (an array or a tuple), evaluated, once no matrix of ``x`` is non-finite and
    none ``failed`` (a per-matrix mask); else LinAlgError(problem). ``on_error(x)`` gives the
    per-matrix mask when evaluating ``out`` raises (MLX's LAPACK error), None: not known which.
    ``finite``: the per-matrix "all entries finite" mask, where the caller has it already.
    """
    if x.size == 0:  # no entries, nothing to check (and MLX's reductions of empty arrays can
        return out  # stall for seconds, see _util.safe_reduce)
    if finite is None:
        # a matrix's sum is NaN or infinite if an entry is (cheaper than isfinite of every
        # entry); a sum that only overflowed is told apart on the failure path
        flag = mx.logical_not(mx.all(mx.isfinite(mx.sum(x, axis=(-2, -1)))))
    else:
        flag = mx.logical_not(mx.all(finite))
    if failed is not None:
        flag = mx.logical_or(flag, mx.any(failed))
    outs = out if isinstance(out, tuple) else (out,)
    try:
        if not evaluate(flag, *outs):
            return out
    except RuntimeError as exc:  # LAPACK failed (MLX says so only when evaluating)
        _raise_nonfinite(op, x, name)
        mask = None if on_error is None else _flags(on_error(x))
        raise linalg_error(op, problem, x.shape, x.dtype, mask, name=name) from exc
    if flag.item():
        _raise_nonfinite(op, x, name)
        if failed is not None and bool(mx.any(failed).item()):
            raise linalg_error(op, problem, x.shape, x.dtype, _flags(failed), name=name)
    return out


def iterative(op: str, x: mx.array, factor: Any, problem: str) -> Any:
    """``checked(op, x, factor(x), problem)`` for LAPACK's iterative factorisations (eigh, svd),
    which must never see a NaN or infinity: on such input LAPACK may iterate forever, and a
    later MLX evaluation can wait forever after it (MLX 0.32.4 on Linux: a CI run hung in the
    svdvals of an infinite matrix). ``factor`` gets ``x`` with its non-finite matrices zeroed;
    those matrices still raise NONFINITE here, and inside compile/vmap traces (no check) their
    results are NaN, as a factorisation of NaN input gives."""
    if x.size == 0:
        return checked(op, x, factor(x), problem)
    keep = mx.all(mx.isfinite(x), axis=(-2, -1), keepdims=True)
    out = factor(mx.where(keep, x, 0.0))
    outs = out if isinstance(out, tuple) else (out,)
    # a result of the batch shape plus one axis (values) or two (vectors); keep is (..., 1, 1)
    outs = tuple(mx.where(keep if o.ndim == x.ndim else keep[..., 0], o, math.nan) for o in outs)
    return checked(op, x, outs if isinstance(out, tuple) else outs[0], problem, finite=keep)


def _raise_nonfinite(op: str, x: mx.array, name: str | None) -> None:
    """LinAlgError(NONFINITE) when a matrix of ``x`` (evaluated: the failed or flagged
    evaluation computed it) has a NaN or infinity."""
    bad = nonfinite(x)
    if bool(np.any(bad)):
        raise linalg_error(op, NONFINITE, x.shape, x.dtype, _flags(bad), name=name) from None
