"""Element-wise kernels: bare NumPy ufuncs wherever the ufunc already has Array API semantics.

Binary kernels may get a Python scalar as either operand; NumPy >= 2 treats it as a weak scalar
(NEP 50), so the result keeps the array's dtype. Results of 0-d operations may be NumPy scalars
(``np.generic``), which the backend accepts as 0-d native arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh",
    "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "ceil", "clip", "conj", "copysign", "cos", "cosh",
    "divide", "equal", "erf", "erfinv", "exp", "expm1", "floor", "floor_divide", "greater",
    "greater_equal", "hypot", "imag", "isfinite", "isinf", "isnan", "less", "less_equal", "log",
    "log1p", "log2", "log10", "logaddexp", "logical_and", "logical_not", "logical_or",
    "logical_xor", "maximum", "minimum", "multiply", "negative", "nextafter", "not_equal", "pow",
    "real", "remainder", "round", "sign", "signbit", "sin", "sinh", "sqrt", "square", "subtract",
    "tan", "tanh", "trunc",
]  # fmt: skip

abs = np.absolute
acos = np.arccos
acosh = np.arccosh
add = np.add
asin = np.arcsin
asinh = np.arcsinh
atan = np.arctan
atan2 = np.arctan2
atanh = np.arctanh
bitwise_and = np.bitwise_and
bitwise_invert = np.invert
bitwise_left_shift = np.left_shift
bitwise_or = np.bitwise_or
bitwise_right_shift = np.right_shift
bitwise_xor = np.bitwise_xor
conj = np.conjugate
copysign = np.copysign
cos = np.cos
cosh = np.cosh
divide = np.divide
equal = np.equal
exp = np.exp
expm1 = np.expm1
floor_divide = np.floor_divide
greater = np.greater
greater_equal = np.greater_equal
hypot = np.hypot
isfinite = np.isfinite
isinf = np.isinf
isnan = np.isnan
less = np.less
less_equal = np.less_equal
log = np.log
log1p = np.log1p
log2 = np.log2
log10 = np.log10
logaddexp = np.logaddexp
logical_and = np.logical_and
logical_not = np.logical_not
logical_or = np.logical_or
logical_xor = np.logical_xor
maximum = np.maximum  # propagates NaN
minimum = np.minimum  # propagates NaN
multiply = np.multiply
negative = np.negative
not_equal = np.not_equal
pow = np.power
remainder = np.remainder  # sign of the divisor, like Python's %
sign = np.sign  # NumPy >= 2: x / |x| for complex, 0 for 0
signbit = np.signbit
sin = np.sin
sinh = np.sinh
sqrt = np.sqrt
square = np.square
subtract = np.subtract
tan = np.tan
tanh = np.tanh


def nextafter(x1: Any, x2: Any) -> np.ndarray:
    """NumPy's, with x2 where the two are equal in float16 too: NumPy's float16 version returns
    x1 there (nextafter(-0.0, +0.0) gave -0.0; the standard and C's nextafter say +0.0). A step
    from the largest finite value to infinity is the answer, not an overflow to warn about."""
    with np.errstate(over="ignore"):
        out = np.nextafter(x1, x2)
    if out.dtype == np.float16:
        out = np.where(np.equal(x1, x2), x2, out).astype(np.float16, copy=False)
    return out


def _keeps_integers(ufunc: np.ufunc) -> bool:
    return bool(ufunc(np.array([1], dtype=np.int8)).dtype == np.int8)


def _integer_passthrough(ufunc: np.ufunc) -> Any:
    """``ufunc`` for floats; integers are returned unchanged (NumPy < 2.1 returned floats)."""

    def kernel(x: Any) -> Any:
        if x.dtype.kind in "iub":
            return x
        return ufunc(x)

    kernel.__name__ = ufunc.__name__
    kernel.__doc__ = f"np.{ufunc.__name__}, keeping integer input (and its dtype) unchanged."
    return kernel


# NumPy >= 2.1 keeps integer dtypes in floor/ceil/trunc; older versions need the wrapper.
ceil = np.ceil if _keeps_integers(np.ceil) else _integer_passthrough(np.ceil)
floor = np.floor if _keeps_integers(np.floor) else _integer_passthrough(np.floor)
trunc = np.trunc if _keeps_integers(np.trunc) else _integer_passthrough(np.trunc)


def round(x: Any) -> Any:
    """Round half to even; integers unchanged; complex rounds both parts."""
    if x.dtype.kind in "fc":
        return np.rint(x)
    return x


def clip(x: Any, min: Any, max: Any) -> Any:
    """Clamp to [min, max]; either bound may be None, a Python scalar or an array; NaN propagates.

    The result keeps ``x``'s dtype (and ``x``'s shape broadcast with array bounds).
    """
    if min is None and max is None:
        return np.array(x, copy=True)
    dtype = x.dtype
    if min is not None:
        x = np.maximum(x, min)
    if max is not None:
        x = np.minimum(x, max)
    return x if x.dtype == dtype else x.astype(dtype)


def real(x: Any) -> Any:
    """Real part; ``x`` itself for real input."""
    return np.real(x)


def imag(x: Any) -> Any:
    """Imaginary part; zeros of ``x``'s dtype for real input."""
    if x.dtype.kind == "c":
        return np.imag(x)
    return np.zeros_like(x)


# -- erf and erfinv --------------------------------------------------------------------------------
# The error function and its inverse, in NumPy alone (NumPy has neither; SciPy is not a dependency).
#
# ``erf`` is evaluated in float64 from two Chebyshev expansions whose coefficients were computed
# for this module with mpmath at 50 digits (interpolation at 60/80 Chebyshev nodes, truncated
# where the terms fall below 1e-19):
#
# * ``|x| < 1``: ``erf(x) = x * A(2 x**2 - 1)``;
# * ``1 <= |x| < 6.5``: ``erfc(|x|) = exp(-x**2) * erfcx(|x|)`` with the scaled complementary
#   function ``erfcx`` expanded in ``t = (|x| - 3) / (|x| + 3)`` (Weideman's change of variable);
#   ``exp(-x**2)`` is evaluated with ``x**2`` split into a double-double so that the result keeps
#   full relative accuracy;
# * ``|x| >= 6.5``: ``erf(x) = sign(x)`` exactly (``erfc(6.5) < 1e-19``).
#
# The relative error is below ~2e-16 in float64; float16 and float32 are computed in float64 and
# rounded once. ``erfinv`` starts from M. Giles' single-precision approximation ("Approximating
# the erfinv function", GPU Computing Gems, 2011) and takes Halley steps on ``erf(x) - y`` for
# ``|y| <= 0.5`` and on ``erfc(|x|) - (1 - |y|)`` (where ``1 - |y|`` is exact) otherwise.

# erf(x) / x as a Chebyshev series in s = 2 x**2 - 1, for |x| <= 1
_ERF_SMALL = (
    0.9754769393826541, -0.14226120510371365, 0.010035582187599796, -0.0005768764699767485,
    2.741993125219606e-05, -1.1043175507344507e-06, 3.8488755420345036e-08,
    -1.1808582533875466e-09, 3.2334215826050907e-11, -7.991015947004549e-13,
    1.7990725113961456e-14, -3.718635487818693e-16, 7.103599003714253e-18,
    -1.2612455119155226e-19,
)  # fmt: skip

# erfcx(x) = exp(x**2) erfc(x) as a Chebyshev series in t = (x - 3) / (x + 3), t in [-1/2, 7/19]
_ERFCX_LO, _ERFCX_HI = -0.5, 7.0 / 19.0
_ERFCX_MID = (
    0.22877285266710262, -0.16725938628855463, 0.02756102767486115, -0.0036048549498720736,
    0.0003599847477973169, -2.4758447895718983e-05, 7.637230954593136e-07,
    4.66665073875622e-08, -5.713017625677385e-09, -5.093613670571672e-12,
    3.06946532169969e-11, -5.51523532264412e-13, -1.840584950833798e-13,
    3.980980741395734e-15, 1.2942486476072882e-15, -1.2541949258341195e-17,
    -1.0034830080449231e-17, -1.5590069643124847e-19, 7.703290864445359e-20,
)  # fmt: skip

_TWO_OVER_SQRT_PI = 1.1283791670955126
_SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitting constant for float64


def _clenshaw(s: np.ndarray, coeffs: tuple[float, ...]) -> np.ndarray:
    """Sum of ``coeffs[k] * T_k(s)`` (Chebyshev polynomials of the first kind)."""
    s2 = 2.0 * s
    b1 = np.full_like(s, coeffs[-1])
    b2 = np.zeros_like(s)
    for c in coeffs[-2:0:-1]:
        b1, b2 = s2 * b1 - b2 + c, b1
    return s * b1 - b2 + coeffs[0]


def _exp_neg_square(x: np.ndarray) -> np.ndarray:
    """``exp(-x*x)`` with ``x*x`` carried as a double-double (full relative accuracy)."""
    p = x * x
    c = _SPLIT * x
    hi = c - (c - x)
    lo = x - hi
    err = ((hi * hi - p) + 2.0 * hi * lo) + lo * lo  # x*x == p + err exactly (up to rounding)
    return np.exp(-p) * (1.0 - err)


def _erfc_mid(ax: np.ndarray) -> np.ndarray:
    """erfc(ax) for float64 ``1 <= ax < 6.5``."""
    t = (ax - 3.0) / (ax + 3.0)
    s = (2.0 * t - (_ERFCX_LO + _ERFCX_HI)) / (_ERFCX_HI - _ERFCX_LO)
    return _exp_neg_square(ax) * _clenshaw(s, _ERFCX_MID)


def _erf64(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    small = ax < 1.0
    xs = np.where(small, x, 0.0)
    out = xs * _clenshaw(2.0 * (xs * xs) - 1.0, _ERF_SMALL)
    mid = ~small & (ax < 6.5)
    if mid.any():
        out[mid] = np.copysign(1.0 - _erfc_mid(ax[mid]), x[mid])
    big = ~small & ~mid  # |x| >= 6.5 and NaN
    if big.any():
        out[big] = np.sign(x[big])  # NaN stays NaN
    return out


def erfc_positive(ax: np.ndarray) -> np.ndarray:
    """erfc for float64 ``ax >= 0`` (relative accuracy for ``ax`` up to 6.5; 0 beyond)."""
    out = np.empty_like(ax)
    small = ax < 1.0
    if small.any():
        xs = ax[small]
        out[small] = 1.0 - xs * _clenshaw(2.0 * (xs * xs) - 1.0, _ERF_SMALL)
    mid = ~small & (ax < 6.5)
    if mid.any():
        out[mid] = _erfc_mid(ax[mid])
    big = ~small & ~mid
    if big.any():
        out[big] = np.where(np.isnan(ax[big]), np.nan, 0.0)
    return out


def _real_float64(x: object) -> tuple[np.ndarray, np.dtype]:
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise TypeError("erf/erfinv are defined for real floating-point input only")
    dtype = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    return np.atleast_1d(a.astype(np.float64)), dtype


def erf(x: np.ndarray) -> np.ndarray:
    """Gauss error function, ``2/sqrt(pi) * integral_0^x exp(-t**2) dt``."""
    a, dtype = _real_float64(x)
    return _erf64(a).astype(dtype, copy=False).reshape(np.shape(x))


def _giles(y: np.ndarray) -> np.ndarray:
    """M. Giles' single-precision erfinv approximation (relative error ~1e-7 for float32 y)."""
    w = -np.log((1.0 - y) * (1.0 + y))
    central = w < 5.0
    wc = w - 2.5
    p: Any = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):  # fmt: skip
        p = c + p * wc
    wt = np.sqrt(np.maximum(w, 5.0)) - 3.0
    q: Any = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):  # fmt: skip
        q = c + q * wt
    return np.where(central, p, q) * y


def erfinv(x: np.ndarray) -> np.ndarray:
    """Inverse error function on [-1, 1] (+-inf at +-1, NaN outside)."""
    y, dtype = _real_float64(x)
    with np.errstate(all="ignore"):
        inside = np.abs(y) < 1.0
        yi = np.where(inside, y, 0.0)
        r = _giles(yi)
        tail = np.abs(yi) > 0.5
        central = ~tail
        if central.any():
            # Halley on f(r) = erf(r) - y: f' = 2/sqrt(pi) exp(-r**2), f'' = -2 r f'
            rc, yc = r[central], yi[central]
            for _ in range(2):
                t = (_erf64(rc) - yc) / (_TWO_OVER_SQRT_PI * np.exp(-rc * rc))
                rc = rc - t / (1.0 + rc * t)
            r[central] = rc
        if tail.any():
            # Halley on g(a) = erfc(a) - (1 - |y|): g' = -2/sqrt(pi) exp(-a**2), g'' = -2 a g'
            q = 1.0 - np.abs(yi[tail])
            a = np.abs(r[tail])
            far = q < 1e-8  # beyond the range Giles' approximation was fitted for
            if far.any():
                # Newton on log(erfc(a)) - log(q), which is close to quadratic in a
                af, qf = a[far], q[far]
                for _ in range(3):
                    ec = erfc_positive(af)
                    af = af + np.log(ec / qf) * ec / (_TWO_OVER_SQRT_PI * _exp_neg_square(af))
                a[far] = af
            for _ in range(2):
                t = (erfc_positive(a) - q) / (-_TWO_OVER_SQRT_PI * _exp_neg_square(a))
                a = a - t / (1.0 + a * t)
            r[tail] = np.copysign(a, yi[tail])
        out = np.where(inside, r, np.where(np.abs(y) == 1.0, np.copysign(np.inf, y), np.nan))
    return out.astype(dtype, copy=False).reshape(np.shape(x))
