"""matmul, tensordot, vecdot, matrix_transpose and the ``ember.linalg`` extension."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import _dtypes as dt
from .._dispatch import (
    broadcast_shapes,
    cast_native,
    fail,
    native_of,
    norm_axes,
    norm_axis,
    promote_binary,
)
from .._errors import DTypeError, EmberError, ShapeError
from .._tensor import Tensor
from ..autodiff._variables import Variable as V
from ._creation import asarray

__all__ = ["matmul", "matrix_transpose", "tensordot", "vecdot"]
LINALG = [
    "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm",
    "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet", "solve",
    "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm",
]

T = Tensor


def _t(x: Any) -> Tensor:
    return x if type(x) is T else asarray(x)


def matmul(x1: Any, x2: Any, /) -> Tensor:
    """Matrix product with NumPy's rules for 1-d operands and batch broadcasting."""
    if (type(x1) is T or type(x1) is V) and (type(x2) is T or type(x2) is V):
        b = x1._b
        d = x1._d or x1.dtype
        if d is (x2._d or x2.dtype) and d.kind != "b" and (x2._b is b or x2._b.root is b.root):
            if x2._b is not b and b is b.root:  # one operand is tracked by a tape: its twin
                b = x2._b
            try:
                return T(b.kernels.matmul(x1._n, x2._n), b, d)
            except Exception as exc:
                raise _matmul_error(x1, x2, exc) from exc
    b, n1, n2, d = promote_binary("matmul", x1, x2)
    if d is dt.bool:
        raise DTypeError("matmul takes numeric tensors, got bool; cast with ember.astype")
    a, c = T(n1, b), T(n2, b)
    try:
        return T(b.kernels.matmul(n1, n2), b)
    except Exception as exc:
        raise _matmul_error(a, c, exc) from exc


def _matmul_error(x1: Tensor, x2: Tensor, exc: BaseException) -> Exception:
    s1, s2 = x1.shape, x2.shape
    if not s1 or not s2:
        return ShapeError(f"matmul: 0-d operands are not allowed (shapes {s1} and {s2}); use multiply")
    k1 = s1[-1]
    k2 = s2[0] if len(s2) == 1 else s2[-2]
    if k1 != k2:
        return ShapeError(
            f"matmul: shapes {s1} and {s2} ({x1.dtype}, {x2.dtype}) do not align: "
            f"{k1} (last axis of x1) != {k2} ({'only' if len(s2) == 1 else 'second-to-last'} axis of x2)"
        )
    return fail("matmul", (x1, x2), exc, elementwise=False)


def matrix_transpose(x: Any, /) -> Tensor:
    """Swap the last two axes."""
    x = _t(x)
    if x.ndim < 2:
        raise ShapeError(f"matrix_transpose needs rank >= 2, got shape {x.shape}")
    perm = (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2)
    return T(x._b.kernels.permute_dims(x._n, perm), x._b)


def tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> Tensor:
    """Contract x1 and x2 over axes (an int: last/first axes; or a pair of axis sequences)."""
    b, n1, n2, _ = promote_binary("tensordot", x1, x2)
    a, c = T(n1, b), T(n2, b)
    if isinstance(axes, int):
        if axes < 0 or axes > min(a.ndim, c.ndim):
            raise ShapeError(f"tensordot: axes={axes} is invalid for shapes {a.shape} and {c.shape}")
        ax = (tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes)))
    else:
        p, q = axes
        p = (p,) if isinstance(p, int) else tuple(p)
        q = (q,) if isinstance(q, int) else tuple(q)
        ax = (tuple(norm_axis("tensordot", i, a.ndim) for i in p),
              tuple(norm_axis("tensordot", i, c.ndim) for i in q))
    if len(ax[0]) != len(ax[1]) or any(a.shape[i] != c.shape[j] for i, j in zip(*ax, strict=False)):
        raise ShapeError(f"tensordot: axes {ax} of shapes {a.shape} and {c.shape} do not match")
    return T(b.kernels.tensordot(n1, n2, ax), b)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Tensor:
    """Dot product of vectors along axis (x1 conjugated), broadcasting the other axes."""
    from ._elementwise import conj, multiply
    from ._statistical import sum as _sum

    b, n1, n2, d = promote_binary("vecdot", x1, x2)
    a, c = T(n1, b), T(n2, b)
    if a.shape[axis:][:1] != c.shape[axis:][:1] if a.ndim and c.ndim else True:
        raise ShapeError(f"vecdot: axis {axis} has size {a.shape} vs {c.shape}; they must match")
    return _sum(multiply(conj(a), c), axis=axis, dtype=d)  # the operands' dtype, not sum's


# ---------------------------------------------------------------------------------------------
# ember.linalg


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


def _float(op: str, x: Any, *, square: bool = False, min_rank: int = 2) -> Tensor:
    x = _t(x)
    if x.ndim < min_rank:
        raise ShapeError(f"linalg.{op} needs a tensor of rank >= {min_rank}, got shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"linalg.{op} needs square matrices, got shape {x.shape}")
    if not x.dtype.is_inexact:
        x = T(cast_native(x._b, x._n, dt.default_float()), x._b)
    return x


def _call(op: str, x: Tensor, *args: Any) -> Any:
    try:
        return getattr(x._b.kernels, "linalg_" + op)(x._n, *args)
    except Exception as exc:
        raise fail(f"linalg.{op}", (x,), exc) from exc


def cholesky(x: Any, /, *, upper: bool = False) -> Tensor:
    """Cholesky factor L (or U = L^H when upper) of Hermitian positive-definite matrices.

    Raises :class:`ember.LinAlgError` naming the matrices of a batch that are not positive
    definite or have NaN/infinite entries (docs/semantics.md, "Linear algebra failures").
    """
    x = _float("cholesky", x, square=True)
    return T(_call("cholesky", x, upper), x._b)


def det(x: Any, /) -> Tensor:
    """Determinant of square matrices. A singular matrix gives 0 (never an error); NaN entries
    give NaN, infinite ones follow IEEE arithmetic through an LU factorisation."""
    x = _float("det", x, square=True)
    return T(_call("det", x), x._b)


def inv(x: Any, /) -> Tensor:
    """Inverse of square matrices.

    Raises :class:`ember.LinAlgError` naming the singular matrices of a batch (an exactly zero
    pivot in the LU factorisation, as LAPACK reports) or those with NaN/infinite entries; a
    nearly singular matrix gives large values, as in NumPy. ``linalg.pinv`` never raises for
    singular input.
    """
    x = _float("inv", x, square=True)
    return T(_call("inv", x), x._b)


def eigh(x: Any, /) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of Hermitian matrices (only the lower triangle
    is read). NaN/infinite entries raise :class:`ember.LinAlgError`."""
    x = _float("eigh", x, square=True)
    w, v = _call("eigh", x)
    return EighResult(T(w, x._b), T(v, x._b))


def eigvalsh(x: Any, /) -> Tensor:
    """Eigenvalues (ascending) of Hermitian matrices. NaN/infinite entries raise
    :class:`ember.LinAlgError`."""
    x = _float("eigvalsh", x, square=True)
    return T(_call("eigvalsh", x), x._b)


def slogdet(x: Any, /) -> SlogdetResult:
    """Sign and natural log of the absolute determinant. A singular matrix gives sign 0 and
    logabsdet -inf (never an error); a matrix with NaN entries gives NaN for both."""
    x = _float("slogdet", x, square=True)
    s, l = _call("slogdet", x)  # noqa: E741
    return SlogdetResult(T(s, x._b), T(l, x._b))


def qr(x: Any, /, *, mode: str = "reduced") -> QRResult:
    """QR decomposition; mode 'reduced' or 'complete'. Never fails: rank-deficient input is
    factorised; a matrix with a NaN or infinite entry gives Q and R of NaN (R still zero below
    its diagonal), the same on every backend (LAPACK, cuSOLVER and MLX each leave different
    mixes of NaN, infinities and numbers there)."""
    if mode not in ("reduced", "complete"):
        raise EmberError(f"linalg.qr: mode must be 'reduced' or 'complete', got {mode!r}")
    x = _float("qr", x)
    q, r = _call("qr", x, mode)  # kernels put the NaNs (the kit checks them on every backend)
    return QRResult(T(q, x._b), T(r, x._b))


def svd(x: Any, /, *, full_matrices: bool = True) -> SVDResult:
    """Singular value decomposition x = U @ diag(S) @ Vh, S descending. NaN/infinite entries
    (or, rarely, an iteration that does not converge) raise :class:`ember.LinAlgError`."""
    x = _float("svd", x)
    u, s, vh = _call("svd", x, full_matrices)
    return SVDResult(T(u, x._b), T(s, x._b), T(vh, x._b))


def svdvals(x: Any, /) -> Tensor:
    """Singular values, descending. NaN/infinite entries raise :class:`ember.LinAlgError`."""
    x = _float("svdvals", x)
    return T(_call("svdvals", x), x._b)


def pinv(x: Any, /, *, rtol: Any = None) -> Tensor:
    """Moore-Penrose pseudo-inverse: singular values ``<= rtol * largest`` are dropped, so it is
    defined for singular matrices too. ``rtol`` is a float or a tensor broadcastable to the batch
    shape ``x.shape[:-2]`` (one tolerance per matrix); None means ``max(M, N) * eps``.
    NaN/infinite entries raise :class:`ember.LinAlgError`."""
    x = _float("pinv", x)
    return T(_call("pinv", x, _rtol("linalg.pinv", x, rtol)), x._b)


def matrix_rank(x: Any, /, *, rtol: Any = None) -> Tensor:
    """Numerical rank (int64): the number of singular values ``> rtol * largest``. ``rtol`` as
    for :func:`pinv`. NaN/infinite entries raise :class:`ember.LinAlgError`."""
    x = _float("matrix_rank", x)
    return T(_call("matrix_rank", x, _rtol("linalg.matrix_rank", x, rtol)), x._b)


def _rtol(op: str, x: Tensor, rtol: Any) -> Any:
    """What the kernels get for ``rtol``: None, a Python float, or a native array of x's backend
    in x's real dtype, broadcast to the batch shape ``x.shape[:-2]``."""
    if rtol is None:
        return None
    if isinstance(rtol, (int, float)) and not isinstance(rtol, bool):
        return float(rtol)
    b = x._b
    t = rtol if isinstance(rtol, Tensor) else asarray(rtol, backend=b.root)
    n = native_of(b, t, op)  # a tensor of another backend is a BackendMismatchError
    if t.dtype.kind not in "iuf":
        raise DTypeError(f"{op}: rtol must be real (a float, or a tensor of a real floating-point "
                         f"dtype), got {t.dtype}")
    batch = x.shape[:-2]
    if broadcast_shapes(op, t.shape, batch, args=(x, t)) != batch:
        raise ShapeError(f"{op}: rtol of shape {t.shape} does not broadcast to the batch shape "
                         f"{batch} of x {x.shape} (one tolerance per matrix)")
    real = {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(x.dtype, x.dtype)
    n = cast_native(b, n, real)
    return n if t.shape == batch else b.kernels.broadcast_to(n, batch)


def matrix_power(x: Any, n: int, /) -> Tensor:
    """x raised to the integer power n (negative n inverts: singular matrices raise
    :class:`ember.LinAlgError`, as for ``inv``)."""
    x = _t(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"linalg.matrix_power needs square matrices, got shape {x.shape}")
    if n < 0 and not x.dtype.is_inexact:
        x = _float("matrix_power", x)
    return T(_call("matrix_power", x, int(n)), x._b)


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf"))


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Tensor:
    """Matrix norm of the last two axes: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf. The norms of
    singular values ('nuc', 2, -2) raise :class:`ember.LinAlgError` for NaN/infinite entries,
    as ``svdvals`` does; the others propagate them."""
    if ord not in _MATRIX_ORDS:
        raise EmberError(f"linalg.matrix_norm: ord must be one of {_MATRIX_ORDS}, got {ord!r}")
    x = _float("matrix_norm", x)
    _min_of_none(x.shape, ord)
    return T(_call("matrix_norm", x, keepdims, ord), x._b)


# the minimum that each of these orders takes, and the axis it runs over
_MIN_ORDS = {-2: "singular values", -1: "columns", float("-inf"): "rows"}


def _min_of_none(shape: tuple[int, ...], ord: Any) -> None:
    """ord -2, -1 and -inf are minima: over no singular values, columns or rows (an empty
    matrix) they have no value; as for ember.min, a ShapeError (the maxima 2, 1, inf give 0)."""
    what = _MIN_ORDS.get(ord)
    if what is None:
        return
    n, m = shape[-2], shape[-1]
    count = {"singular values": min(n, m), "columns": m, "rows": n}[what]
    if count == 0:
        raise ShapeError(
            f"linalg.matrix_norm: ord={ord} is the minimum over the {what} of each matrix, and "
            f"matrices of shape {shape} have none (a zero-size reduction has no identity); "
            f"use ord={-ord} (0 for empty matrices) or check the shape first")


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Tensor:
    """Vector p-norm over axes (all when None); ord any float, inf or -inf."""
    x = _float("vector_norm", x, min_rank=0)
    return T(_call("vector_norm", x, norm_axes("linalg.vector_norm", axis, x.ndim), keepdims, ord), x._b)


def solve(x1: Any, x2: Any, /) -> Tensor:
    """Solve x1 @ out = x2 for square x1 (x2 is a vector only when it is 1-d).

    Raises :class:`ember.LinAlgError` naming the matrices of x1 that are singular or have
    NaN/infinite entries (NaN in x2 propagates into the solution).
    """
    b, n1, n2, _ = promote_binary("linalg.solve", x1, x2, inexact=True)
    a, c = T(n1, b), T(n2, b)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"linalg.solve needs square matrices x1, got shape {a.shape}")
    k = c.shape[0] if c.ndim == 1 else (c.shape[-2] if c.ndim >= 2 else None)
    if k != a.shape[-1]:
        raise ShapeError(f"linalg.solve: x1 {a.shape} and x2 {c.shape} do not align")
    try:
        return T(b.kernels.linalg_solve(n1, n2), b)
    except Exception as exc:
        raise fail("linalg.solve", (a, c), exc) from exc


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Tensor:
    """Cross product of 3-element vectors along axis (numeric dtypes; integers wrap as in
    NumPy)."""
    b, n1, n2, d = promote_binary("linalg.cross", x1, x2)
    if d is dt.bool:  # as NumPy, whose cross subtracts: the standard takes numeric dtypes
        raise DTypeError("linalg.cross takes numeric tensors, got bool; cast with ember.astype")
    a, c = T(n1, b), T(n2, b)
    if a.shape[axis] != 3 or c.shape[axis] != 3:
        raise ShapeError(f"linalg.cross: axis {axis} must have size 3, got shapes {a.shape}, {c.shape}")
    from ._manipulation import broadcast_arrays

    nd = max(a.ndim, c.ndim)
    ax = norm_axis("linalg.cross", axis, nd)
    if a.shape != c.shape:
        a, c = broadcast_arrays(a, c)  # kernels see equal shapes; axis is of the broadcast rank
    try:
        return T(b.kernels.linalg_cross(a._n, c._n, ax), b)
    except Exception as exc:
        raise fail("linalg.cross", (a, c), exc) from exc


def diagonal(x: Any, /, *, offset: int = 0) -> Tensor:
    """The diagonal (offset above/below the main one) of the last two axes."""
    x = _t(x)
    if x.ndim < 2:
        raise ShapeError(f"linalg.diagonal needs rank >= 2, got shape {x.shape}")
    return T(x._b.kernels.linalg_diagonal(x._n, offset), x._b)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Tensor:
    """Sum of the diagonal of the last two axes (accumulation dtypes as for sum)."""
    from ._statistical import _acc_native

    x = _t(x)
    if x.ndim < 2:
        raise ShapeError(f"linalg.trace needs rank >= 2, got shape {x.shape}")
    return T(x._b.kernels.linalg_trace(x._n, offset, _acc_native(x, dtype)), x._b)


def outer(x1: Any, x2: Any, /) -> Tensor:
    """Outer product of two 1-d tensors."""
    from ._elementwise import multiply

    b, n1, n2, _ = promote_binary("linalg.outer", x1, x2)
    a, c = T(n1, b), T(n2, b)
    if a.ndim != 1 or c.ndim != 1:
        raise ShapeError(f"linalg.outer takes 1-d tensors, got {a.shape} and {c.shape}")
    return multiply(T(b.kernels.reshape(n1, (a.shape[0], 1), None), b), c)
