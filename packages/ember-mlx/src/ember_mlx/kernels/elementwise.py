"""Element-wise kernels: the bare MLX function wherever its semantics already match NumPy's."""

from __future__ import annotations

import builtins

import mlx.core as mx

from . import _f64
from ._util import BITS, SIGN_INT, is_complex, is_unsigned, scalar_array

F64 = mx.float64
_ERF_SLOPE_0 = 1.1283791670955126  # 2 / sqrt(pi)

__all__ = [
    "abs",
    "acos",
    "acosh",
    "add",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clip",
    "conj",
    "copysign",
    "cos",
    "cosh",
    "divide",
    "equal",
    "erf",
    "erfinv",
    "exp",
    "expm1",
    "floor",
    "floor_divide",
    "greater",
    "greater_equal",
    "hypot",
    "imag",
    "isfinite",
    "isinf",
    "isnan",
    "less",
    "less_equal",
    "log",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "nextafter",
    "not_equal",
    "pow",
    "real",
    "remainder",
    "round",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "trunc",
]

# --- bare MLX functions (same values and dtypes as NumPy; Python scalars stay weak) ----------
abs = mx.abs
acos = mx.arccos
acosh = mx.arccosh
add = mx.add
asin = mx.arcsin
asinh = mx.arcsinh
atan = mx.arctan
atan2 = mx.arctan2
atanh = mx.arctanh
bitwise_and = mx.bitwise_and
bitwise_invert = mx.bitwise_invert
bitwise_or = mx.bitwise_or
bitwise_xor = mx.bitwise_xor
ceil = mx.ceil
clip = mx.clip
conj = mx.conj
cosh = mx.cosh
divide = mx.divide
equal = mx.equal
floor = mx.floor
greater = mx.greater
greater_equal = mx.greater_equal
isfinite = mx.isfinite
isinf = mx.isinf
isnan = mx.isnan
less = mx.less
less_equal = mx.less_equal
log = mx.log
log1p = mx.log1p
log2 = mx.log2
log10 = mx.log10
logical_and = mx.logical_and
logical_not = mx.logical_not
logical_or = mx.logical_or
logical_xor = mx.logical_xor
maximum = mx.maximum
minimum = mx.minimum
multiply = mx.multiply
negative = mx.negative
not_equal = mx.not_equal
pow = mx.power
sinh = mx.sinh
sqrt = mx.sqrt
square = mx.square
subtract = mx.subtract
tan = mx.tan
tanh = mx.tanh
trunc = mx.trunc


# --- kernels that fix a difference from NumPy --------------------------------------------------
def _dtype(x1, x2):
    return x1.dtype if isinstance(x1, mx.array) else x2.dtype


def bitwise_left_shift(x1, x2):
    """NumPy: shifting by the bit width or more gives 0 (MLX wraps the shift count)."""
    bits = BITS[_dtype(x1, x2)]
    if isinstance(x2, int):
        return (
            mx.left_shift(x1, x2)
            if x2 < bits
            else mx.zeros_like(x1)
            if isinstance(x1, mx.array)
            else mx.zeros((), dtype=_dtype(x1, x2))
        )
    out = mx.left_shift(x1, mx.minimum(x2, bits - 1))
    return mx.where(x2 >= bits, mx.zeros((), dtype=out.dtype), out)


def bitwise_right_shift(x1, x2):
    """NumPy: shifting by the bit width or more gives 0 (or -1 for negative signed values)."""
    dt = _dtype(x1, x2)
    bits = BITS[dt]
    if isinstance(x2, int):
        if x2 < bits:
            return mx.right_shift(x1, x2)
        if is_unsigned(dt):
            return mx.zeros_like(x1) if isinstance(x1, mx.array) else mx.zeros((), dtype=dt)
        return mx.right_shift(x1, bits - 1)
    out = mx.right_shift(x1, mx.minimum(x2, bits - 1))
    if is_unsigned(dt):
        out = mx.where(x2 >= bits, mx.zeros((), dtype=dt), out)
    return out


def signbit(x):
    if x.dtype in SIGN_INT:
        itype, _ = SIGN_INT[x.dtype]
        return mx.less(x.view(itype), 0)
    if is_unsigned(x.dtype) or x.dtype == mx.bool_:
        return mx.zeros(x.shape, dtype=mx.bool_)
    return mx.less(x, 0)


def copysign(x1, x2):
    """Bit-exact: the magnitude bits of x1 with the sign bit of x2 (NaNs and -0.0 included)."""
    dt = _dtype(x1, x2)
    if not isinstance(x1, mx.array):
        x1 = scalar_array(x1, dt)
    if not isinstance(x2, mx.array):
        x2 = scalar_array(x2, dt)
    itype, smin = SIGN_INT[dt]
    sign = mx.array(smin, dtype=itype)
    mag = mx.bitwise_and(x1.view(itype), mx.bitwise_invert(sign))
    out = mx.bitwise_or(mag, mx.bitwise_and(x2.view(itype), sign))
    return out.view(dt)


def nextafter(x1, x2):
    """IEEE 754 nextafter from the bits (MLX has no kernel): x1's same-width integer view steps
    by one, up where x1 moves away from zero, down where it moves towards it; from a zero the
    result is the smallest subnormal with x2's sign; x2 where the two are equal (so -0 towards
    +0 is +0), NaN where either is NaN."""
    dt = _dtype(x1, x2)
    if not isinstance(x1, mx.array):
        x1 = scalar_array(x1, dt)
    if not isinstance(x2, mx.array):
        x2 = scalar_array(x2, dt)
    x1, x2 = mx.broadcast_arrays(x1, x2)
    itype, _ = SIGN_INT[dt]
    one = mx.array(1, dtype=itype)
    bits = mx.contiguous(x1).view(itype)
    away = mx.equal(mx.greater(x2, x1), mx.greater(x1, 0))
    stepped = mx.where(away, bits + one, bits - one).view(dt)
    tiny = one.view(dt)
    out = mx.where(mx.equal(x1, 0), mx.where(mx.greater(x2, 0), tiny, -tiny), stepped)
    out = mx.where(mx.equal(x1, x2), x2, out)
    return mx.where(mx.logical_or(mx.isnan(x1), mx.isnan(x2)), mx.array(float("nan"), dt), out)


def hypot(x1, x2):
    dt = _dtype(x1, x2)
    work = mx.float32 if dt in (mx.float16, mx.bfloat16) else dt
    a = (
        mx.abs(x1).astype(work)
        if isinstance(x1, mx.array)
        else scalar_array(builtins.abs(x1), work)
    )
    b = (
        mx.abs(x2).astype(work)
        if isinstance(x2, mx.array)
        else scalar_array(builtins.abs(x2), work)
    )
    # a where, not maximum/minimum: at a tie |x1| == |x2| MLX's vjp of the pair gave 0
    first = a >= b
    big, small = mx.where(first, a, b), mx.where(first, b, a)
    safe = mx.where(big == 0, mx.array(1, dtype=work), big)
    r = big * mx.sqrt(1 + mx.square(small / safe))
    r = mx.where(mx.isinf(a) | mx.isinf(b), mx.array(float("inf"), dtype=work), r)
    return r.astype(dt) if work != dt else r


def expm1(x):
    if is_complex(x.dtype):  # MLX's expm1 is real-only
        return mx.exp(x) - 1
    return mx.expm1(x)


def sign(x):
    """MLX gives sign(NaN) = 0; NumPy (and the Array API) give NaN."""
    s = mx.sign(x)
    if mx.issubdtype(x.dtype, mx.floating):
        return mx.where(mx.isnan(x), x, s)
    if is_complex(x.dtype):
        return mx.where(mx.isnan(x), mx.array(complex("nan+nanj"), dtype=x.dtype), s)
    return s


def round(x):
    if is_complex(x.dtype):
        return mx.round(mx.real(x)) + 1j * mx.round(mx.imag(x))
    return mx.round(x)


def real(x):
    return mx.real(x) if is_complex(x.dtype) else x


def imag(x):
    return mx.imag(x) if is_complex(x.dtype) else mx.zeros_like(x)


def remainder(x1, x2):
    """MLX matches NumPy except -0.0 results (NumPy gives 0 with the divisor's sign) and
    integer division by zero (NumPy gives 0)."""
    r = mx.remainder(x1, x2)
    if mx.issubdtype(r.dtype, mx.floating):
        neg = mx.less(x2, 0) if isinstance(x2, mx.array) else x2 < 0
        zero = mx.where(neg, mx.array(-0.0, dtype=r.dtype), mx.array(0.0, dtype=r.dtype))
        return mx.where(r == 0, zero, r)
    if isinstance(x2, mx.array):
        return mx.where(x2 == 0, mx.zeros((), dtype=r.dtype), r)
    return r if x2 != 0 else mx.zeros_like(r)


def floor_divide(x1, x2):
    """Integers: MLX matches NumPy. Floats: NumPy's divmod algorithm (1.0 // 0.1 == 9.0, and
    -5.0 // inf == -1.0), which floor(x1 / x2) does not give."""
    dt = _dtype(x1, x2)
    if not mx.issubdtype(dt, mx.floating):
        return mx.floor_divide(x1, x2)
    if not isinstance(x1, mx.array):
        x1 = scalar_array(x1, dt)
    if not isinstance(x2, mx.array):
        x2 = scalar_array(x2, dt)
    zero = mx.array(0, dtype=dt)
    r = mx.remainder(x1, x2)  # sign of x2; fmod has the sign of x1
    mod = mx.where((r != 0) & ((r < 0) != (x1 < 0)), r - x2, r)  # = fmod(x1, x2)
    # |x1| < |x2|: fmod is x1 itself, but r = x1 + x2 rounded away x1's low bits (1.0 // -3e10
    # gave 0.0, not -1.0); where |x1| >= |x2| the sum is exact. Covers x2 = +-inf too
    mod = mx.where((mx.abs(x1) < mx.abs(x2)) & mx.isfinite(x1), x1, mod)
    div = (x1 - mod) / x2
    div = mx.where((mod != 0) & ((x2 < 0) != (mod < 0)), div - 1, div)
    fl = mx.floor(div)
    fl = mx.where(div - fl > 0.5, fl + 1, fl)
    out = mx.where(div != 0, fl, copysign(zero, x1 / x2))
    return mx.where(x2 == 0, x1 / x2, out)


def sin(x):
    """MLX's sin(-0.0) is +0.0; NumPy (and the Array API) keep -0.0."""
    if x.dtype == F64:
        return _f64.sin(x)
    return mx.where(x == 0, x, mx.sin(x))


def erf(x):
    """MLX's erf(-0.0) is +0.0; NumPy keeps -0.0. The zero branch is x * erf'(0), which keeps
    the sign of zero and the derivative there (MLX's autodiff differentiates this kernel)."""
    if x.dtype == F64:
        return _f64.erf(x)
    return mx.where(x == 0, x * _ERF_SLOPE_0, mx.erf(x))


# MLX computes these in float32 precision even for float64 input: float64 goes to the host
def exp(x):
    return _f64.exp(x) if x.dtype == F64 else mx.exp(x)


def cos(x):
    return _f64.cos(x) if x.dtype == F64 else mx.cos(x)


def erfinv(x):
    return _f64.erfinv(x) if x.dtype == F64 else mx.erfinv(x)


def logaddexp(x1, x2):
    if _dtype(x1, x2) == F64:
        return _f64.logaddexp(x1, x2)
    return mx.logaddexp(x1, x2)
