"""Linear algebra kernels (ember sends floating-point or complex input, except to matmul)."""

from __future__ import annotations

from typing import Any

import torch

from ._util import UNSIGNED_WIDE, Tensor, narrow, widen
from .reductions import sum

__all__ = [
    "linalg_cholesky", "linalg_cross", "linalg_det", "linalg_diagonal", "linalg_eigh",
    "linalg_eigvalsh", "linalg_inv", "linalg_matrix_norm", "linalg_matrix_power",
    "linalg_matrix_rank", "linalg_pinv", "linalg_qr", "linalg_slogdet", "linalg_solve",
    "linalg_svd", "linalg_svdvals", "linalg_trace", "linalg_vector_norm", "matmul", "tensordot",
]


def matmul(x1: Tensor, x2: Tensor) -> Tensor:
    dt = x1.dtype
    if dt in UNSIGNED_WIDE:  # wrapping products agree modulo 2**bits
        return narrow(torch.matmul(widen(x1), widen(x2)), dt)
    if dt is torch.bool:  # NumPy: logical or of ands
        return torch.matmul(x1.to(torch.uint8), x2.to(torch.uint8)) != 0
    return torch.matmul(x1, x2)


def tensordot(x1: Tensor, x2: Tensor, axes: tuple[tuple[int, ...], tuple[int, ...]]) -> Tensor:
    dt = x1.dtype
    if dt in UNSIGNED_WIDE:
        return narrow(torch.tensordot(widen(x1), widen(x2), dims=axes), dt)
    return torch.tensordot(x1, x2, dims=(list(axes[0]), list(axes[1])))


def linalg_cholesky(x: Tensor, upper: bool) -> Tensor:
    return torch.linalg.cholesky(x, upper=upper)


def linalg_cross(x1: Tensor, x2: Tensor, axis: int) -> Tensor:
    return torch.linalg.cross(x1, x2, dim=axis)


linalg_det = torch.linalg.det


def linalg_diagonal(x: Tensor, offset: int) -> Tensor:
    return torch.diagonal(x, offset, -2, -1)


def linalg_eigh(x: Tensor) -> tuple[Tensor, Tensor]:
    w, v = torch.linalg.eigh(x)  # eigenvalues ascending, like NumPy
    return w, v


linalg_eigvalsh = torch.linalg.eigvalsh
linalg_inv = torch.linalg.inv


def linalg_matrix_norm(x: Tensor, keepdims: bool, ord: Any) -> Tensor:
    return torch.linalg.matrix_norm(x, ord=ord, dim=(-2, -1), keepdim=keepdims)


def linalg_matrix_power(x: Tensor, n: int) -> Tensor:
    return torch.linalg.matrix_power(x, n)


def linalg_matrix_rank(x: Tensor, rtol: Any) -> Tensor:
    # rtol None: max(M, N) * eps, the Array API default (torch's default too)
    return torch.linalg.matrix_rank(x, rtol=rtol)


def linalg_pinv(x: Tensor, rtol: Any) -> Tensor:
    return torch.linalg.pinv(x, rtol=rtol)


def linalg_qr(x: Tensor, mode: str) -> tuple[Tensor, Tensor]:
    q, r = torch.linalg.qr(x, mode=mode)
    return q, r


def linalg_slogdet(x: Tensor) -> tuple[Tensor, Tensor]:
    sign, logabsdet = torch.linalg.slogdet(x)
    return sign, logabsdet


def linalg_solve(x1: Tensor, x2: Tensor) -> Tensor:
    # NumPy 2 / Array API: x2 is a vector only when it is 1-d. torch also reads x2 of shape
    # x1.shape[:-1] as a batch of vectors; add a batch axis to x1 to force the matrix reading.
    if x2.ndim >= 2 and x2.ndim == x1.ndim - 1 and x2.shape == x1.shape[:-1]:
        out = torch.linalg.solve(x1.unsqueeze(0), x2)
        return out.squeeze(0) if out.ndim > x1.ndim else out
    return torch.linalg.solve(x1, x2)


def linalg_svd(x: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
    u, s, vh = torch.linalg.svd(x, full_matrices=full_matrices)
    return u, s, vh


linalg_svdvals = torch.linalg.svdvals


def linalg_trace(x: Tensor, offset: int, dtype: torch.dtype | None) -> Tensor:
    d = torch.diagonal(x, offset, -2, -1)
    return sum(d, (d.ndim - 1,), dtype, False)  # the sum kernel handles unsigned accumulators


def linalg_vector_norm(
    x: Tensor, axis: tuple[int, ...] | None, keepdims: bool, ord: Any
) -> Tensor:
    if axis == ():  # the norm of single elements
        return torch.linalg.vector_norm(x.unsqueeze(-1), ord, dim=-1)
    return torch.linalg.vector_norm(x, ord, dim=axis, keepdim=keepdims)
