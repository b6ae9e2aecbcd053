"""Exact integer matrix products without floating point, for devices whose libraries have no
integer ``mm``/``dot`` kernels (CUDA: cuBLAS multiplies floating-point matrices only).

Products and sums run in int64, whose wrap-around agrees with every narrower integer type
modulo ``2**bits`` (uint64 is reinterpreted bit for bit), and the result is cast back: the
same values as NumPy's wrapping integer matmul. The contraction runs in chunks of the inner
axis so that the broadcast products never hold more than ``_CHUNK`` elements at once (one chunk
per inner index for the largest outputs).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from ember._squaring import power_by_squaring

from ._util import Tensor

__all__ = ["INTEGRAL", "contract", "exact_int_matmul", "int_matrix_power", "integral"]

_CHUNK = 1 << 24  # elements of the largest products tensor one step builds (128 MiB of int64)


INTEGRAL = frozenset({torch.bool, torch.int8, torch.int16, torch.int32, torch.int64,
                      torch.uint8, torch.uint16, torch.uint32, torch.uint64})


def integral(dt: torch.dtype) -> bool:
    return dt in INTEGRAL  # a set lookup: matmul asks on every call (0.03 us, not 0.13)


def _to64(x: Tensor) -> Tensor:
    return x.view(torch.int64) if x.dtype is torch.uint64 else x.to(torch.int64)


def _back(r: Tensor, dt: torch.dtype) -> Tensor:
    if dt is torch.bool:
        return r != 0
    return r.view(torch.uint64) if dt is torch.uint64 else r.to(dt)


def exact_int_matmul(x1: Tensor, x2: Tensor) -> Tensor:
    """``matmul`` of integer (or bool: or of ands) tensors with NumPy's rules for 1-d operands
    and batch broadcasting, by broadcast multiply and sum."""
    dt = x1.dtype
    a = _to64(x1.unsqueeze(0) if x1.ndim == 1 else x1)  # (..., n, k)
    b = _to64(x2.unsqueeze(-1) if x2.ndim == 1 else x2)  # (..., k, m)
    n, k, m = a.shape[-2], a.shape[-1], b.shape[-1]
    if b.shape[-2] != k:  # the broadcast products below would hide it
        raise ValueError(f"matmul: shapes {tuple(x1.shape)} and {tuple(x2.shape)} do not align")
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    out = torch.zeros((*batch, n, m), dtype=torch.int64, device=a.device)
    step = max(1, _CHUNK // max(1, math.prod(batch) * n * m))
    for s in range(0, k, step):
        out += (a[..., :, s:s + step, None] * b[..., None, s:s + step, :]).sum(-2)
    out = _back(out, dt)
    if x1.ndim == 1:
        out = out.squeeze(-2)
    if x2.ndim == 1:
        out = out.squeeze(-1)
    return out


def contract(mm: Callable[[Tensor, Tensor], Tensor], x1: Tensor, x2: Tensor,
              axes: tuple[tuple[int, ...], tuple[int, ...]]) -> Tensor:
    """``tensordot`` as one matrix product ``mm`` of the operands folded to 2-d."""
    a1, a2 = list(axes[0]), list(axes[1])
    free1 = [i for i in range(x1.ndim) if i not in a1]
    free2 = [i for i in range(x2.ndim) if i not in a2]
    k = math.prod(x1.shape[i] for i in a1)
    p = x1.permute(free1 + a1).reshape(math.prod(x1.shape[i] for i in free1), k)
    q = x2.permute(a2 + free2).reshape(k, math.prod(x2.shape[i] for i in free2))
    shape = tuple(x1.shape[i] for i in free1) + tuple(x2.shape[i] for i in free2)
    return mm(p, q).reshape(shape)


def int_matrix_power(x: Tensor, n: int) -> Tensor:
    """``x`` to the power ``n >= 0`` by repeated squaring with :func:`exact_int_matmul`."""
    if n == 0:
        eye = torch.eye(x.shape[-1], dtype=torch.bool, device=x.device)  # no uint16+ eye
        return eye.to(x.dtype).expand(x.shape).clone()
    return power_by_squaring(x, n, exact_int_matmul)
