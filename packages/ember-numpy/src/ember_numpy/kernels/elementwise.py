"""Element-wise kernels: bare NumPy ufuncs wherever the ufunc already has Array API semantics.

Binary kernels may get a Python scalar as either operand; NumPy >= 2 treats it as a weak scalar
(NEP 50), so the result keeps the array's dtype. Results of 0-d operations may be NumPy scalars
(``np.generic``), which the backend accepts as 0-d native arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .special import erf, erfinv

__all__ = [
    "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh",
    "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "ceil", "clip", "conj", "copysign", "cos", "cosh",
    "divide", "equal", "erf", "erfinv", "exp", "expm1", "floor", "floor_divide", "greater",
    "greater_equal", "hypot", "imag", "isfinite", "isinf", "isnan", "less", "less_equal", "log",
    "log1p", "log2", "log10", "logaddexp", "logical_and", "logical_not", "logical_or",
    "logical_xor", "maximum", "minimum", "multiply", "negative", "not_equal", "pow", "real",
    "remainder", "round", "sign", "signbit", "sin", "sinh", "sqrt", "square", "subtract", "tan",
    "tanh", "trunc",
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
