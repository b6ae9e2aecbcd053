"""VJP rules of the element-wise kernels."""

from __future__ import annotations

import math
from typing import Any

from ..._tensor import Tensor
from ...ops import _elementwise as ew
from ...ops._creation import asarray
from ...ops._dtypes import astype
from ...ops._searching import where
from . import is_complex, mulc, unbroadcast, vjp, zeros

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0


def _unary(kernel: str, deriv: Any) -> None:
    """Register ``g * conj(deriv(x, out))`` as the rule of a unary kernel."""

    def rule(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
        return (mulc(g, deriv(x, out)),)

    rule.__name__ = f"vjp_{kernel}"
    vjp(kernel)(rule)


_unary("exp", lambda x, y: y)
_unary("expm1", lambda x, y: y + 1.0)
_unary("log", lambda x, y: 1.0 / x)
_unary("log1p", lambda x, y: 1.0 / (x + 1.0))
_unary("log2", lambda x, y: 1.0 / (x * _LN2))
_unary("log10", lambda x, y: 1.0 / (x * _LN10))
_unary("sqrt", lambda x, y: 0.5 / y)
_unary("square", lambda x, y: x * 2.0)
_unary("sin", lambda x, y: ew.cos(x))
_unary("cos", lambda x, y: -ew.sin(x))
_unary("tan", lambda x, y: ew.square(y) + 1.0)
_unary("asin", lambda x, y: 1.0 / ew.sqrt(1.0 - ew.square(x)))
_unary("acos", lambda x, y: -1.0 / ew.sqrt(1.0 - ew.square(x)))
_unary("atan", lambda x, y: 1.0 / (ew.square(x) + 1.0))
_unary("sinh", lambda x, y: ew.cosh(x))
_unary("cosh", lambda x, y: ew.sinh(x))
_unary("tanh", lambda x, y: 1.0 - ew.square(y))
_unary("asinh", lambda x, y: 1.0 / ew.sqrt(ew.square(x) + 1.0))
_unary("acosh", lambda x, y: 1.0 / (ew.sqrt(ew.square(x) - 1.0) if not is_complex(x)
                                    else ew.multiply(ew.sqrt(x - 1.0), ew.sqrt(x + 1.0))))
_unary("atanh", lambda x, y: 1.0 / (1.0 - ew.square(x)))
_unary("erf", lambda x, y: ew.exp(-ew.square(x)) * _TWO_OVER_SQRT_PI)
_unary("erfinv", lambda x, y: ew.exp(ew.square(y)) * _SQRT_PI_OVER_2)


@vjp("negative")
def _negative(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    return (ew.negative(g),)


@vjp("floor", "ceil", "round", "trunc")
def _piecewise_constant(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """Zero almost everywhere (as in PyTorch and JAX; TensorFlow gives None for some)."""
    return (zeros(x),)


@vjp("sign")
def _sign(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """Real: zero almost everywhere. Complex: sign(z) = z / |z| = s, whose cotangent is
    (g - Re(conj(g) s) s) / |z| (PyTorch's sgn backward; 0 at z = 0)."""
    if not is_complex(x):
        return (zeros(x),)
    r = ew.abs(x)
    zero = ew.equal(r, 0)
    radial = ew.multiply(ew.real(ew.multiply(ew.conj(g), out)), out)
    return (where(zero, 0.0, ew.divide(ew.subtract(g, radial), where(zero, 1.0, r))),)


@vjp("abs")
def _abs(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    if is_complex(x):  # d|z| = Re(conj(z)/|z| dz): the cotangent is g * z / |z| (0 at z = 0)
        zero = ew.equal(out, 0)
        return (where(zero, 0.0, ew.multiply(x, ew.divide(g, where(zero, 1.0, out)))),)
    return (ew.multiply(g, ew.sign(x)),)


@vjp("conj")
def _conj(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    return (ew.conj(g) if is_complex(x) else g,)


@vjp("real")
def _real(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    return (astype(g, x.dtype) if is_complex(x) else g,)


@vjp("imag")
def _imag(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    if not is_complex(x):
        return (zeros(x),)
    return (ew.multiply(astype(g, x.dtype), 1j),)


# -- binary ----------------------------------------------------------------------------------
def _binary(kernel: str, lift: bool = True) -> Any:
    """Register a rule of a binary kernel; with ``lift``, a Python-scalar operand arrives as a
    0-d tensor of the result's backend and dtype (it needs no cotangent: needs[i] is False)."""

    def deco(fn: Any) -> Any:
        if not lift:
            vjp(kernel, diff=(0, 1))(fn)
            return fn

        def rule(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> Any:
            if not isinstance(x1, Tensor):
                x1 = asarray(x1, dtype=out.dtype, backend=out._b)
            if not isinstance(x2, Tensor):
                x2 = asarray(x2, dtype=out.dtype, backend=out._b)
            return fn(needs, g, out, x1, x2)

        rule.__name__ = fn.__name__
        vjp(kernel, diff=(0, 1))(rule)
        return fn

    return deco


@_binary("add", lift=False)
def _add(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return (unbroadcast(g, x1) if needs[0] else None, unbroadcast(g, x2) if needs[1] else None)


@_binary("subtract", lift=False)
def _subtract(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return (unbroadcast(g, x1) if needs[0] else None,
            unbroadcast(ew.negative(g), x2) if needs[1] else None)


@_binary("multiply", lift=False)
def _multiply(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return (unbroadcast(mulc(g, x2), x1) if needs[0] else None,
            unbroadcast(mulc(g, x1), x2) if needs[1] else None)


@_binary("divide")
def _divide(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    gx1 = mulc(g, ew.divide(1.0, x2))
    return (unbroadcast(gx1, x1) if needs[0] else None,
            unbroadcast(ew.negative(mulc(gx1, out)), x2) if needs[1] else None)


@_binary("pow")
def _pow(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    g1 = g2 = None
    if needs[0]:
        g1 = unbroadcast(mulc(g, ew.multiply(x2, ew.pow(x1, x2 - 1.0))), x1)
    if needs[1]:
        # d/dy x**y = x**y log x, taken as 0 where x == 0 (the limit for y > 0), as PyTorch does
        zero = ew.equal(x1, 0)
        lg = where(zero, 0.0, ew.log(where(zero, 1.0, x1)))
        g2 = unbroadcast(mulc(g, ew.multiply(out, lg)), x2)
    return (g1, g2)


def _split(g: Any, take1: Any, x1: Any, x2: Any, needs: Any) -> tuple[Any, Any]:
    """Share g between x1 (where take1) and x2 (elsewhere), halves on ties."""
    tie = ew.equal(x1, x2)
    half = ew.multiply(g, 0.5)
    return (unbroadcast(where(tie, half, where(take1, g, 0.0)), x1) if needs[0] else None,
            unbroadcast(where(tie, half, where(take1, 0.0, g)), x2) if needs[1] else None)


@_binary("maximum")
def _maximum(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return _split(g, ew.greater(x1, x2), x1, x2, needs)


@_binary("minimum")
def _minimum(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return _split(g, ew.less(x1, x2), x1, x2, needs)


@_binary("atan2")
def _atan2(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    r = ew.divide(g, ew.add(ew.square(x1), ew.square(x2)))
    return (unbroadcast(ew.multiply(r, x2), x1) if needs[0] else None,
            unbroadcast(ew.negative(ew.multiply(r, x1)), x2) if needs[1] else None)


@_binary("hypot")
def _hypot(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    r = ew.divide(g, out)
    return (unbroadcast(ew.multiply(r, x1), x1) if needs[0] else None,
            unbroadcast(ew.multiply(r, x2), x2) if needs[1] else None)


@_binary("copysign")
def _copysign(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    flip = ew.not_equal(ew.signbit(x1), ew.signbit(out))
    return (unbroadcast(where(flip, ew.negative(g), g), x1) if needs[0] else None,
            unbroadcast(ew.multiply(g, 0.0), x2) if needs[1] else None)


@_binary("nextafter")
def _nextafter(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    """torch's rule: the result is x1 moved one ulp, so it follows x1 (1) and not x2 (0)."""
    return (unbroadcast(g, x1) if needs[0] else None,
            unbroadcast(ew.multiply(g, 0.0), x2) if needs[1] else None)


@_binary("logaddexp")
def _logaddexp(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return (unbroadcast(ew.multiply(g, ew.exp(ew.subtract(x1, out))), x1) if needs[0] else None,
            unbroadcast(ew.multiply(g, ew.exp(ew.subtract(x2, out))), x2) if needs[1] else None)


@_binary("remainder")
def _remainder(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return (unbroadcast(g, x1) if needs[0] else None,
            unbroadcast(ew.negative(ew.multiply(g, ew.floor_divide(x1, x2))), x2)
            if needs[1] else None)


@_binary("floor_divide")
def _floor_divide(needs: Any, g: Any, out: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    return (zeros(x1) if needs[0] else None, zeros(x2) if needs[1] else None)


@vjp("clip", diff=(0, 1, 2))
def _clip(needs: Any, g: Any, out: Any, x: Any, lo: Any, hi: Any) -> tuple[Any, Any, Any]:
    inside = None
    if lo is not None:
        inside = ew.greater_equal(x, lo)
    if hi is not None:
        below = ew.less_equal(x, hi)
        inside = below if inside is None else ew.logical_and(inside, below)
    gx = unbroadcast(g if inside is None else where(inside, g, 0.0), x) if needs[0] else None
    glo = unbroadcast(where(ew.less(x, lo), g, 0.0), lo) if needs[1] else None
    ghi = unbroadcast(where(ew.greater(x, hi), g, 0.0), hi) if needs[2] else None
    return (gx, glo, ghi)
