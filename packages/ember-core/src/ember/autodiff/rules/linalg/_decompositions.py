"""VJP rules of ember.linalg's factorisations: cholesky, eigh, eigvalsh, qr, svd, svdvals and
pinv (real and complex input).

Conventions:

* cholesky, eigh and eigvalsh read one triangle of a matrix taken to be Hermitian; their rules
  return the *symmetrised* (Hermitian) gradient, as PyTorch and TensorFlow do: the gradient of
  the function of Hermitian matrices, whichever triangle the kernel reads.
* Eigenvectors and singular vectors are only defined up to a sign (a phase for complex input);
  the rules are exact for losses that do not depend on that choice (V * conj(V), U @ Vh, a
  reconstruction). Degenerate eigenvalues or singular values (and zero singular values of
  non-square svd inputs) make these gradients infinite: the rules give inf or NaN there, as
  every framework does.
* qr: R's diagonal is real (LAPACK's Householder QR), which fixes the phases of Q.
"""

from __future__ import annotations

from typing import Any

from ...._errors import UnsupportedError
from ...._tensor import Tensor
from ....ops import _elementwise as ew
from ....ops._creation import tril, triu
from ....ops._dtypes import astype
from ....ops._linalg import diagonal, eigh, matmul, solve, svd
from ....ops._manipulation import concat, expand_dims
from ....ops._searching import where
from .. import is_complex, vjp
from ._functions import diag_embed, eye_like
from ._products import _h


def _off_diagonal_inverse(d: Tensor) -> Tensor:
    """1 / d off the diagonal of the last two axes, 0 on it (d is zero there)."""
    on = ew.not_equal(eye_like(d.shape[-1], d), 0)
    return where(on, 0.0, ew.divide(1.0, where(on, 1.0, d)))


def _real_diagonal(m: Tensor) -> Tensor:
    """diag(Re(diag m)) in m's dtype."""
    d = diagonal(m)
    return diag_embed(ew.real(d) if is_complex(m) else d, m)


# -- Hermitian input -----------------------------------------------------------------------------
@vjp("linalg_cholesky")
def _cholesky(needs: Any, g: Any, out: Any, x: Any, upper: bool) -> tuple[Any]:
    """Murray 2016: A = L L^H gives gA = L^-H Phi(L^H gL) L^-1 with Phi the lower triangle,
    diagonal halved; symmetrised to (gA + gA^H) / 2 (U = L^H when upper)."""
    low, gl = (_h(out), _h(g)) if upper else (out, g)
    phi = tril(matmul(_h(low), gl))
    phi = ew.subtract(phi, ew.multiply(diag_embed(diagonal(phi)), 0.5))
    lh = _h(low)
    t = solve(lh, phi)  # L^-H Phi
    ga = _h(solve(lh, _h(t)))  # (L^-H (L^-H Phi)^H)^H = L^-H Phi L^-1
    return (ew.multiply(ew.add(ga, _h(ga)), 0.5),)


@vjp("linalg_eigh")
def _eigh(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """Giles 2008 / Seeger et al. 2017: A = V diag(w) V^H gives
    gA = V (diag(gw) + F o (V^H gV - gV^H V) / 2) V^H, F_ij = 1 / (w_j - w_i) off the diagonal
    (the Hermitian part of the unsymmetrised V (diag(gw) + F o V^H gV) V^H). Infinite for
    repeated eigenvalues."""
    gw, gv = g
    w, v = out
    vh = _h(v)
    m = matmul(vh, gv)
    f = _off_diagonal_inverse(ew.subtract(expand_dims(w, axis=-2), expand_dims(w, axis=-1)))
    inner = ew.multiply(ew.multiply(ew.subtract(m, _h(m)), 0.5), f)
    inner = ew.add(inner, diag_embed(gw, v))
    return (matmul(matmul(v, inner), vh),)


@vjp("linalg_eigvalsh")
def _eigvalsh(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """dw_i = v_i^H dA v_i: gA = V diag(gw) V^H (eigenvectors recomputed; Hermitian already)."""
    _, v = eigh(x)
    return (matmul(ew.multiply(v, astype(expand_dims(g, axis=-2), v.dtype)), _h(v)),)


# -- QR ------------------------------------------------------------------------------------------
def _qr_square_r(q: Tensor, r: Tensor, gq: Tensor, gr: Tensor) -> Tensor:
    """A = QR with Q (m, n) orthonormal columns, R (n, n) upper with a real diagonal (m >= n).
    With C = Q^H dA R^-1: dR = U(C) R and dQ = dA R^-1 - Q U(C), U(C) = triu(C, 1) +
    tril(C, -1)^H + Re diag(C); the adjoint gives gA = (gQ + Q K) R^-H, K the Hermitian matrix
    built from the upper triangle of N = gR R^H - Q^H gQ with Re diag(N) (Walter & Lehmann 2018,
    Seeger et al. 2017)."""
    n_ = ew.subtract(matmul(gr, _h(r)), matmul(_h(q), gq))
    up = triu(n_, k=1)
    k = ew.add(ew.add(up, _h(up)), _real_diagonal(n_))
    b = ew.add(gq, matmul(q, k))
    return _h(solve(r, _h(b)))  # b R^-H


@vjp("linalg_qr")
def _qr(needs: Any, g: Any, out: Any, x: Any, mode: str) -> tuple[Any]:
    """m >= n (reduced): see ``_qr_square_r``. m < n: A = [X | Y] with X = Q R1 square and
    Y = Q R2, so gY = Q gR2 and X gets the square rule with gQ + Y gR2^H (Liao et al. 2019).
    mode='complete' with m > n is not differentiable: Q's last m - n columns are any
    orthonormal completion, not a function of A (PyTorch and TensorFlow refuse it too)."""
    gq, gr = g
    q, r = out
    m, n = x.shape[-2], x.shape[-1]
    if m >= n:
        if mode == "complete" and m > n:
            raise UnsupportedError(
                f"gradient of linalg.qr with mode='complete' for a tall input {x.shape} is not "
                f"defined: the last {m - n} columns of Q are not determined by x; use "
                f"mode='reduced' (Q of shape (..., {m}, {n})) inside the tape")
        return (_qr_square_r(q, r, gq, gr),)
    r1 = r[..., :, :m]
    gr1, gr2 = gr[..., :, :m], gr[..., :, m:]
    y = x[..., :, m:]
    gx = _qr_square_r(q, r1, ew.add(gq, matmul(y, _h(gr2))), gr1)
    return (concat([gx, matmul(q, gr2)], axis=-1),)


# -- SVD and pseudo-inverse ----------------------------------------------------------------------
def _svd_grad(u: Tensor, s: Tensor, vh: Tensor, gu: Tensor | None, gs: Tensor,
              gvh: Tensor | None) -> Tensor:
    """Townsend 2016 (with the complex term of PyTorch's svd_backward), for the reduced SVD
    A = U diag(s) Vh of an (m, n) matrix, k = min(m, n):
    gA = U [(J S + S K) / E + diag(gs) + i Im diag(U^H gU) / s] Vh
         + (I - U U^H) gU S^-1 Vh + U S^-1 gVh (I - V V^H),
    J = U^H gU - gU^H U, K = Vh gVh^H - gVh Vh^H, E_ij = s_j^2 - s_i^2 off the diagonal."""
    m, n = u.shape[-2], vh.shape[-1]
    inner = diag_embed(gs, u)
    if gu is not None:
        s2 = ew.multiply(s, s)
        f = _off_diagonal_inverse(ew.subtract(expand_dims(s2, axis=-2), expand_dims(s2, axis=-1)))
        f = astype(f, u.dtype) if is_complex(u) else f
        su = astype(s, u.dtype) if is_complex(u) else s
        uhgu = matmul(_h(u), gu)
        j = ew.subtract(uhgu, _h(uhgu))
        vhgv = matmul(vh, _h(gvh))
        kk = ew.subtract(vhgv, _h(vhgv))
        off = ew.add(ew.multiply(j, expand_dims(su, axis=-2)),
                     ew.multiply(expand_dims(su, axis=-1), kk))
        inner = ew.add(inner, ew.multiply(off, f))
        if is_complex(u):
            im = astype(ew.divide(ew.imag(diagonal(uhgu)), s), u.dtype)
            inner = ew.add(inner, diag_embed(ew.multiply(im, 1j)))
        if m > n:  # (I - U U^H) gU S^-1 Vh
            gus = ew.divide(gu, expand_dims(su, axis=-2))
            extra = ew.subtract(gus, matmul(u, matmul(_h(u), gus)))
            return ew.add(matmul(matmul(u, inner), vh), matmul(extra, vh))
        if m < n:  # U S^-1 gVh (I - V V^H)
            sgv = ew.divide(gvh, expand_dims(su, axis=-1))
            extra = ew.subtract(sgv, matmul(matmul(sgv, _h(vh)), vh))
            return ew.add(matmul(matmul(u, inner), vh), matmul(u, extra))
    return matmul(matmul(u, inner), vh)


@vjp("linalg_svd")
def _svd(needs: Any, g: Any, out: Any, x: Any, full_matrices: bool) -> tuple[Any]:
    """See ``_svd_grad``. With full_matrices=True and m != n, U's last m - k columns (Vh's last
    n - k rows) are any orthonormal completion, not a function of x: their cotangents are
    dropped, as PyTorch does (exact for losses that do not use those columns)."""
    gu, gs, gvh = g
    u, s, vh = out
    m, n = x.shape[-2], x.shape[-1]
    k = min(m, n)
    if full_matrices and m != n:
        u, gu = u[..., :, :k], gu[..., :, :k]
        vh, gvh = vh[..., :k, :], gvh[..., :k, :]
    return (_svd_grad(u, s, vh, gu, gs, gvh),)


@vjp("linalg_svdvals")
def _svdvals(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """ds_i = Re(u_i^H dA v_i): gA = U diag(gs) Vh (reduced SVD recomputed; exact for simple
    singular values)."""
    u, s, vh = svd(x, full_matrices=False)
    return (_svd_grad(u, s, vh, None, g, None),)


@vjp("linalg_pinv")
def _pinv(needs: Any, g: Any, out: Any, x: Any, rtol: Any) -> tuple[Any]:
    """Golub & Pereyra 1973: for Y = A^+ (of constant rank),
    dY = -Y dA Y + Y Y^H dA^H (I - A Y) + (I - Y A) dA^H Y^H Y, whose adjoint is
    gA = -Y^H gY Y^H + (I - A Y) gY^H Y Y^H + Y^H Y gY^H (I - Y A). Exact where the rank
    (the singular values kept above rtol) does not change, e.g. full-rank input."""
    y = out
    yh, gh = _h(y), _h(g)
    t1 = ew.negative(matmul(matmul(yh, g), yh))
    p = matmul(gh, matmul(y, yh))
    t2 = ew.subtract(p, matmul(x, matmul(y, p)))
    q = matmul(matmul(yh, y), gh)
    t3 = ew.subtract(q, matmul(matmul(q, y), x))
    return (ew.add(t1, ew.add(t2, t3)),)
