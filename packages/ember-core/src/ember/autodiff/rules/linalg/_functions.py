"""VJP rules of ember.linalg's direct ops: det, slogdet, inv, solve, matrix_power, cross,
diagonal, trace, vector_norm and matrix_norm (the factorisations are in ``decompositions``).

Complex inputs follow the convention of the package (PyTorch's): a linear map dY = A dX B has
the cotangent gX = A^H gY B^H, so each formula below is the real one with transposes made
conjugate transposes. Singular matrices make det, slogdet, inv, solve and negative matrix
powers non-differentiable: their rules invert the matrix and give non-finite values (or the
backend's singular-matrix error), as the op itself does.
"""

from __future__ import annotations

import math
from typing import Any

from ...._tensor import Tensor
from ....ops import _elementwise as ew
from ....ops._creation import eye, zeros
from ....ops._dtypes import astype
from ....ops._linalg import cross, inv, matmul, solve, svd
from ....ops._manipulation import broadcast_to, concat, expand_dims, reshape
from ....ops._searching import where
from ....ops._statistical import sum as _sum
from .. import back_to, expand_to, is_complex, mulc, unbroadcast, vjp
from .. import zeros as zeros_of
from ._products import _h

__all__ = ["diag_embed", "eye_like", "matrix_of"]


# -- helpers shared with the decompositions -----------------------------------------------------
def eye_like(n: int, like: Tensor, m: int | None = None, k: int = 0) -> Tensor:
    """The (n, m) identity (ones on diagonal k) of ``like``'s dtype, device and backend."""
    return eye(n, m, k=k, dtype=like.dtype, device=like.device, backend=like._b)


def diag_embed(d: Tensor, like: Tensor | None = None) -> Tensor:
    """(..., k) -> the (..., k, k) diagonal matrices (of ``like``'s dtype when given)."""
    if like is not None and d.dtype is not like.dtype:
        d = astype(d, like.dtype)
    return ew.multiply(expand_dims(d, axis=-1), eye_like(d.shape[-1], d))


def matrix_of(c: Tensor) -> Tensor:
    """(...) -> (..., 1, 1): one scalar per matrix, broadcastable against the matrices."""
    return reshape(c, (*c.shape, 1, 1))


def _on_diagonal(d: Tensor, shape: tuple[int, ...], offset: int) -> Tensor:
    """The (..., n, m) matrices with d (..., k) on diagonal ``offset`` and zeros elsewhere."""
    n, m = shape[-2], shape[-1]
    along = n if offset >= 0 else m  # the diagonal's index runs along rows, else columns
    k = d.shape[-1]
    if k < along:
        pad = zeros((*d.shape[:-1], along - k), dtype=d.dtype, device=d.device, backend=d._b)
        d = concat([d, pad], axis=-1)
    e = eye_like(n, d, m, offset)  # rows past the diagonal's end are zero in e
    return ew.multiply(expand_dims(d, axis=-1 if offset >= 0 else -2), e)


def _diagonal_length(shape: tuple[int, ...], offset: int) -> int:
    n, m = shape[-2], shape[-1]
    return max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))


# -- determinants, inverse, solve, powers ------------------------------------------------------
@vjp("linalg_det")
def _det(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """Jacobi's formula d det A = det A tr(A^-1 dA): gA = g conj(det A) A^-H."""
    return (ew.multiply(matrix_of(mulc(g, out)), _h(inv(x))),)


@vjp("linalg_slogdet")
def _slogdet(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """d log|det A| = Re tr(A^-1 dA): gA = g_logabsdet A^-H. The sign is piecewise constant
    for real A (no cotangent); for complex A, sign = det/|det| turns with Im tr(A^-1 dA), which
    adds i Im(conj(sign) g_sign) to the coefficient of A^-H."""
    g_sign, g_log = g
    sign = out[0]
    c = g_log
    if is_complex(x):
        turn = ew.imag(ew.multiply(ew.conj(sign), g_sign))
        c = ew.add(astype(g_log, x.dtype), ew.multiply(astype(turn, x.dtype), 1j))
    return (ew.multiply(matrix_of(c), _h(inv(x))),)


@vjp("linalg_inv")
def _inv(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """Y = A^-1, dY = -Y dA Y: gA = -Y^H gY Y^H."""
    yh = _h(out)
    return (ew.negative(matmul(matmul(yh, g), yh)),)


@vjp("linalg_solve", diff=(0, 1))
def _solve(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    """X = A^-1 B: gB = A^-H gX (one more solve), gA = -gB X^H; a 1-d B is one column, and
    broadcast batch axes are summed back (Giles 2008)."""
    vec = x2.ndim == 1
    gm = expand_dims(g, axis=-1) if vec else g
    gb = solve(_h(x1), gm)
    g1 = g2 = None
    if needs[0]:
        om = expand_dims(out, axis=-1) if vec else out
        g1 = unbroadcast(ew.negative(matmul(gb, _h(om))), x1)
    if needs[1]:
        g2 = unbroadcast(reshape(gb, gb.shape[:-1]) if vec else gb, x2)
    return (g1, g2)


def _power_sum(a: Tensor, g: Tensor, p: int) -> Tensor:
    """T_p = sum_{k<p} a^k g a^(p-1-k) in O(log p) products, by doubling:
    T_2m = a^m T_m + T_m a^m and T_(m+1) = a T_m + g a^m."""
    t, pm = g, a  # m = 1: T_1 = g, pm = a^m
    for bit in bin(p)[3:]:  # the bits of p after the leading one
        t = ew.add(matmul(pm, t), matmul(t, pm))  # m -> 2m
        pm = matmul(pm, pm)
        if bit == "1":  # m -> m + 1
            t = ew.add(matmul(a, t), matmul(g, pm))
            pm = matmul(pm, a)
    return t


@vjp("linalg_matrix_power")
def _matrix_power(needs: Any, g: Any, out: Any, x: Any, n: int) -> tuple[Any]:
    """d(A^n) = sum_k A^k dA A^(n-1-k), so gA = sum_k (A^H)^k gY (A^H)^(n-1-k); n = 0 gives
    zeros; n < 0 is the power -n of Z = A^-1 followed by the rule of inv."""
    if n == 0:
        return (zeros_of(x),)
    if n > 0:
        return (_power_sum(_h(x), g, n),)
    zh = _h(inv(x))
    gz = _power_sum(zh, g, -n)
    return (ew.negative(matmul(matmul(zh, gz), zh)),)


# -- cross, diagonal, trace ----------------------------------------------------------------------
def _conj(x: Tensor) -> Tensor:
    return ew.conj(x) if is_complex(x) else x


@vjp("linalg_cross", diff=(0, 1))
def _cross(needs: Any, g: Any, out: Any, x1: Any, x2: Any, axis: int) -> tuple[Any, Any]:
    """c = a x b is bilinear and g.(da x b) = da.(b x g): ga = conj(b) x g, gb = g x conj(a)."""
    return (unbroadcast(cross(_conj(x2), g, axis=axis), x1) if needs[0] else None,
            unbroadcast(cross(g, _conj(x1), axis=axis), x2) if needs[1] else None)


@vjp("linalg_diagonal")
def _diagonal(needs: Any, g: Any, out: Any, x: Any, offset: int) -> tuple[Any]:
    """The cotangent goes back onto the diagonal it was read from; zeros elsewhere."""
    return (_on_diagonal(g, x.shape, offset),)


@vjp("linalg_trace")
def _trace(needs: Any, g: Any, out: Any, x: Any, offset: int, dtype: Any) -> tuple[Any]:
    """g on every element of the summed diagonal (in x's dtype whatever the accumulator)."""
    g = back_to(g, x)
    k = _diagonal_length(x.shape, offset)
    d = broadcast_to(expand_dims(g, axis=-1), (*g.shape, max(k, 1)))
    return (_on_diagonal(d, x.shape, offset) if k else zeros_of(x),)


# -- norms ---------------------------------------------------------------------------------------
def _sgn(x: Tensor, a: Tensor | None = None) -> Tensor:
    """sign(x), written x / |x| (0 at 0) for complex x so that the rule stays differentiable
    (the element-wise ``sign`` has no derivative); ``a`` is |x| if already computed."""
    if not is_complex(x):
        return ew.sign(x)
    a = ew.abs(x) if a is None else a
    zero = ew.equal(a, 0)
    return where(zero, 0.0, ew.divide(x, where(zero, 1.0, a)))


def _two_norm(ge: Tensor, x: Tensor, ne: Tensor) -> Tensor:
    """d||x|| = Re(conj(x) dx) / ||x||: g x / ||x||, taken as 0 for a zero vector (a
    subgradient, as PyTorch and TensorFlow do)."""
    zero = ew.equal(ne, 0)
    return where(zero, 0.0, ew.multiply(x, ew.divide(ge, where(zero, 1.0, ne))))


def _extreme(ge: Tensor, x: Tensor, a: Tensor, ext: Tensor, axis: Any) -> Tensor:
    """The cotangent of max/min of |x| over ``axis`` (``a`` = |x|, ``ext`` broadcast back):
    to the extreme elements times sign(x), shared equally between ties."""
    hit = astype(ew.equal(a, ext), a.dtype)
    count = _sum(hit, axis=axis, keepdims=True)
    return ew.multiply(ew.multiply(ge, _sgn(x, a)), ew.divide(hit, count))


def _p_norm(ge: Tensor, x: Tensor, ne: Tensor, p: float) -> Tensor:
    """d||x||_p / d|x_i| = (|x_i| / ||x||_p)^(p-1), times sign(x_i) = x_i / |x_i|. For p > 1 a
    zero vector gets 0; for p < 1, elements at zero (where the derivative is infinite) get 0
    and the scale is written |x|^(p-1) ||x||^(1-p) (PyTorch's choices)."""
    a = ew.abs(x)
    s = ew.multiply(ge, _sgn(x, a))
    if p > 1:
        zero = ew.equal(ne, 0)
        r = ew.pow(ew.divide(a, where(zero, 1.0, ne)), p - 1.0)
        return where(zero, 0.0, ew.multiply(s, r))
    zero = ew.equal(a, 0)
    r = where(zero, 0.0, ew.pow(where(zero, 1.0, a), p - 1.0))
    return ew.multiply(s, ew.multiply(r, ew.pow(ne, 1.0 - p)))


@vjp("linalg_vector_norm")
def _vector_norm(needs: Any, g: Any, out: Any, x: Any, axis: Any, keepdims: bool,
                 ord: Any) -> tuple[Any]:
    """ord 2: g x / ||x|| (0 for zero vectors); 1: g sign(x); +-inf: to the largest / smallest
    |x_i| (ties share); 0 (a count): zeros; other p: see ``_p_norm``. sign(x) is x / |x| for
    complex x (0 at 0)."""
    if ord == 0:
        return (zeros_of(x),)
    ge = expand_to(g, x.shape, axis, keepdims)
    if ord == 1:
        return (ew.multiply(ge, _sgn(x)),)
    ne = expand_to(out, x.shape, axis, keepdims)
    if ord == 2:
        return (_two_norm(ge, x, ne),)
    if ord in (math.inf, -math.inf):
        return (_extreme(ge, x, ew.abs(x), ne, axis),)
    return (_p_norm(ge, x, ne, float(ord)),)


def _line_norm(ge: Tensor, x: Tensor, out: Tensor, reduce_axis: int) -> Tensor:
    """Max / min over lines of sum(|x|) along ``reduce_axis`` (-2: column sums, ord +-1;
    -1: row sums, ord +-inf): the extreme lines get g sign(x), ties share."""
    a = ew.abs(x)
    sums = _sum(a, axis=reduce_axis, keepdims=True)
    line = -1 if reduce_axis == -2 else -2
    hit = astype(ew.equal(sums, expand_dims(expand_dims(out, axis=-1), axis=-1)), sums.dtype)
    share = ew.divide(hit, _sum(hit, axis=line, keepdims=True))
    return ew.multiply(ew.multiply(ge, _sgn(x, a)), share)


@vjp("linalg_matrix_norm")
def _matrix_norm(needs: Any, g: Any, out: Any, x: Any, keepdims: bool, ord: Any) -> tuple[Any]:
    """'fro': g X / ||X||_F (0 for a zero matrix); 'nuc' (sum of the singular values):
    g U V^H; 2 / -2 (largest / smallest singular value s_k): g u_k v_k^H, from the reduced SVD
    (exact where those singular values are simple and, for 'nuc' and -2, non-zero); 1 / -1 and
    inf / -inf (extreme column / row sums of |X|): g sign(X) on the extreme lines, ties share."""
    if keepdims:
        g = reshape(g, g.shape[:-2])
        out = reshape(out, out.shape[:-2])
    ge = matrix_of(g)
    if ord == "fro":
        return (_two_norm(ge, x, matrix_of(out)),)
    if ord in (1, -1):
        return (_line_norm(ge, x, out, -2),)
    if ord in (math.inf, -math.inf):
        return (_line_norm(ge, x, out, -1),)
    u, _, vh = svd(x, full_matrices=False)
    if ord == "nuc":
        return (matmul(ew.multiply(u, ge), vh),)
    k = 0 if ord == 2 else min(x.shape[-2:]) - 1
    u_k = u[..., :, k:k + 1]
    vh_k = vh[..., k:k + 1, :]
    return (matmul(ew.multiply(u_k, ge), vh_k),)

