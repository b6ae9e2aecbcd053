"""Cases of the statistical and utility ops: reductions over None / int / tuple / negative axes,
keepdims, 0-d and empty inputs, accumulation dtypes, cumulative ops and diff."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import call, case

E = ember


def _reduce_input(data: Any, d: Any, lo: float, hi: float, nonempty: bool = False) -> Any:
    return S.arr(data, d, S.shape(data, 0, 3, 1 if nonempty else 0), lo, hi)


@case("sum", "axes", S.NUMERIC + S.BOOL, bf16=True, tol=10)
def _sum(data: Any, d: Any) -> Any:
    x = _reduce_input(data, d, -4, 4)
    return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()))


@case("prod", "axes", S.NUMERIC + S.BOOL, bf16=True, tol=10)
def _prod(data: Any, d: Any) -> Any:
    lo, hi = (-2, 2) if d.kind in "iub" else (0.5, 1.5)
    x = S.arr(data, d, S.shape(data, 0, 3, 0, 3), lo, hi)
    return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()))


for _name in ("sum", "prod"):
    @case(_name, "dtype-arg", (E.int8, E.uint8, E.int32, E.float16, E.float32), tol=10)
    def _acc(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data, 0, 2, 0, 3), 0, 3)
        to = data.draw(st.sampled_from([E.int64, E.float64, E.float32] if d.kind != "f"
                                       else [E.float32, E.float64]))
        return call(x, axis=S.axis_arg(data, x.ndim), dtype=to)


for _name in ("max", "min"):
    @case(_name, "axes", S.REAL, bf16=True)
    def _minmax(data: Any, d: Any) -> Any:
        x = _reduce_input(data, d, -10, 10, nonempty=True)
        return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()))

    @case(_name, "nan-propagates", (E.float32, E.float64))
    def _minmax_nan(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data, 1, 2, 1), specials=True)
        return call(x, axis=S.axes_arg(data, x.ndim))


@case("mean", "axes", S.FLOAT + S.COMPLEX + (E.int32,), bf16=True, tol=10)
def _mean(data: Any, d: Any) -> Any:
    x = _reduce_input(data, d, -10, 10)
    return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()))


for _name in ("var", "std"):
    @case(_name, "correction", S.FLOAT + (E.int64,), bf16=True, tol=20)
    def _var(data: Any, d: Any) -> Any:
        x = _reduce_input(data, d, -5, 5, nonempty=True)
        axis = S.axes_arg(data, x.ndim)
        axes = range(x.ndim) if axis is None else ((axis,) if isinstance(axis, int) else axis)
        n = 1
        for a in axes:
            n *= x.shape[a]
        corr = data.draw(st.sampled_from([0, 1, 0.5])) if n >= 2 else 0
        return call(x, axis=axis, correction=corr, keepdims=data.draw(st.booleans()))


for _name in ("all", "any"):
    @case(_name, "axes", S.BOOL + (E.int32, E.float32))
    def _logical(data: Any, d: Any) -> Any:
        x = _reduce_input(data, d, -1, 1)
        return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()))


@case("cumulative_sum", "axis", S.NUMERIC + S.BOOL, bf16=True, tol=10)
def _cumsum(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1), -4, 4)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1)) if x.ndim > 1 else S.axis_arg(data, 1)
    return call(x, axis=axis, include_initial=data.draw(st.booleans()),
                dtype=data.draw(st.sampled_from([None, None, E.float64])) if d.kind != "c" else None)


@case("cumulative_prod", "axis", S.NUMERIC + S.BOOL, bf16=True, tol=10)
def _cumprod(data: Any, d: Any) -> Any:
    lo, hi = (-2, 2) if d.kind in "iub" else (0.5, 1.5)
    x = S.arr(data, d, S.shape(data, 1, 3, 0, 3), lo, hi)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1)) if x.ndim > 1 else S.axis_arg(data, 1)
    return call(x, axis=axis, include_initial=data.draw(st.booleans()))


@case("diff", "n", S.INT + S.FLOAT + S.BOOL)
def _diff(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 3), -10, 10)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = data.draw(st.integers(0, 3))
    extra: dict[str, Any] = {}
    if data.draw(st.booleans()):
        shp = list(x.shape)
        shp[axis] = data.draw(st.integers(1, 2))
        extra["prepend"] = S.arr(data, d, tuple(shp), -10, 10)
    return call(x, axis=axis, n=n, **extra)
