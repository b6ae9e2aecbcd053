"""VJP rules of the FFT kernels.

Every transform is linear over the reals, so its VJP is its adjoint applied to the cotangent
(PyTorch's convention: for y = A x the cotangent of x is A^H g; for a real x, its real part).
With the DFT ``F`` of length N scaled by ``norm`` (1 for "backward", 1/sqrt(N) for "ortho",
1/N for "forward"), ``F^H`` is the inverse transform with the *swapped* norm ("backward" <->
"forward", "ortho" stays), and the inverse transform's adjoint is the forward one, swapped.

``n`` / ``s`` resize the input first (zero-padding or truncating each transformed axis): that
map P has the adjoint P^H that truncates what was padded and zero-pads what was truncated.

* fft, fftn, ifft, ifftn: x_bar = P^H F^H g.
* rfft, rfftn (real x): y = T F P x, T keeping the first N//2 + 1 bins of the last axis;
  x_bar = Re(P^H F^H T^H g): zero-pad g to the full spectrum, inverse transform, real part.
  It is computed as the real inverse of g / w (w the weights below): half the work.
* irfft, irfftn (real y): the last axis's real inverse reads each bin 0 < k < N/2 twice (it
  and its conjugate partner N - k) and the DC and Nyquist bins once (their imaginary parts
  ignored), after the complex inverse over the other axes. Its adjoint is ``w * rfftn(g)``
  with the swapped norm and the Hermitian-completion weights w = 2 on the doubled bins and
  1 on DC (and Nyquist when N is even); then P^H.

Defaults follow NumPy: ``axes=None`` is every axis (the last ``len(s)`` if ``s`` is given);
``s=None`` is the input's sizes on ``axes`` (irfftn: the last one ``2 * (m - 1)``).
"""

from __future__ import annotations

from typing import Any

from ..._errors import EmberError
from ..._tensor import Tensor
from ...ops import _fft as F
from ...ops._creation import asarray, zeros
from ...ops._dtypes import astype
from ...ops._elementwise import multiply, real
from ...ops._manipulation import concat, reshape
from . import vjp

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _fit(t: Tensor, axis: int, m: int) -> Tensor:
    """t truncated or zero-padded to length m along axis (the adjoint of the other)."""
    n = t.shape[axis]
    if n == m:
        return t
    if n > m:
        return t[(slice(None),) * axis + (slice(0, m),)]
    shape = list(t.shape)
    shape[axis] = m - n
    return concat([t, zeros(tuple(shape), dtype=t.dtype, device=t.device, backend=t._b)], axis=axis)


def _fit_all(t: Tensor, axes: tuple[int, ...], shape: tuple[int, ...]) -> Tensor:
    for a in axes:
        t = _fit(t, a, shape[a])
    return t


def _like(g: Tensor, x: Tensor) -> Tensor:
    """g as the cotangent of x: the real part for a real x, in x's dtype."""
    if g.dtype.is_complex and not x.dtype.is_complex:
        g = real(g)
    return g if g.dtype is x.dtype else astype(g, x.dtype)


def _plan(op: str, shape: tuple[int, ...], s: Any, axes: Any,
          inverse_real: bool = False) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Concrete (s, axes) with NumPy's defaults."""
    nd = len(shape)
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    axes = tuple(a % nd for a in axes) if nd else tuple(axes)
    if len(set(axes)) != len(axes):
        raise EmberError(f"fft.{op}: no gradient with repeated axes {axes}; transform each "
                         f"axis once (call fft.{op} again for a repeated transform)")
    if s is None:
        s = [shape[a] for a in axes]
        if inverse_real and axes:
            s[-1] = 2 * (s[-1] - 1)
    return tuple(s), axes


def _weights(g: Tensor, axis: int, n: int, inverse: bool = False) -> Tensor:
    """The Hermitian-completion weights of an n-point real inverse along axis (or their
    reciprocals), shaped to broadcast against g (which has n // 2 + 1 bins there)."""
    h = n // 2 + 1
    w = [1.0] + [0.5 if inverse else 2.0] * (h - 1)
    if n % 2 == 0 and h > 1:
        w[-1] = 1.0  # the Nyquist bin is its own partner
    wt = asarray(w, dtype=g.dtype, device=g.device, backend=g._b)
    return reshape(wt, (h,) + (1,) * (g.ndim - axis - 1))


# -- complex to complex ------------------------------------------------------------------------
@vjp("fft_fft")
def _fft(needs: Any, g: Any, out: Any, x: Any, n: Any, axis: int, norm: str) -> tuple[Any]:
    """x_bar = P^H ifft(g, norm=swapped): the adjoint of the DFT."""
    return (_like(_fit(F.ifft(g, axis=axis, norm=_SWAP[norm]), axis, x.shape[axis]), x),)


@vjp("fft_ifft")
def _ifft(needs: Any, g: Any, out: Any, x: Any, n: Any, axis: int, norm: str) -> tuple[Any]:
    """x_bar = P^H fft(g, norm=swapped): the adjoint of the inverse DFT."""
    return (_like(_fit(F.fft(g, axis=axis, norm=_SWAP[norm]), axis, x.shape[axis]), x),)


def _c2c_n(op: str, adjoint: Any, g: Tensor, x: Tensor, s: Any, axes: Any, norm: str) -> Tensor:
    s, axes = _plan(op, x.shape, s, axes)
    if not axes:
        return _like(g, x)
    return _like(_fit_all(adjoint(g, axes=axes, norm=_SWAP[norm]), axes, x.shape), x)


@vjp("fft_fftn")
def _fftn(needs: Any, g: Any, out: Any, x: Any, s: Any, axes: Any, norm: str) -> tuple[Any]:
    """x_bar = P^H ifftn(g, norm=swapped)."""
    return (_c2c_n("fftn", F.ifftn, g, x, s, axes, norm),)


@vjp("fft_ifftn")
def _ifftn(needs: Any, g: Any, out: Any, x: Any, s: Any, axes: Any, norm: str) -> tuple[Any]:
    """x_bar = P^H fftn(g, norm=swapped)."""
    return (_c2c_n("ifftn", F.fftn, g, x, s, axes, norm),)


# -- real to complex ---------------------------------------------------------------------------
@vjp("fft_rfft")
def _rfft(needs: Any, g: Any, out: Any, x: Any, n: Any, axis: int, norm: str) -> tuple[Any]:
    """x_bar = P^H Re(ifft(T^H g, norm=swapped)), T^H zero-padding the N//2 + 1 bins to N,
    computed as P^H irfft(g / w, N, norm=swapped): the real inverse reads each bin 0 < k < N/2
    twice (w = 2 there) and the DC and Nyquist bins once, their imaginary parts ignored (as
    Re drops them), so it is the same sum at half the complex transform's size."""
    size = x.shape[axis] if n is None else n
    half = multiply(g, _weights(g, axis, size, inverse=True))
    return (_like(_fit(F.irfft(half, n=size, axis=axis, norm=_SWAP[norm]), axis,
                       x.shape[axis]), x),)


@vjp("fft_rfftn")
def _rfftn(needs: Any, g: Any, out: Any, x: Any, s: Any, axes: Any, norm: str) -> tuple[Any]:
    """x_bar = P^H Re(ifftn(T^H g, norm=swapped)), T^H zero-padding the last axis to s[-1],
    computed as P^H irfftn(g / w, s, norm=swapped) (as rfft's; the weights act on the last
    axis only, so they commute with the complex inverses of the others)."""
    s, axes = _plan("rfftn", x.shape, s, axes)
    if not axes:
        raise EmberError("fft.rfftn: no gradient with empty axes (rfftn needs an axis)")
    half = multiply(g, _weights(g, axes[-1], s[-1], inverse=True))
    return (_like(_fit_all(F.irfftn(half, s=s, axes=axes, norm=_SWAP[norm]), axes, x.shape),
                  x),)


# -- complex to real ---------------------------------------------------------------------------
@vjp("fft_irfft")
def _irfft(needs: Any, g: Any, out: Any, x: Any, n: Any, axis: int, norm: str) -> tuple[Any]:
    """x_bar = P^H (w * rfft(g, norm=swapped)), w the Hermitian-completion weights."""
    size = 2 * (x.shape[axis] - 1) if n is None else n
    r = F.rfft(g, axis=axis, norm=_SWAP[norm])
    r = multiply(r, _weights(r, axis, size))
    return (_like(_fit(r, axis, x.shape[axis]), x),)


@vjp("fft_irfftn")
def _irfftn(needs: Any, g: Any, out: Any, x: Any, s: Any, axes: Any, norm: str) -> tuple[Any]:
    """x_bar = P^H (w * rfftn(g, norm=swapped)), w the Hermitian-completion weights of the
    last axis (the weights commute with the complex transforms of the other axes)."""
    s, axes = _plan("irfftn", x.shape, s, axes, inverse_real=True)
    if not axes:
        raise EmberError("fft.irfftn: no gradient with empty axes (irfftn needs an axis)")
    r = F.rfftn(g, axes=axes, norm=_SWAP[norm])
    r = multiply(r, _weights(r, axes[-1], s[-1]))
    return (_like(_fit_all(r, axes, x.shape), x),)
