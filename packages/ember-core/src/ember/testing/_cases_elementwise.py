"""Cases of the element-wise ops: value domains per op, broadcasting, Python scalars, operators,
mixed-dtype promotion and IEEE special values."""

from __future__ import annotations

import operator
from typing import Any

from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import call, case, np_scalar

E = ember
SIGNED_NUM = S.INT + S.FLOAT + S.COMPLEX


def _dom(dom: Any, d: Any, which: int = 0) -> dict[str, Any]:
    """Domain spec -> arr() keyword arguments. A spec is a dict, a callable of the dtype, or a
    pair of those (one per operand)."""
    if isinstance(dom, tuple):
        dom = dom[which]
    if callable(dom):
        dom = dom(d)
    return dict(dom or {})


def unary(op: str, dtypes: tuple[Any, ...], dom: Any = None, *, bf16: bool = True,
          special: bool = False, promote: bool = False, tol: float = 1.0) -> None:
    @case(op, "shape", dtypes, bf16=bf16, tol=tol)
    def _shape(data: Any, d: Any) -> Any:
        return call(S.arr(data, d, S.shape(data), **_dom(dom, d)))

    if special:
        @case(op, "special", (E.float32, E.float64))
        def _special(data: Any, d: Any) -> Any:
            kw = _dom(dom, d)
            kw.pop("grid", None)
            return call(S.arr(data, d, S.shape(data, 1, 2, 1, 6), specials=True, **kw))

    if promote:
        @case(op, "from-int", (E.int32, E.int64))
        def _promote(data: Any, d: Any) -> Any:
            kw = _dom(dom, E.float32)
            lo, hi = kw.pop("lo", -3), kw.pop("hi", 3)
            return call(S.arr(data, d, S.shape(data), int(-(-lo // 1)), int(hi // 1)))


_OPERATORS = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "divide": operator.truediv, "floor_divide": operator.floordiv, "remainder": operator.mod,
    "pow": operator.pow, "bitwise_and": operator.and_, "bitwise_or": operator.or_,
    "bitwise_xor": operator.xor, "bitwise_left_shift": operator.lshift,
    "bitwise_right_shift": operator.rshift, "equal": operator.eq, "not_equal": operator.ne,
    "less": operator.lt, "less_equal": operator.le, "greater": operator.gt,
    "greater_equal": operator.ge,
}

_PROMOTE_PAIRS = [(E.int8, E.int16), (E.uint8, E.int16), (E.int32, E.float32),
                  (E.float16, E.float32), (E.float32, E.float64), (E.bool, E.int32),
                  (E.uint8, E.uint32), (E.int64, E.float16), (E.float32, E.complex64)]


def _py(v: Any, d: Any) -> Any:
    v = np_scalar(v)
    if d.kind == "b":
        return bool(v)
    if d.kind in "iu":
        return int(v)
    if d.kind == "f":
        return float(v)
    return complex(v)


def binary(op: str, dtypes: tuple[Any, ...], dom: Any = None, *, bf16: bool = True,
           special: bool = False, scalars: bool = True, promote: Any = None,
           tol: float = 1.0) -> None:
    @case(op, "broadcast", dtypes, bf16=bf16, tol=tol)
    def _bcast(data: Any, d: Any) -> Any:
        s1, s2 = S.bcast_shapes(data)
        return call(S.arr(data, d, s1, **_dom(dom, d, 0)), S.arr(data, d, s2, **_dom(dom, d, 1)))

    if op in _OPERATORS:
        fn = _OPERATORS[op]

        @case(op, "operator", dtypes[:1] + dtypes[-1:] if len(dtypes) > 1 else dtypes, tol=tol)
        def _oper(data: Any, d: Any) -> Any:
            s1, s2 = S.bcast_shapes(data, min_dims=1)
            return call(S.arr(data, d, s1, **_dom(dom, d, 0)), S.arr(data, d, s2, **_dom(dom, d, 1)),
                        fn=fn)

    if scalars:
        @case(op, "scalar", dtypes, tol=tol)
        def _scalar(data: Any, d: Any) -> Any:
            side = data.draw(st.sampled_from([0, 1]), label="scalar side")
            shp = S.shape(data)
            x = S.arr(data, d, shp, **_dom(dom, d, 1 - side))
            s = _py(S.arr(data, d, (), **_dom(dom, d, side))[()], d)
            return call(s, x) if side == 0 else call(x, s)

    if promote:
        for a, b in promote:
            @case(op, f"{a.name}-{b.name}")
            def _mixed(data: Any, _d: Any, a: Any = a, b: Any = b) -> Any:
                s1, s2 = S.bcast_shapes(data)
                return call(S.arr(data, a, s1, **_dom(dom, a, 0)), S.arr(data, b, s2, **_dom(dom, b, 1)))

    if special:
        @case(op, "special", (E.float32, E.float64))
        def _special(data: Any, d: Any) -> Any:
            s1, s2 = S.bcast_shapes(data, min_dims=1, min_side=1)
            kw1, kw2 = _dom(dom, d, 0), _dom(dom, d, 1)
            kw1.pop("grid", None)
            kw2.pop("grid", None)
            return call(S.arr(data, d, s1, specials=True, **kw1),
                        S.arr(data, d, s2, specials=True, **kw2))


def _r(lo: float, hi: float, **kw: Any) -> dict[str, Any]:
    return {"lo": lo, "hi": hi, **kw}


def _ints(ilo: int, ihi: int, ulo: int | None = None, uhi: int | None = None, **fkw: Any) -> Any:
    """Integers in [ilo, ihi] (unsigned: [ulo, uhi]); floats keep the keywords ``fkw``."""

    def dom(d: Any) -> dict[str, Any]:
        if d.kind == "u":
            return _r(max(ilo, 0) if ulo is None else ulo, ihi if uhi is None else uhi)
        if d.kind == "i":
            return _r(ilo, ihi)
        return dict(fkw)

    return dom


# --- unary ------------------------------------------------------------------------------------
unary("abs", S.NUMERIC, special=True)
unary("negative", SIGNED_NUM)
unary("square", S.NUMERIC, _ints(-10, 10))
unary("sign", S.NUMERIC, special=True)
unary("conj", S.NUMERIC, bf16=False)
unary("real", S.NUMERIC, bf16=False)
unary("imag", S.NUMERIC, bf16=False)
unary("positive", S.NUMERIC, bf16=False)
unary("stop_gradient", S.ALL, bf16=True)
for _op in ("isfinite", "isinf", "isnan"):
    unary(_op, S.NUMERIC, bf16=False, special=True)
unary("signbit", S.FLOAT, bf16=False, special=True)

_INEXACT_UNARY = {
    "acos": (_r(-1, 1), True), "acosh": (_r(1, 10), True), "asin": (_r(-1, 1), True),
    "asinh": (None, True), "atan": (None, True), "atanh": (_r(-0.99, 0.99), True),
    "cos": (None, True), "cosh": (_r(-5, 5), True), "sin": (None, True), "sinh": (_r(-5, 5), True),
    "tan": (_r(-1.5, 1.5), True), "tanh": (None, True), "exp": (None, True),
    "expm1": (_r(-5, 5), True), "log": (_r(0.01, 100), True), "log1p": (_r(-0.9, 10), True),
    "log2": (_r(0.01, 100), True), "log10": (_r(0.01, 100), True), "sqrt": (_r(0, 100), True),
    "erf": (_r(-3, 3), False), "erfinv": (_r(-0.99, 0.99), False),
}
for _op, (_d, _cplx) in _INEXACT_UNARY.items():
    _dt = S.INEXACT if _cplx else S.FLOAT
    _dd = _d if not _cplx else (lambda d, _d=_d: _r(-2, 2) if d.kind == "c" else (_d or {}))
    unary(_op, _dt, _dd, special=True, promote=True, tol=4.0 if _op in ("tan", "erfinv") else 1.0)

unary("reciprocal", S.INEXACT, _r(0.1, 10), special=True, promote=True)

for _op in ("ceil", "floor", "round", "trunc"):
    unary(_op, S.REAL, _ints(-10, 10, grid=0.25), special=True)
unary("bitwise_invert", S.INTEGRAL + S.BOOL, bf16=False)
unary("logical_not", S.BOOL + (E.int32, E.float32), bf16=False)

# --- binary -----------------------------------------------------------------------------------
binary("add", S.NUMERIC, _ints(-10, 10), special=True, promote=_PROMOTE_PAIRS)
binary("subtract", S.NUMERIC, (_ints(-10, 10, 10, 20), _ints(-10, 10, 0, 10)),
       promote=_PROMOTE_PAIRS[:4])
binary("multiply", S.NUMERIC, _ints(-10, 10), promote=_PROMOTE_PAIRS[:4])
binary("pow", S.NUMERIC,
       (lambda d: _r(-3, 3) if d.kind in "iu" else _r(-2, 2) if d.kind == "c" else _r(0.1, 4),
        lambda d: _r(0, 3) if d.kind in "iu" else _r(-1, 1) if d.kind == "c" else _r(-3, 3)),
       tol=4.0)
_DIVIDEND = _ints(-20, 20, 0, 20, lo=-10, hi=10, grid=0.25)
def _DIVISOR(d: Any) -> Any:
    if d.kind == "i":
        return _r(-5, 5, nonzero=True)
    return _r(1, 5) if d.kind == "u" else _r(-4, 4, grid=0.5, nonzero=True)
binary("remainder", S.REAL, (_DIVIDEND, _DIVISOR))
binary("floor_divide", S.REAL, (_DIVIDEND, _DIVISOR))
_CMP = _ints(-3, 3, lo=-2, hi=2, grid=0.5)
binary("maximum", S.REAL, _CMP, special=True)
binary("minimum", S.REAL, _CMP, special=True)
for _op in ("equal", "not_equal"):
    binary(_op, S.ALL, _CMP, bf16=False, special=True, promote=_PROMOTE_PAIRS[:3])
for _op in ("greater", "greater_equal", "less", "less_equal"):
    binary(_op, S.REAL, _CMP, bf16=False, special=True)
binary("divide", S.INEXACT, (None, lambda d: _r(-5, 5, nonzero=True)), special=True,
       promote=((E.int32, E.int64), (E.int8, E.float16)))
binary("atan2", S.FLOAT, special=True, tol=2.0)
binary("hypot", S.FLOAT, special=True)
binary("copysign", S.FLOAT, special=True)
binary("logaddexp", S.FLOAT, special=True)
for _op in ("logical_and", "logical_or", "logical_xor"):
    binary(_op, S.BOOL + (E.int32, E.float32), _CMP, bf16=False)
for _op in ("bitwise_and", "bitwise_or", "bitwise_xor"):
    binary(_op, S.INTEGRAL + S.BOOL, _ints(-100, 100, 0, 200), bf16=False)
binary("bitwise_left_shift", S.INTEGRAL, (_ints(0, 15), _ints(0, 3)), bf16=False)
binary("bitwise_right_shift", S.INTEGRAL, (_ints(-100, 100, 0, 200), _ints(0, 7)), bf16=False)


# --- clip -------------------------------------------------------------------------------------
@case("clip", "scalar-bounds", S.REAL, bf16=True)
def _clip_scalar(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data), **_ints(-10, 10, 0, 20)(d))
    lo = data.draw(st.one_of(st.none(), st.integers(-5, 5) if d.kind != "u" else st.integers(0, 5)))
    hi = data.draw(st.one_of(st.none(), st.integers(5, 8)))
    if d.kind == "f":
        lo = None if lo is None else lo / 2
        hi = None if hi is None else hi / 2
    return call(x, min=lo, max=hi)


@case("clip", "array-bounds", S.INT + S.FLOAT)
def _clip_array(data: Any, d: Any) -> Any:
    s1, s2, s3 = S.bcast_shapes(data, 3)
    x = S.arr(data, d, s1, -10, 10)
    lo = S.arr(data, d, s2, -5, 0)
    hi = S.arr(data, d, s3, 1, 5)
    return call(x, min=lo, max=hi)
