"""Gradient cases of manipulation, indexing, sorting and reductions (keepdims, tuple and
negative axes, repeated indices, boolean masks)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._grad_cases import GradCall, grad_case, on

E = ember
F64 = E.float64


def _x(data: Any, min_dims: int = 0, max_dims: int = 3, lo: float = -3, hi: float = 3,
       **kw: Any) -> np.ndarray:
    return S.arr(data, F64, S.shape(data, min_dims, max_dims, 1, 3), lo, hi, **kw)


# -- manipulation ------------------------------------------------------------------------------
@grad_case("reshape")
def _reshape(data: Any) -> GradCall:
    x = _x(data)
    return GradCall(lambda t: E.reshape(t, (-1,)) * E.arange(x.size, dtype=F64, backend=t.backend),
                    (x,))


@grad_case("broadcast_to")
def _broadcast_to(data: Any) -> GradCall:
    s1, s2 = S.bcast_shapes(data, 2, 0, 3, 1, 3)
    target = np.broadcast_shapes(s1, s2)
    return GradCall(lambda t: E.broadcast_to(t, target), (_x_shape(data, s1),))


def _x_shape(data: Any, shape: tuple[int, ...], lo: float = -3, hi: float = 3, **kw: Any) -> np.ndarray:
    return S.arr(data, F64, shape, lo, hi, **kw)


@grad_case("broadcast_arrays")
def _broadcast_arrays(data: Any) -> GradCall:
    s1, s2 = S.bcast_shapes(data, 2, 0, 3, 1, 3)
    return GradCall(lambda a, b: tuple(E.broadcast_arrays(a, b)),
                    (_x_shape(data, s1), _x_shape(data, s2)))


@grad_case("concat")
def _concat(data: Any) -> GradCall:
    shape = S.shape(data, 1, 3, 1, 3)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    other = list(shape)
    other[axis] = data.draw(st.integers(1, 3), label="length")
    return GradCall(lambda a, b: E.concat([a, b, a], axis=axis),
                    (_x_shape(data, shape), _x_shape(data, tuple(other))))


@grad_case("concat", "flat")
def _concat_flat(data: Any) -> GradCall:
    return GradCall(lambda a, b: E.concat([a, b], axis=None), (_x(data), _x(data)))


@grad_case("stack")
def _stack(data: Any) -> GradCall:
    shape = S.shape(data, 0, 2, 1, 3)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    return GradCall(lambda a, b: E.stack([a, b, a], axis=axis),
                    (_x_shape(data, shape), _x_shape(data, shape)))


@grad_case("unstack")
def _unstack(data: Any) -> GradCall:
    return GradCall(lambda t: E.unstack(t, axis=-1), (_x(data, 1),))


@grad_case("unstack", "some-parts")
def _unstack_some(data: Any) -> GradCall:
    # parts left unused get zero cotangents (a fused kernel's rule fills them in)
    return GradCall(lambda t: E.unstack(t, axis=0)[0] * 2.0, (_x(data, 1),))


@grad_case("expand_dims")
def _expand_dims(data: Any) -> GradCall:
    x = _x(data)
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim), label="axis")
    return GradCall(lambda t: E.expand_dims(t, axis=axis), (x,))


@grad_case("squeeze")
def _squeeze(data: Any) -> GradCall:
    shape = list(S.shape(data, 0, 2, 1, 3))
    pos = data.draw(st.integers(0, len(shape)), label="axis")
    shape.insert(pos, 1)
    return GradCall(lambda t: E.squeeze(t, axis=pos), (_x_shape(data, tuple(shape)),))


@grad_case("flip")
def _flip(data: Any) -> GradCall:
    x = _x(data, 1)
    axis = S.axes_arg(data, x.ndim)
    return GradCall(lambda t: E.flip(t, axis=axis), (x,))


@grad_case("permute_dims")
def _permute_dims(data: Any) -> GradCall:
    x = _x(data, 1)
    perm = tuple(data.draw(st.permutations(range(x.ndim)), label="perm"))
    return GradCall(lambda t: E.permute_dims(t, perm), (x,))


@grad_case("moveaxis")
def _moveaxis(data: Any) -> GradCall:
    x = _x(data, 2)
    return GradCall(lambda t: E.moveaxis(t, 0, -1), (x,))


@grad_case("matrix_transpose")
def _matrix_transpose(data: Any) -> GradCall:
    return GradCall(E.matrix_transpose, (_x(data, 2),))


@grad_case("roll")
def _roll(data: Any) -> GradCall:
    x = _x(data, 1)
    if data.draw(st.booleans(), label="flat"):
        return GradCall(lambda t: E.roll(t, 2), (x,))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    return GradCall(lambda t: E.roll(t, -1, axis=axis), (x,))


@grad_case("repeat", "int")
def _repeat_int(data: Any) -> GradCall:
    x = _x(data, 1)
    axis = data.draw(st.sampled_from([None, *range(-x.ndim, x.ndim)]), label="axis")
    return GradCall(lambda t: E.repeat(t, 3, axis=axis), (x,))


@grad_case("repeat", "array")
def _repeat_array(data: Any) -> GradCall:
    x = _x(data, 1)
    reps = S.arr(data, E.int64, (x.shape[0],), 0, 3)
    return GradCall(lambda t: E.repeat(t, on(t, reps), axis=0), (x,))


@grad_case("tile")
def _tile(data: Any) -> GradCall:
    x = _x(data, 1, 2)
    reps = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="reps"))
    return GradCall(lambda t: E.tile(t, reps), (x,))


@grad_case("meshgrid")
def _meshgrid(data: Any) -> GradCall:
    a, b = _x(data, 1, 1), _x(data, 1, 1)
    ix = data.draw(st.sampled_from(["xy", "ij"]), label="indexing")
    return GradCall(lambda p, q: tuple(E.meshgrid(p, q, indexing=ix)), (a, b))


# -- indexing ----------------------------------------------------------------------------------
@grad_case("getitem", "basic")
def _getitem_basic(data: Any) -> GradCall:
    x = _x(data, 2, 3, lo=-3, hi=3)
    key = (slice(None, None, -1), 0) if x.shape[1] else (slice(None),)
    return GradCall(lambda t: t[key][None, ...], (x,))


@grad_case("getitem", "slices")
def _getitem_slices(data: Any) -> GradCall:
    return GradCall(lambda t: t[..., 1:], (_x(data, 1),))


@grad_case("getitem", "integer array")
def _getitem_int(data: Any) -> GradCall:
    x = _x(data, 1)
    idx = S.arr(data, E.int64, (4,), 0, x.shape[0] - 1)  # repeats accumulate
    return GradCall(lambda t: t[on(t, idx)], (x,))


@grad_case("getitem", "mixed arrays")
def _getitem_mixed(data: Any) -> GradCall:
    x = _x(data, 2, 3)
    i = S.arr(data, E.int64, (3,), 0, x.shape[0] - 1)
    j = S.arr(data, E.int64, (3,), 0, x.shape[1] - 1)
    return GradCall(lambda t: t[on(t, i), on(t, j)], (x,))


@grad_case("getitem", "mask")
def _getitem_mask(data: Any) -> GradCall:
    x = _x(data, 1)
    mask = S.arr(data, E.bool, x.shape)
    return GradCall(lambda t: t[on(t, mask)], (x,))


@grad_case("take")
def _take(data: Any) -> GradCall:
    x = _x(data, 1)
    axis = data.draw(st.integers(0, x.ndim - 1), label="axis")
    idx = S.arr(data, E.int64, (5,), 0, x.shape[axis] - 1)
    return GradCall(lambda t: E.take(t, on(t, idx), axis=axis), (x,))


@grad_case("take_along_axis")
def _take_along_axis(data: Any) -> GradCall:
    """Repeated indices included: their cotangents add up."""
    x = _x(data, 1)
    axis = data.draw(st.integers(0, x.ndim - 1), label="axis")
    shape = tuple(data.draw(st.integers(1, 4)) if i == axis else n for i, n in enumerate(x.shape))
    idx = S.arr(data, E.int64, shape, -x.shape[axis], x.shape[axis] - 1)
    return GradCall(lambda t: E.take_along_axis(t, on(t, idx), axis=axis), (x,))


@grad_case("index_update", "set")
def _update_set(data: Any) -> GradCall:
    x = _x(data, 2, 2)
    return GradCall(lambda t, v: t.at[0].set(v), (x, _x_shape(data, x.shape[1:])))


@grad_case("index_update", "set broadcast")
def _update_set_b(data: Any) -> GradCall:
    x = _x(data, 2, 2)
    return GradCall(lambda t, v: t.at[:, 0].set(v), (x, _x_shape(data, ())))


@grad_case("index_update", "add repeated")
def _update_add(data: Any) -> GradCall:
    x = _x(data, 1, 2)
    idx = S.arr(data, E.int64, (4,), 0, x.shape[0] - 1)
    return GradCall(lambda t, v: t.at[on(t, idx)].add(v), (x, _x_shape(data, (4, *x.shape[1:]))))


@grad_case("index_update", "multiply")
def _update_mul(data: Any) -> GradCall:
    x = _x(data, 1, 2)
    idx = np.unique(S.arr(data, E.int64, (3,), 0, x.shape[0] - 1))
    return GradCall(lambda t, v: t.at[on(t, idx)].multiply(v),
                    (x, _x_shape(data, (idx.size, *x.shape[1:]))))


@grad_case("index_update", "multiply repeated")
def _update_mul_repeated(data: Any) -> GradCall:
    x = _x(data, 1, 1)
    idx = S.arr(data, E.int64, (4,), 0, x.shape[0] - 1)
    v = S.arr(data, F64, (4,), 0.5, 2)  # non-zero: the quotient form is exact
    return GradCall(lambda t, u: t.at[on(t, idx)].multiply(u), (x, v))


@grad_case("index_update", "multiply subnormal")
def _update_mul_subnormal(data: Any) -> GradCall:
    """x a subnormal (float32's smallest): torch's own derivative, (grad * result) / x,
    underflowed to a zero gradient."""
    x = np.full((1,), 1.4e-45)
    v = S.arr(data, F64, (3,), 0.5, 2)
    return GradCall(lambda t, u: t.at[on(t, np.zeros(3, np.int64))].multiply(u), (x, v))


@grad_case("index_update", "min max")
def _update_minmax(data: Any) -> GradCall:
    shape = S.shape(data, 1, 2, 1, 3)
    x = S.arr(data, F64, shape, -3, 3, grid=1.0)
    v = S.arr(data, F64, shape[1:], -3, 3, grid=1.0) + 0.5  # never ties with x
    return GradCall(lambda t, u: (t.at[0].min(u), t.at[-1].max(u)), (x, v))


@grad_case("sort")
def _sort(data: Any) -> GradCall:
    x = S.arr(data, F64, S.shape(data, 1, 2, 1, 4), -3, 3, unique=True, grid=0.25)  # apart
    desc = data.draw(st.booleans(), label="descending")
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    return GradCall(lambda t: E.sort(t, axis=axis, descending=desc), (x,))


# -- reductions --------------------------------------------------------------------------------
def _reduction(op: str, fn: Any, lo: float = -3, hi: float = 3, **kw: Any) -> None:
    @grad_case(op, "axes")
    def build(data: Any) -> GradCall:
        x = _x(data, 0, 3, lo, hi, **kw)
        axes = S.axes_arg(data, x.ndim)
        keep = data.draw(st.booleans(), label="keepdims")
        return GradCall(lambda t: fn(t, axis=axes, keepdims=keep), (x,),
                        note=f"axis={axes} keepdims={keep}")


_reduction("sum", E.sum)
_reduction("mean", E.mean)
_reduction("prod", E.prod)
_reduction("var", lambda t, **k: E.var(t, correction=0.0, **k))
_reduction("max", E.max, unique=True, grid=0.25)  # values apart: no ties within the FD step
_reduction("min", E.min, unique=True, grid=0.25)


@grad_case("prod", "zeros")
def _prod_zeros(data: Any) -> GradCall:
    x = _x(data, 1, 2)
    x.reshape(-1)[0] = 0.0  # the gradient at a zero is the product of the others
    return GradCall(lambda t: E.prod(t, axis=0), (x,))


@grad_case("std")
def _std(data: Any) -> GradCall:  # every reduced slice has distinct values: std > 0
    x = S.arr(data, F64, (3, 2), -3, 3, unique=True, grid=0.25)
    axes = data.draw(st.sampled_from([None, 0, (0, 1)]), label="axis")
    return GradCall(lambda t: E.std(t, axis=axes, keepdims=True), (x,))


@grad_case("var", "sample")
def _var_sample(data: Any) -> GradCall:
    x = S.arr(data, F64, (4, 3), -3, 3)
    return GradCall(lambda t: E.var(t, axis=0, correction=1.0), (x,))


@grad_case("max", "tie")
def _max_tie(data: Any) -> GradCall:
    x = np.array([1.0, 3.0, 3.0, -2.0])  # ties share the gradient equally
    return GradCall(lambda t: E.max(t) * E.max(t * 1.0), (x,), note="shared between ties")


def _cumulative(op: str, fn: Any) -> None:
    @grad_case(op)
    def build(data: Any) -> GradCall:
        x = _x(data, 1, 2)
        axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
        init = data.draw(st.booleans(), label="include_initial")
        return GradCall(lambda t: fn(t, axis=axis, include_initial=init), (x,))


_cumulative("cumulative_sum", E.cumulative_sum)
_cumulative("cumulative_prod", E.cumulative_prod)


@grad_case("cumulative_prod", "zeros")
def _cumprod_zeros(data: Any) -> GradCall:
    x = S.arr(data, F64, (5,), -2, 2)
    x[data.draw(st.integers(0, 4), label="zero at")] = 0.0
    return GradCall(lambda t: E.cumulative_prod(t), (x,))


@grad_case("diff")
def _diff(data: Any) -> GradCall:
    x = _x(data, 1, 2)
    n = data.draw(st.integers(1, 2), label="n")
    return GradCall(lambda t: E.diff(t, axis=0, n=n, prepend=t[:1] * 2.0), (x,))


@grad_case("vecdot")
def _vecdot(data: Any) -> GradCall:
    s1, s2 = S.bcast_shapes(data, 2, 1, 3, 1, 3)
    n = data.draw(st.integers(1, 3), label="length")
    return GradCall(E.vecdot, (_x_shape(data, (*s1, n)), _x_shape(data, (*s2, n))))
