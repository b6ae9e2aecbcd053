"""Element-wise ops. Each public function has a fast path (tensors of one backend and one
dtype: unwrap, call the kernel, wrap) and falls back to ``_dispatch`` for promotion, Python
scalars and errors. The categories decide which dtypes an op takes and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _dtypes as dt
from .._catalogue import BY_NAME
from .._dispatch import backend_of, cast_native, fail, native_of, promote_binary
from .._errors import DTypeError
from .._tensor import Tensor

__all__: list[str] = []  # filled below

T = Tensor

# unary ---------------------------------------------------------------------------------------
_UNARY_ANY = ["abs", "negative", "square", "sign", "conj", "real", "imag",
              "isfinite", "isinf", "isnan", "signbit"]
_UNARY_INEXACT = ["acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "exp",
                  "expm1", "log", "log1p", "log2", "log10", "sin", "sinh", "sqrt", "tan", "tanh",
                  "erf", "erfinv"]
_UNARY_ROUNDING = ["ceil", "floor", "round", "trunc"]  # identity on integers
# binary --------------------------------------------------------------------------------------
_BINARY_NUMERIC = ["add", "subtract", "multiply", "pow", "remainder", "floor_divide"]
_BINARY_ANY = ["maximum", "minimum", "equal", "not_equal", "greater", "greater_equal", "less",
               "less_equal"]
_BINARY_INEXACT = ["divide", "atan2", "hypot", "copysign", "logaddexp"]
_BINARY_LOGICAL = ["logical_and", "logical_or", "logical_xor"]
_BINARY_BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor"]
_BINARY_SHIFT = ["bitwise_left_shift", "bitwise_right_shift"]


def _finish(fn: Callable[..., Any], name: str, sig: str) -> Callable[..., Any]:
    spec = BY_NAME[name]
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = "ember"
    fn.__doc__ = f"{spec.summary}\n\nSignature: ``ember.{name}{sig}`` (Python Array API 2023.12)."
    globals()[name] = fn
    __all__.append(name)
    return fn


def _as_tensor(op: str, x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    b = backend_of(op, x)
    return Tensor(native_of(b, x, op), b)


def _unary_any(name: str) -> None:
    def op(x: Any, /) -> Tensor:
        if type(x) is T:
            b = x._b
            try:
                return T(getattr(b, name)(x._n), b)
            except Exception as exc:
                raise fail(name, (x,), exc) from exc
        return op(_as_tensor(name, x))

    _finish(op, name, "(x, /)")


def _unary_inexact(name: str) -> None:
    def op(x: Any, /) -> Tensor:
        if type(x) is T:
            b = x._b
            n = x._n
            if n.dtype in b.inexact:
                try:
                    return T(getattr(b, name)(n), b)
                except Exception as exc:
                    raise fail(name, (x,), exc) from exc
            return op(T(cast_native(b, n, dt.DEFAULT_FLOAT), b))
        return op(_as_tensor(name, x))

    _finish(op, name, "(x, /)")


def _unary_rounding(name: str) -> None:
    def op(x: Any, /) -> Tensor:
        if type(x) is T:
            b = x._b
            if x._n.dtype in b.integral:
                return x
            try:
                return T(getattr(b, name)(x._n), b)
            except Exception as exc:
                raise fail(name, (x,), exc) from exc
        return op(_as_tensor(name, x))

    _finish(op, name, "(x, /)")


def _unary_kinds(name: str, kinds: str, cast_to: dt.DType | None = None) -> None:
    def op(x: Any, /) -> Tensor:
        x = _as_tensor(name, x)
        b = x._b
        d = x.dtype
        n = x._n
        if cast_to is not None:
            n = cast_native(b, n, cast_to)
        elif d.kind not in kinds:
            raise DTypeError(f"{name} takes integer or bool tensors, got {d}; cast with ember.astype")
        try:
            return T(getattr(b, name)(n), b)
        except Exception as exc:
            raise fail(name, (x,), exc) from exc

    _finish(op, name, "(x, /)")


def _binary(name: str, *, numeric: bool = False, inexact: bool = False, kinds: str = "",
            to_bool: bool = False) -> None:
    """Binary op factory. Fast path: two tensors, one backend, one dtype of an allowed kind."""
    allowed = "numeric" if numeric else ("inexact" if inexact else ("integral" if kinds else ""))

    def slow(x1: Any, x2: Any) -> Tensor:
        if to_bool:
            b = backend_of(name, x1, x2)
            n1 = native_of(b, x1, name, dt.bool)
            n2 = native_of(b, x2, name, dt.bool)
        else:
            b, n1, n2, target = promote_binary(name, x1, x2, inexact=inexact, kinds=kinds)
            if numeric and target is dt.bool:
                raise DTypeError(
                    f"{name} takes numeric tensors, got bool; cast with ember.astype(x, ember.int8) "
                    f"or use ember.logical_*"
                )
        try:
            return T(getattr(b, name)(n1, n2), b)
        except Exception as exc:
            raise fail(name, (_as_tensor(name, x1), _as_tensor(name, x2)), exc) from exc

    if allowed:
        def op(x1: Any, x2: Any, /) -> Tensor:
            if type(x1) is T and type(x2) is T:
                b = x1._b
                n1 = x1._n
                n2 = x2._n
                if x2._b is b and n1.dtype == n2.dtype and n1.dtype in getattr(b, allowed):
                    try:
                        return T(getattr(b, name)(n1, n2), b)
                    except Exception as exc:
                        raise fail(name, (x1, x2), exc) from exc
            elif type(x1) is T and type(x2) is float and x1._n.dtype in x1._b.inexact:
                b = x1._b
                return T(getattr(b, name)(x1._n, x2), b)
            return slow(x1, x2)
    elif to_bool:
        def op(x1: Any, x2: Any, /) -> Tensor:
            if type(x1) is T and type(x2) is T:
                b = x1._b
                n1 = x1._n
                n2 = x2._n
                if x2._b is b and n1.dtype == n2.dtype and n1.dtype == b.bool_native:
                    return T(getattr(b, name)(n1, n2), b)
            return slow(x1, x2)
    else:
        def op(x1: Any, x2: Any, /) -> Tensor:
            if type(x1) is T and type(x2) is T:
                b = x1._b
                n1 = x1._n
                n2 = x2._n
                if x2._b is b and n1.dtype == n2.dtype:
                    try:
                        return T(getattr(b, name)(n1, n2), b)
                    except Exception as exc:
                        raise fail(name, (x1, x2), exc) from exc
            elif type(x1) is T and type(x2) is float and x1._n.dtype in x1._b.inexact:
                b = x1._b
                return T(getattr(b, name)(x1._n, x2), b)
            return slow(x1, x2)

    _finish(op, name, "(x1, x2, /)")


for _n in _UNARY_ANY:
    _unary_any(_n)
for _n in _UNARY_INEXACT:
    _unary_inexact(_n)
for _n in _UNARY_ROUNDING:
    _unary_rounding(_n)
_unary_kinds("bitwise_invert", "iub")
_unary_kinds("logical_not", "b", cast_to=dt.bool)
for _n in _BINARY_NUMERIC:
    _binary(_n, numeric=True)
for _n in _BINARY_ANY:
    _binary(_n)
for _n in _BINARY_INEXACT:
    _binary(_n, inexact=True)
for _n in _BINARY_LOGICAL:
    _binary(_n, to_bool=True)
for _n in _BINARY_BITWISE:
    _binary(_n, kinds="iub")
for _n in _BINARY_SHIFT:
    _binary(_n, kinds="iu")


def positive(x: Any, /) -> Tensor:
    """+x (a tensor equal to x)."""
    x = _as_tensor("positive", x)
    if x.dtype is dt.bool:
        raise DTypeError("positive takes numeric tensors, got bool")
    return x


__all__.append("positive")


def clip(x: Any, /, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - Array API names
    """Clamp x to [min, max]; bounds may be None, scalars or tensors; the result keeps x's dtype."""
    x = _as_tensor("clip", x)
    b = x._b
    d = x.dtype

    def bound(v: Any) -> Any:
        if v is None or isinstance(v, (bool, int, float)) and not isinstance(v, Tensor):
            if isinstance(v, float) and not d.is_inexact:
                raise DTypeError(f"clip: float bound {v} for a {d} tensor; cast x first")
            return v
        return native_of(b, v, "clip", d)

    lo, hi = bound(min), bound(max)
    if lo is None and hi is None:
        return x
    try:
        return T(b.clip(x._n, lo, hi), b)
    except Exception as exc:
        raise fail("clip", (x,), exc) from exc


__all__.append("clip")
