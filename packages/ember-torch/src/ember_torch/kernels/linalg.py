"""Linear algebra kernels (ember sends floating-point or complex input, except to matmul).

Ill-posed input raises ``ember.LinAlgError`` (see ``ember._linalg_errors``): ``inv``, ``solve``
and ``cholesky`` run torch's ``*_ex`` forms and read their ``info`` together with a check that
every entry is finite in one host read (torch's own forms read ``info`` too); the other
factorisations check finiteness first. Under ``torch.compile`` the check runs outside the graph
(a graph break). Inside ``torch.func.vmap`` nothing can be read on the host: torch's own checks
run there (singular and not-positive-definite input still raise, without the batch index;
non-finite input is not checked).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from ember._linalg_errors import NONFINITE, NOT_CONVERGED, NOT_PD, SINGULAR, linalg_error

from ._int_matmul import INTEGRAL, contract, exact_int_matmul, int_matrix_power, integral
from ._outside_graph import outside_graph
from ._util import UNSIGNED_WIDE, Tensor, narrow, widen
from .statistical import sum

__all__ = [
    "linalg_cholesky", "linalg_cross", "linalg_det", "linalg_diagonal", "linalg_eigh",
    "linalg_eigvalsh", "linalg_inv", "linalg_matrix_norm", "linalg_matrix_power",
    "linalg_matrix_rank", "linalg_pinv", "linalg_qr", "linalg_slogdet", "linalg_solve",
    "linalg_svd", "linalg_svdvals", "linalg_trace", "linalg_vector_norm", "matmul", "tensordot",
]


def matmul(x1: Tensor, x2: Tensor) -> Tensor:
    dt = x1.dtype
    if dt not in INTEGRAL:  # floating point and complex (nearly every call): torch's own
        return torch.matmul(x1, x2)
    if x1.device.type != "cpu":  # CUDA has no integer mm/dot kernels
        return exact_int_matmul(x1, x2)
    if dt in UNSIGNED_WIDE:  # wrapping products agree modulo 2**bits
        return narrow(torch.matmul(widen(x1), widen(x2)), dt)
    if dt is torch.bool:  # NumPy: logical or of ands (counted in int64: uint8 would wrap)
        return torch.matmul(x1.to(torch.int64), x2.to(torch.int64)) != 0
    return torch.matmul(x1, x2)


def tensordot(x1: Tensor, x2: Tensor, axes: tuple[tuple[int, ...], tuple[int, ...]]) -> Tensor:
    dt = x1.dtype
    if integral(dt) and x1.device.type != "cpu":
        return contract(exact_int_matmul, x1, x2, axes)
    if dt in UNSIGNED_WIDE:
        return narrow(torch.tensordot(widen(x1), widen(x2), dims=axes), dt)
    return torch.tensordot(x1, x2, dims=(list(axes[0]), list(axes[1])))


def _vmapped(x: Tensor) -> bool:
    """Inside torch.func.vmap (a batched tensor): no host reads (torch's own checks run)."""
    return bool(torch._C._functorch.is_batchedtensor(x))


def _nonfinite(x: Tensor) -> Tensor:
    """Per matrix: does it have a NaN or infinite entry (a bool tensor of the batch shape)."""
    return ~torch.isfinite(x).flatten(-2).all(-1)


def _flags(mask: Tensor) -> list[bool]:
    return [bool(b) for b in mask.flatten().tolist()]


@outside_graph  # a host read: under torch.compile, run it outside the graph
def _check(op: str, x: Tensor, info: Tensor | None, problem: str,
           name: str | None = None) -> None:
    """Raise LinAlgError if a matrix of ``x`` has a NaN or infinite entry, or ``info`` (LAPACK's
    per-matrix status: 0 for success) says its factorisation failed. One host read of one
    number when nothing failed: the sum of all entries times 0 is NaN if an entry is NaN or
    infinite (a sum that only overflowed is told apart on the failure path), plus the sum of
    ``info``. Few small kernels: on a GPU each launch costs as much as the check itself."""
    flag = x.sum() * 0
    if info is not None:
        flag = flag + info.sum()
    if flag.item() == 0:
        return
    bad = _nonfinite(x)
    if bool(bad.any()):
        raise linalg_error(op, NONFINITE, x.shape, x.dtype, _flags(bad), name=name)
    if info is not None and bool((info != 0).any()):
        raise linalg_error(op, problem, x.shape, x.dtype, _flags(info != 0), name=name)


def _native(op: str, problem: str, fn: Callable[..., Any], x: Tensor, *args: Any,
            name: str | None = None) -> Any:
    """``fn(x, *args)`` (a torch op that checks its own result), its error as LinAlgError."""
    try:
        return fn(x, *args)
    except torch.linalg.LinAlgError as exc:
        raise linalg_error(op, problem, x.shape, x.dtype, name=name) from exc


def _factor(op: str, fn: Callable[..., Any], x: Tensor, *args: Any) -> Any:
    """A factorisation that fails only on non-finite input (or by not converging)."""
    if not _vmapped(x):
        _check(op, x, None, NOT_CONVERGED)
    return _native(op, NOT_CONVERGED, fn, x, *args)


def linalg_cholesky(x: Tensor, upper: bool) -> Tensor:
    if _vmapped(x):
        return _native("linalg.cholesky", NOT_PD,
                       lambda a: torch.linalg.cholesky(a, upper=upper), x)
    out, info = torch.linalg.cholesky_ex(x, upper=upper)
    _check("linalg.cholesky", x, info, NOT_PD)
    return out


def linalg_cross(x1: Tensor, x2: Tensor, axis: int) -> Tensor:
    dt = x1.dtype
    if dt in UNSIGNED_WIDE:  # torch has no uint16+ cross; wrapping agrees modulo 2**bits
        return narrow(torch.linalg.cross(widen(x1), widen(x2), dim=axis), dt)
    return torch.linalg.cross(x1, x2, dim=axis)


linalg_det = torch.linalg.det


def linalg_diagonal(x: Tensor, offset: int) -> Tensor:
    return torch.diagonal(x, offset, -2, -1)


def linalg_eigh(x: Tensor) -> tuple[Tensor, Tensor]:
    w, v = _factor("linalg.eigh", torch.linalg.eigh, x)  # eigenvalues ascending, like NumPy
    return w, v


def linalg_eigvalsh(x: Tensor) -> Tensor:
    return _factor("linalg.eigvalsh", torch.linalg.eigvalsh, x)


def _inv(x: Tensor, op: str) -> Tensor:
    if _vmapped(x):
        return _native(op, SINGULAR, torch.linalg.inv, x)
    out, info = torch.linalg.inv_ex(x)
    _check(op, x, info, SINGULAR)
    return out


def linalg_inv(x: Tensor) -> Tensor:
    return _inv(x, "linalg.inv")


def linalg_matrix_norm(x: Tensor, keepdims: bool, ord: Any) -> Tensor:
    if ord in (2, -2, "nuc") and not _vmapped(x):  # from singular values: svdvals' rules
        _check("linalg.matrix_norm", x, None, NOT_CONVERGED)
    return torch.linalg.matrix_norm(x, ord=ord, dim=(-2, -1), keepdim=keepdims)


def linalg_matrix_power(x: Tensor, n: int) -> Tensor:
    if n < 0:
        x, n = _inv(x, "linalg.matrix_power"), -n
    if integral(x.dtype) and x.device.type != "cpu":  # see matmul
        return int_matrix_power(x, n)
    return torch.linalg.matrix_power(x, n)


def linalg_matrix_rank(x: Tensor, rtol: Any) -> Tensor:
    # rtol None: max(M, N) * eps, the Array API default (torch's default too); a tensor rtol
    # comes broadcast to the batch shape (torch reads it per matrix, as NumPy does)
    return _factor("linalg.matrix_rank", lambda a: torch.linalg.matrix_rank(a, rtol=rtol), x)


def linalg_pinv(x: Tensor, rtol: Any) -> Tensor:
    return _factor("linalg.pinv", lambda a: torch.linalg.pinv(a, rtol=rtol), x)


def linalg_qr(x: Tensor, mode: str) -> tuple[Tensor, Tensor]:
    """(Q, R); a matrix with a NaN or infinite entry gives NaN factors, R zero below its
    diagonal, as on every backend. On the CPU one host read skips that for finite input; on a
    GPU (and under vmap or torch.compile) it is elementwise, with no synchronisation. LAPACK
    returns the factors column-major; they come back row-major like any other result, so a
    weight drawn from them (``init.orthogonal``) computes and round-trips through a checkpoint
    as any other (a matrix product rounds by its operands' layout)."""
    q, r = torch.linalg.qr(x, mode=mode)
    q, r = q.contiguous(), r.contiguous()
    if x.numel() == 0:
        return q, r
    if x.device.type == "cpu" and not _vmapped(x) and not torch.compiler.is_compiling() \
            and bool(torch.isfinite(x).all()):
        return q, r
    good = torch.isfinite(x).flatten(-2).all(-1)[..., None, None]
    nan = torch.full((), complex(math.nan, math.nan) if x.is_complex() else math.nan,
                     dtype=q.dtype, device=q.device)
    return torch.where(good, q, nan), torch.where(good, r, nan.expand(r.shape[-2:]).triu())


def linalg_slogdet(x: Tensor) -> tuple[Tensor, Tensor]:
    sign, logabsdet = torch.linalg.slogdet(x)
    # NaN entries: the sign is NaN too (torch leaves it 0), as on every backend
    return torch.where(logabsdet.isnan(), logabsdet.to(sign.dtype), sign), logabsdet


def linalg_solve(x1: Tensor, x2: Tensor) -> Tensor:
    # NumPy 2 / Array API: x2 is a vector only when it is 1-d. torch also reads x2 of shape
    # x1.shape[:-1] as a batch of vectors; add a batch axis to x1 to force the matrix reading.
    squeeze = x2.ndim >= 2 and x2.ndim == x1.ndim - 1 and x2.shape == x1.shape[:-1]
    a = x1.unsqueeze(0) if squeeze else x1
    if _vmapped(x1) or _vmapped(x2):
        out = _native("linalg.solve", SINGULAR, torch.linalg.solve, a, x2, name="x1")
    else:
        out, info = torch.linalg.solve_ex(a, x2)
        _check_solve(x1, info)
    return out.squeeze(0) if squeeze and out.ndim > x1.ndim else out


@outside_graph  # see _check
def _check_solve(x1: Tensor, info: Tensor) -> None:
    if (x1.sum() * 0 + info.sum()).item() != 0:  # which matrices of x1 failed (x2 may
        lu_info = torch.linalg.lu_factor_ex(x1).info  # broadcast x1's batch): LU of x1
        _check("linalg.solve", x1, lu_info, SINGULAR, name="x1")


def linalg_svd(x: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
    u, s, vh = _factor("linalg.svd", lambda a: torch.linalg.svd(a, full_matrices=full_matrices),
                       x)
    return u, s, vh


def linalg_svdvals(x: Tensor) -> Tensor:
    return _factor("linalg.svdvals", torch.linalg.svdvals, x)


def linalg_trace(x: Tensor, offset: int, dtype: torch.dtype | None) -> Tensor:
    d = torch.diagonal(x, offset, -2, -1)
    return sum(d, (d.ndim - 1,), dtype, False)  # the sum kernel handles unsigned accumulators


def linalg_vector_norm(
    x: Tensor, axis: tuple[int, ...] | None, keepdims: bool, ord: Any
) -> Tensor:
    if axis == ():  # the norm of single elements
        return torch.linalg.vector_norm(x.unsqueeze(-1), ord, dim=-1)
    if x.numel() == 0 and ord in (math.inf, -math.inf):  # torch refuses: max/min of nothing
        dims = set(range(x.ndim)) if axis is None else {a % x.ndim for a in axis}
        shape = [1 if i in dims else n for i, n in enumerate(x.shape)] if keepdims else \
            [n for i, n in enumerate(x.shape) if i not in dims]
        real = x.real.dtype if x.is_complex() else x.dtype  # as NumPy: inf's 0, -inf's inf
        return torch.full(shape, 0.0 if ord > 0 else math.inf, dtype=real, device=x.device)
    return torch.linalg.vector_norm(x, ord, dim=axis, keepdim=keepdims)
