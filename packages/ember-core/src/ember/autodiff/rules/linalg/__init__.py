"""VJP rules of the linalg topic (matmul, tensordot and ``ember.linalg``), a package because
together they pass ~400 lines: ``_products`` (matmul, tensordot), ``_functions`` (det, slogdet,
inv, solve, matrix_power, cross, diagonal, trace, the norms) and ``_decompositions``
(cholesky, eigh, eigvalsh, qr, svd, svdvals, pinv)."""

from . import _decompositions, _functions, _products  # noqa: F401 - each registers its rules
