"""VJP rules of matmul and tensordot."""

from __future__ import annotations

import math
from typing import Any

from ....ops import _elementwise as ew
from ....ops._linalg import matmul, matrix_transpose
from ....ops._manipulation import permute_dims, reshape
from .. import unbroadcast, vjp


def _h(x: Any) -> Any:
    """Conjugate transpose of the last two axes."""
    t = matrix_transpose(x)
    return ew.conj(t) if t.dtype.is_complex else t


@vjp("matmul", diff=(0, 1))
def _matmul(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    a = reshape(x1, (1, x1.shape[0])) if x1.ndim == 1 else x1
    b = reshape(x2, (x2.shape[0], 1)) if x2.ndim == 1 else x2
    gs = list(g.shape)
    if x1.ndim == 1:
        gs.insert(len(gs) - (0 if x2.ndim == 1 else 1), 1)
    if x2.ndim == 1:
        gs.append(1)
    g2 = reshape(g, tuple(gs)) if tuple(gs) != g.shape else g
    ga = gb = None
    if needs[0]:
        ga = reshape(unbroadcast(matmul(g2, _h(b)), a), x1.shape)
    if needs[1]:
        gb = reshape(unbroadcast(matmul(_h(a), g2), b), x2.shape)
    return (ga, gb)


@vjp("tensordot", diff=(0, 1))
def _tensordot(needs: Any, g: Any, out: Any, x1: Any, x2: Any, axes: Any) -> tuple[Any, Any]:
    """As a matrix product: x1 -> (free1, summed), x2 -> (summed, free2)."""
    ax1, ax2 = (tuple(a) for a in axes)
    free1 = [i for i in range(x1.ndim) if i not in ax1]
    free2 = [i for i in range(x2.ndim) if i not in ax2]
    m = math.prod(x1.shape[i] for i in free1)
    k = math.prod(x1.shape[i] for i in ax1)
    n = math.prod(x2.shape[i] for i in free2)
    a = reshape(permute_dims(x1, (*free1, *ax1)), (m, k))
    b = reshape(permute_dims(x2, (*ax2, *free2)), (k, n))
    gm = reshape(g, (m, n))
    ga = gb = None
    if needs[0]:
        p = (*free1, *ax1)
        inv = tuple(p.index(i) for i in range(x1.ndim))
        ga = permute_dims(reshape(matmul(gm, _h(b)), tuple(x1.shape[i] for i in p)), inv)
    if needs[1]:
        p = (*ax2, *free2)
        inv = tuple(p.index(i) for i in range(x2.ndim))
        gb = permute_dims(reshape(matmul(_h(a), gm), tuple(x2.shape[i] for i in p)), inv)
    return (ga, gb)
