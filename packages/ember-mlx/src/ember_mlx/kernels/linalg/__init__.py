"""Linear algebra kernels. MLX's factorisations run only on the CPU stream (``stream=CPU``).

The factorising kernels are checked (``_linalg_checks.checked``): ill-posed input raises
``ember.LinAlgError`` when the op runs, as on every backend, at the cost of one evaluation.
Private parts: ``_products`` (matmul, tensordot, cross, diagonal, trace), ``_decompositions``
(inverses, solves, factorisations, rank, pseudo-inverse, matrix powers), ``_norms``, and
``_reduce`` (reductions that accept empty axes).
"""

from __future__ import annotations

from ._decompositions import (
    linalg_cholesky,
    linalg_det,
    linalg_eigh,
    linalg_eigvalsh,
    linalg_inv,
    linalg_matrix_power,
    linalg_matrix_rank,
    linalg_pinv,
    linalg_qr,
    linalg_slogdet,
    linalg_solve,
    linalg_svd,
    linalg_svdvals,
)
from ._norms import linalg_matrix_norm, linalg_vector_norm
from ._products import linalg_cross, linalg_diagonal, linalg_trace, matmul, tensordot

__all__ = [
    "linalg_cholesky",
    "linalg_cross",
    "linalg_det",
    "linalg_diagonal",
    "linalg_eigh",
    "linalg_eigvalsh",
    "linalg_inv",
    "linalg_matrix_norm",
    "linalg_matrix_power",
    "linalg_matrix_rank",
    "linalg_pinv",
    "linalg_qr",
    "linalg_slogdet",
    "linalg_solve",
    "linalg_svd",
    "linalg_svdvals",
    "linalg_trace",
    "linalg_vector_norm",
    "matmul",
    "tensordot",
]
