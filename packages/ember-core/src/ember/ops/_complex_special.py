"""The Array API's special cases for complex arguments, enforced on every backend.

The libraries under ember follow C99's ``cexp``/``ctanh`` tables only in part (NumPy's and
torch's ``expm1`` compute ``exp(z) - 1`` naively; NumPy's ``sign`` gives ``1j`` for ``nan +
inf j``; MLX's gives ``-0`` for ``-0 + 0j``; all three give ``1 - 0j`` for ``tanh(inf + 3j)``
where the standard says ``1 + 0j``; torch on CUDA gives ``NaN + NaN j`` for ``tanh(0 + inf j)``
and ``acosh(0 + nan j)``). For the ops listed here, ember runs the backend's kernel
and then puts the standard's value where an input is one of those special cases, with ember
ops (``where`` on masks of the real and imaginary parts): the same answer on every backend,
for complex inputs only (real inputs never come here), and gradients flow through the
kernel's result everywhere else. Each table is checked by the kit against the standard's
tables (``ember.testing._special_cases``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .._tensor import Tensor

__all__ = ["FIXES"]

_INF, _NAN = math.inf, math.nan
_PI2 = math.pi / 2


def _parts(x: Tensor) -> tuple[Tensor, Tensor]:
    from ._elementwise import imag, real

    return real(x), imag(x)


def _put(out: Tensor, mask: Tensor, value: complex) -> Tensor:
    from ._searching import where

    return where(mask, value, out)


def _zero(v: Tensor) -> Tensor:
    return v == 0


def _pos(v: Tensor) -> Tensor:
    """+0 or a positive number (sign bit clear, not NaN)."""
    from ._elementwise import isnan, logical_and, logical_not, signbit

    return logical_and(logical_not(signbit(v)), logical_not(isnan(v)))


def _both(*masks: Tensor) -> Tensor:
    from ._elementwise import logical_and

    out = masks[0]
    for m in masks[1:]:
        out = logical_and(out, m)
    return out


def _either(a: Tensor, b: Tensor) -> Tensor:
    from ._elementwise import logical_or

    return logical_or(a, b)


def _not(m: Tensor) -> Tensor:
    from ._elementwise import logical_not

    return logical_not(m)


def _isnan(v: Tensor) -> Tensor:
    from ._elementwise import isnan

    return isnan(v)


def _isinf(v: Tensor) -> Tensor:
    from ._elementwise import isinf

    return isinf(v)


def _isfinite(v: Tensor) -> Tensor:
    from ._elementwise import isfinite

    return isfinite(v)


def _by_imag_sign(out: Tensor, mask: Tensor, b: Tensor, value: complex) -> Tensor:
    """``value`` where mask and b >= +0; its conjugate where mask and b <= -0 (the
    standard's rule ``f(conj(z)) == conj(f(z))`` for these functions)."""
    pos = _pos(b)
    out = _put(out, _both(mask, pos), value)
    return _put(out, _both(mask, _not(pos), _not(_isnan(b))), value.conjugate())


def _expm1(x: Tensor, out: Tensor) -> Tensor:
    a, b = _parts(x)
    b_special = _either(_isinf(b), _isnan(b))
    out = _by_imag_sign(out, _both(_zero(a), _zero(b)), b, complex(0.0, 0.0))
    out = _by_imag_sign(out, _both(a == _INF, _zero(b)), b, complex(_INF, 0.0))
    out = _by_imag_sign(out, _both(_isnan(a), _zero(b)), b, complex(_NAN, 0.0))
    out = _put(out, _both(a == -_INF, b_special), complex(-1.0, 0.0))
    return _put(out, _both(a == _INF, b_special), complex(_INF, _NAN))


def _tanh(x: Tensor, out: Tensor) -> Tensor:
    a, b = _parts(x)
    fin = _isfinite(b)
    out = _by_imag_sign(out, _both(a == _INF, fin), b, complex(1.0, 0.0))
    out = _by_imag_sign(out, _both(a == -_INF, fin), b, complex(-1.0, 0.0))
    # a zero real part with an infinite or NaN imaginary one keeps its zero (CUDA gives NaN)
    zero_nonfinite = _both(_zero(a), _not(fin))
    out = _put(out, _both(zero_nonfinite, _pos(a)), complex(0.0, _NAN))
    return _put(out, _both(zero_nonfinite, _not(_pos(a))), complex(-0.0, _NAN))


def _acosh(x: Tensor, out: Tensor) -> Tensor:
    a, b = _parts(x)
    return _put(out, _both(_zero(a), _isnan(b)), complex(_NAN, _PI2))  # CUDA: NaN + NaN j


def _acos(x: Tensor, out: Tensor) -> Tensor:
    a, b = _parts(x)
    return _by_imag_sign(out, _both(_zero(a), _zero(b)), b, complex(_PI2, -0.0))


def _log1p(x: Tensor, out: Tensor) -> Tensor:
    a, b = _parts(x)
    mask = _either(_both(_isinf(a), _isnan(b)), _both(_isnan(a), _isinf(b)))
    return _put(out, mask, complex(_INF, _NAN))


def _sign(x: Tensor, out: Tensor) -> Tensor:
    a, b = _parts(x)
    out = _put(out, _both(_zero(a), _zero(b)), complex(0.0, 0.0))
    return _put(out, _either(_isnan(a), _isnan(b)), complex(_NAN, _NAN))


#: op name -> ``fix(x, out)``: out with the standard's values at x's special cases
FIXES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "acos": _acos, "acosh": _acosh, "expm1": _expm1, "log1p": _log1p, "sign": _sign, "tanh": _tanh,
}
