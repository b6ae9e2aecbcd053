"""Element-wise ops. Each public function has a fast path (tensors of one backend and one
dtype: unwrap, call the kernel, wrap) and falls back to ``_dispatch`` for promotion, Python
scalars and errors. The categories decide which dtypes an op takes and what it returns."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from .. import _dtypes as dt
from .._catalogue import BY_NAME
from .._dispatch import backend_of, cast_native, fail, native_of, promote_binary, rebase
from .._errors import DTypeError
from .._kernels import Kernels
from .._tensor import Tensor
from ..autodiff._variables import Variable as V
from ._complex_special import FIXES

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
    "log10",
    "log1p",
    "log2",
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
    "positive",
    "pow",
    "real",
    "reciprocal",
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

T = Tensor

# unary ---------------------------------------------------------------------------------------


#: element-wise functions the 2024.12 standard added (the rest are 2023.12's)
_SINCE_2024_12 = frozenset({"nextafter"})


def _finish(fn: Callable[..., Any], name: str, sig: str) -> Callable[..., Any]:
    spec = BY_NAME[name]
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    version = "2024.12" if name in _SINCE_2024_12 else "2023.12"
    fn.__doc__ = f"{spec.summary}\n\nSignature: ``ember.{name}{sig}`` (Python Array API {version})."
    return fn


def _as_tensor(op: str, x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    b = backend_of(op, x)
    return Tensor(native_of(b, x, op), b)


# dtype sets (ember DTypes hash by identity: membership is one cheap lookup)
_ALL = frozenset(dt.ALL_DTYPES)
_INEXACT = frozenset(d for d in dt.ALL_DTYPES if d.kind in "fc")
_NUMERIC = frozenset(d for d in dt.ALL_DTYPES if d.kind != "b")
_INTEGRAL = frozenset(d for d in dt.ALL_DTYPES if d.kind in "iub")
_INTEGER = frozenset(d for d in dt.ALL_DTYPES if d.kind in "iu")
_BOOL = frozenset([dt.bool])
_COMPLEX = frozenset(d for d in dt.ALL_DTYPES if d.kind == "c")
_REAL_FLOATING = frozenset(d for d in dt.ALL_DTYPES if d.kind == "f")
_REAL_OF = {dt.complex64: dt.float32, dt.complex128: dt.float64}

def _result(kind: str, d: dt.DType) -> dt.DType:
    if kind == "bool":
        return dt.bool
    if kind == "real":
        return _REAL_OF.get(d, d)
    return d


# The fast paths below run on every element-wise call, so they are written for speed: the
# kernel is found by its position in the backend's kernel table (``b.kernels[i]``, a tuple
# item; ``i`` is looked up once, here, so a misspelt name fails at import), and the result dtype
# is a constant (``bool``), the operand's, or for ``real`` ops read from a table built here.
# Measured in one process on NumPy 4x4 float32 (alternating rounds, min of each): within
# 0-20 ns (the machine's noise) of the exec-generated functions they replace (~500 ns a call).


def _unary_fast(name: str, ok: frozenset[dt.DType], result: str,
                slow: Callable[[Any], Tensor]) -> Callable[[Any], Tensor]:
    i = Kernels._fields.index(name)
    res = dt.bool if result == "bool" else None  # a fixed result dtype, else the operand's...
    real_of = {d: _REAL_OF.get(d, d) for d in ok} if result == "real" else {}  # ...or its real

    def op(x: Any, /) -> Tensor:
        tx = type(x)
        if tx is T or tx is V:
            d = x._d or x.dtype  # the cached dtype; filled from the native array if missing
            if d in ok:
                b = x._b
                try:
                    return T(b.kernels[i](x._n), b, res or (real_of[d] if real_of else d))
                except Exception as exc:
                    raise fail(name, (x,), exc) from exc
        return slow(x)

    return op


def _binary_fast(name: str, ok: frozenset[dt.DType], result: str,
                 slow: Callable[[Any, Any], Tensor]) -> Callable[[Any, Any], Tensor]:
    i = Kernels._fields.index(name)
    if result not in ("same", "bool"):
        raise ValueError(f"{name}: a binary op's result is 'same' or 'bool', not {result!r}")
    res = dt.bool if result == "bool" else None  # a fixed result dtype, else the operands'
    scalar_ok = ok & _INEXACT  # a Python float or int beside a floating-point tensor

    def op(x1: Any, x2: Any, /) -> Tensor:
        t1 = type(x1)
        t2 = type(x2)
        if t1 is T or t1 is V:
            d = x1._d or x1.dtype  # the cached dtype; filled from the native array if missing
            if t2 is T or t2 is V:
                if d is (x2._d or x2.dtype) and d in ok:
                    b = x1._b
                    if x2._b is not b:
                        if x2._b.root is not b.root:
                            return slow(x1, x2)
                        if b is b.root:  # one operand is tracked by a tape: its recording twin
                            b = x2._b
                    try:
                        return T(b.kernels[i](x1._n, x2._n), b, res or d)
                    except Exception as exc:
                        raise fail(name, (x1, x2), exc) from exc
            elif (t2 is float or t2 is int) and d in scalar_ok:
                b = x1._b
                return T(b.kernels[i](x1._n, x2), b, res or d)
        elif (t2 is T or t2 is V) and (t1 is float or t1 is int):
            d = x2._d or x2.dtype
            if d in scalar_ok:
                b = x2._b
                return T(b.kernels[i](x1, x2._n), b, res or d)
        return slow(x1, x2)

    return op


def _unary(name: str, ok: frozenset, result: str = "same", *, cast_ints: bool = False,
           identity_ints: bool = False, kinds_msg: str = "", to_bool: bool = False) -> Callable[..., Tensor]:
    fix = FIXES.get(name)  # complex inputs take the slow path, which enforces special cases
    fast_ok = ok - _COMPLEX if fix is not None else ok

    def slow(x: Any) -> Tensor:
        x = _as_tensor(name, x)
        b = x._b
        d = x.dtype
        if identity_ints and d.kind in "iub":
            return x
        if to_bool and d is not dt.bool:
            return op(Tensor(cast_native(b, x._n, dt.bool), b, dt.bool))
        if cast_ints and d.kind in "iub":
            f = dt.default_float()
            return op(Tensor(cast_native(b, x._n, f), b, f))
        if d not in ok:
            raise DTypeError(f"{name} takes {kinds_msg} tensors, got {d}; cast with ember.astype")
        try:
            out = T(getattr(b.kernels, name)(x._n), b, _result(result, d))
        except Exception as exc:
            raise fail(name, (x,), exc) from exc
        return fix(x, out) if fix is not None and d in _COMPLEX else out

    op = _unary_fast(name, fast_ok, result, slow)
    return _finish(op, name, "(x, /)")


def _binary(name: str, ok: frozenset, result: str = "same", *, inexact: bool = False,
            kinds: str = "", to_bool: bool = False, numeric: bool = False) -> Callable[..., Tensor]:
    def slow(x1: Any, x2: Any) -> Tensor:
        if to_bool:
            b = backend_of(name, x1, x2)
            n1 = native_of(b, x1, name, dt.bool)
            n2 = native_of(b, x2, name, dt.bool)
            target = dt.bool
        else:
            b, n1, n2, target = promote_binary(name, x1, x2, inexact=inexact, kinds=kinds)
            if numeric and target is dt.bool:
                raise DTypeError(
                    f"{name} takes numeric tensors, got bool; cast with ember.astype(x, ember.int8) "
                    f"or use ember.logical_*"
                )
        try:
            return T(getattr(b.kernels, name)(n1, n2), b, _result(result, target))
        except Exception as exc:
            raise fail(name, (_as_tensor(name, x1), _as_tensor(name, x2)), exc) from exc

    op = _binary_fast(name, ok, result, slow)
    return _finish(op, name, "(x1, x2, /)")


negative = _unary("negative", _NUMERIC, kinds_msg="numeric")
square = _unary("square", _NUMERIC, kinds_msg="numeric")
sign = _unary("sign", _NUMERIC, kinds_msg="numeric")
conj = _unary("conj", _NUMERIC, kinds_msg="numeric")
abs = _unary("abs", _NUMERIC, "real", kinds_msg="numeric")
real = _unary("real", _NUMERIC, "real", kinds_msg="numeric")
imag = _unary("imag", _NUMERIC, "real", kinds_msg="numeric")
isfinite = _unary("isfinite", _NUMERIC, "bool", kinds_msg="numeric")
isinf = _unary("isinf", _NUMERIC, "bool", kinds_msg="numeric")
isnan = _unary("isnan", _NUMERIC, "bool", kinds_msg="numeric")
signbit = _unary("signbit", _NUMERIC, "bool", kinds_msg="numeric")
acos = _unary("acos", _INEXACT, cast_ints=True, kinds_msg="floating-point")
acosh = _unary("acosh", _INEXACT, cast_ints=True, kinds_msg="floating-point")
asin = _unary("asin", _INEXACT, cast_ints=True, kinds_msg="floating-point")
asinh = _unary("asinh", _INEXACT, cast_ints=True, kinds_msg="floating-point")
atan = _unary("atan", _INEXACT, cast_ints=True, kinds_msg="floating-point")
atanh = _unary("atanh", _INEXACT, cast_ints=True, kinds_msg="floating-point")
cos = _unary("cos", _INEXACT, cast_ints=True, kinds_msg="floating-point")
cosh = _unary("cosh", _INEXACT, cast_ints=True, kinds_msg="floating-point")
exp = _unary("exp", _INEXACT, cast_ints=True, kinds_msg="floating-point")
expm1 = _unary("expm1", _INEXACT, cast_ints=True, kinds_msg="floating-point")
log = _unary("log", _INEXACT, cast_ints=True, kinds_msg="floating-point")
log1p = _unary("log1p", _INEXACT, cast_ints=True, kinds_msg="floating-point")
log2 = _unary("log2", _INEXACT, cast_ints=True, kinds_msg="floating-point")
log10 = _unary("log10", _INEXACT, cast_ints=True, kinds_msg="floating-point")
sin = _unary("sin", _INEXACT, cast_ints=True, kinds_msg="floating-point")
sinh = _unary("sinh", _INEXACT, cast_ints=True, kinds_msg="floating-point")
sqrt = _unary("sqrt", _INEXACT, cast_ints=True, kinds_msg="floating-point")
tan = _unary("tan", _INEXACT, cast_ints=True, kinds_msg="floating-point")
tanh = _unary("tanh", _INEXACT, cast_ints=True, kinds_msg="floating-point")
erf = _unary("erf", _INEXACT, cast_ints=True, kinds_msg="floating-point")
erfinv = _unary("erfinv", _INEXACT, cast_ints=True, kinds_msg="floating-point")
ceil = _unary("ceil", _INEXACT, identity_ints=True, kinds_msg="real")
floor = _unary("floor", _INEXACT, identity_ints=True, kinds_msg="real")
round = _unary("round", _INEXACT, identity_ints=True, kinds_msg="real")
trunc = _unary("trunc", _INEXACT, identity_ints=True, kinds_msg="real")
bitwise_invert = _unary("bitwise_invert", _INTEGRAL, kinds_msg="integer or bool")
logical_not = _unary("logical_not", _BOOL, "bool", to_bool=True)
add = _binary("add", _NUMERIC, numeric=True)
subtract = _binary("subtract", _NUMERIC, numeric=True)
multiply = _binary("multiply", _NUMERIC, numeric=True)
pow = _binary("pow", _NUMERIC, numeric=True)
remainder = _binary("remainder", _NUMERIC, numeric=True)
floor_divide = _binary("floor_divide", _NUMERIC, numeric=True)
maximum = _binary("maximum", _ALL)
minimum = _binary("minimum", _ALL)
equal = _binary("equal", _ALL, "bool")
not_equal = _binary("not_equal", _ALL, "bool")
greater = _binary("greater", _ALL, "bool")
greater_equal = _binary("greater_equal", _ALL, "bool")
less = _binary("less", _ALL, "bool")
less_equal = _binary("less_equal", _ALL, "bool")
divide = _binary("divide", _INEXACT, inexact=True)
atan2 = _binary("atan2", _INEXACT, inexact=True)
hypot = _binary("hypot", _INEXACT, inexact=True)
copysign = _binary("copysign", _INEXACT, inexact=True)
logaddexp = _binary("logaddexp", _INEXACT, inexact=True)
nextafter = _binary("nextafter", _REAL_FLOATING, inexact=True, kinds="iuf")
logical_and = _binary("logical_and", _BOOL, "bool", to_bool=True)
logical_or = _binary("logical_or", _BOOL, "bool", to_bool=True)
logical_xor = _binary("logical_xor", _BOOL, "bool", to_bool=True)
bitwise_and = _binary("bitwise_and", _INTEGRAL, kinds="iub")
bitwise_or = _binary("bitwise_or", _INTEGRAL, kinds="iub")
bitwise_xor = _binary("bitwise_xor", _INTEGRAL, kinds="iub")
bitwise_left_shift = _binary("bitwise_left_shift", _INTEGER, kinds="iu")
bitwise_right_shift = _binary("bitwise_right_shift", _INTEGER, kinds="iu")


def positive(x: Any, /) -> Tensor:
    """+x (a tensor equal to x)."""
    x = _as_tensor("positive", x)
    if x.dtype is dt.bool:
        raise DTypeError("positive takes numeric tensors, got bool")
    return x




def reciprocal(x: Any, /) -> Tensor:
    """1 / x, element-wise (Python Array API 2024.12): floating-point and complex tensors keep
    their dtype, integers promote to the default float dtype (as ``divide``); bool is refused."""
    x = _as_tensor("reciprocal", x)
    if x.dtype is dt.bool:
        raise DTypeError("reciprocal takes numeric tensors, got bool; cast with "
                         "ember.astype(x, ember.float32) first")
    return divide(1, x)


def clip(x: Any, /, min: Any = None, max: Any = None) -> Tensor:
    """Clamp x to [min, max]; bounds may be None, scalars or tensors; the result keeps x's dtype."""
    x = _as_tensor("clip", x)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        x = rebase(backend_of("clip", x, min, max), x)
    b = x._b
    d = x.dtype

    def bound(v: Any) -> Any:
        if v is None or (isinstance(v, (bool, int, float)) and not isinstance(v, Tensor)):
            if isinstance(v, float) and not d.is_inexact:
                raise DTypeError(f"clip: float bound {v} for a {d} tensor; cast x first")
            if not isinstance(v, int) or -(2**63) <= v < 2**63:
                return v
            # beyond int64, which is how MLX reads Python ints: clamped to x's range (the same
            # result) and, for uint64, a tensor of x's dtype
            if not d.is_integer:
                return float(v)
            lo, hi = dt.int_range(d)
            v = builtins.max(lo, builtins.min(v, hi))
            return v if v < 2**63 else native_of(b, v, "clip", d)
        return native_of(b, v, "clip", d)

    lo, hi = bound(min), bound(max)
    if lo is None and hi is None:
        return x
    try:
        return T(b.kernels.clip(x._n, lo, hi), b)
    except Exception as exc:
        raise fail("clip", (x,), exc) from exc


