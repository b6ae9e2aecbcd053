"""Cases of the manipulation, indexing, searching, sorting and set ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import call, case

E = ember
ALL = S.ALL
SOME = (E.bool, E.int8, E.uint16, E.int64, E.float16, E.float32, E.float64, E.complex64)


# --- manipulation -----------------------------------------------------------------------------
@case("broadcast_arrays", "three", SOME)
def _bcast_arrays(data: Any, d: Any) -> Any:
    return call(*(S.arr(data, d, s) for s in S.bcast_shapes(data, 3)))


@case("broadcast_to", "shape", ALL)
def _bcast_to(data: Any, d: Any) -> Any:
    s1, s2 = S.bcast_shapes(data)
    return call(S.arr(data, d, s1), np.broadcast_shapes(s1, s2))


@case("concat", "axis", ALL)
def _concat(data: Any, d: Any) -> Any:
    base = list(S.shape(data, 1, 3))
    axis = data.draw(st.integers(-len(base), len(base) - 1))
    arrays = []
    for _ in range(data.draw(st.integers(1, 3))):
        base[axis] = data.draw(st.integers(0, 3))
        arrays.append(S.arr(data, d, tuple(base)))
    return call(arrays, axis=axis)


@case("concat", "axis-none")
def _concat_none(data: Any, d: Any) -> Any:
    arrays = [S.arr(data, E.float32, S.shape(data)) for _ in range(data.draw(st.integers(1, 3)))]
    return call(arrays, axis=None)


@case("concat", "promote")
def _concat_promote(data: Any, d: Any) -> Any:
    a = S.arr(data, E.int16, (2, 3))
    b = S.arr(data, data.draw(st.sampled_from([E.float32, E.uint8, E.int64, E.bool])), (1, 3))
    return call([a, b])


@case("expand_dims", "axis", SOME)
def _expand(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    return call(x, axis=data.draw(st.integers(-x.ndim - 1, x.ndim)))


@case("flip", "axes", ALL)
def _flip(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    return call(x, axis=S.axes_arg(data, x.ndim))


@case("moveaxis", "axes", SOME)
def _moveaxis(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 4))
    n = x.ndim
    k = data.draw(st.integers(1, n))
    src = data.draw(st.permutations(range(-n, 0)))[:k]
    dst = data.draw(st.permutations(range(n)))[:k]
    if k == 1 and data.draw(st.booleans()):
        return call(x, src[0], dst[0])
    return call(x, tuple(src), tuple(dst))


@case("permute_dims", "perm", ALL)
def _permute(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    return call(x, tuple(data.draw(st.permutations(range(x.ndim)))))


@case("repeat", "int-or-array", SOME)
def _repeat(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    axis = S.axis_arg(data, x.ndim)
    n = x.size if axis is None else x.shape[axis]
    if data.draw(st.booleans()):
        return call(x, data.draw(st.integers(0, 3)), axis=axis)
    reps = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    return call(x, reps, axis=axis)


@case("reshape", "shape", ALL)
def _reshape(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, min_side=1))
    factors = []
    n = x.size
    for p in (2, 3, 5, 7):
        while n % p == 0:
            factors.append(p)
            n //= p
    factors = data.draw(st.permutations(factors))
    cut = sorted(data.draw(st.lists(st.integers(0, len(factors)), max_size=3)))
    dims, prev = [], 0
    for c in [*cut, len(factors)]:
        dims.append(math.prod(factors[prev:c]))
        prev = c
    if data.draw(st.booleans()):
        dims[data.draw(st.integers(0, len(dims) - 1))] = -1
    return call(x, tuple(dims), copy=data.draw(st.sampled_from([None, True])))


@case("roll", "axes", SOME)
def _roll(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    if x.ndim == 0 or data.draw(st.booleans()):
        return call(x, data.draw(st.integers(-5, 5)), axis=None)
    axes = data.draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=3))
    shifts = data.draw(st.lists(st.integers(-5, 5), min_size=len(axes), max_size=len(axes)))
    return call(x, tuple(shifts), axis=tuple(axes))


@case("squeeze", "axes", SOME)
def _squeeze(data: Any, d: Any) -> Any:
    shp = S.shape(data, 1, 4, 0, 2)
    x = S.arr(data, d, shp)
    ones = [i - x.ndim if data.draw(st.booleans()) else i for i, s in enumerate(shp) if s == 1]
    if not ones:
        x = x.reshape((1, *shp))
        ones = [0]
    pick = data.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    if len({p % x.ndim for p in pick}) != len(pick):
        pick = pick[:1]
    return call(x, pick[0] if len(pick) == 1 else tuple(pick))


@case("stack", "axis", ALL)
def _stack(data: Any, d: Any) -> Any:
    shp = S.shape(data)
    arrays = [S.arr(data, d, shp) for _ in range(data.draw(st.integers(1, 3)))]
    return call(arrays, axis=data.draw(st.integers(-len(shp) - 1, len(shp))))


@case("tile", "reps", SOME)
def _tile(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    return call(x, tuple(data.draw(st.lists(st.integers(0, 3), max_size=4))))


@case("unstack", "axis", SOME)
def _unstack(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1))
    return call(x, axis=data.draw(st.integers(-x.ndim, x.ndim - 1)))


# --- indexing ---------------------------------------------------------------------------------
def _basic_key(data: Any, shp: tuple[int, ...]) -> tuple[Any, ...]:
    key: list[Any] = []
    axes = data.draw(st.integers(0, len(shp)))
    for n in shp[:axes]:
        kind = data.draw(st.sampled_from(["int", "slice", "full", "none"] if n else ["slice", "none"]))
        if kind == "int":
            key.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            lo = data.draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            hi = data.draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            key.append(slice(lo, hi, data.draw(st.sampled_from([None, 1, 2, -1, -2]))))
        elif kind == "full":
            key.append(slice(None))
        else:
            key += [None, slice(None)]
    if data.draw(st.booleans()):
        # '...' anywhere is only safe when the key covers every axis (it then stands for none);
        # otherwise the items after it would index trailing axes they were not drawn for
        where = data.draw(st.integers(0, len(key))) if axes == len(shp) else len(key)
        key.insert(where, Ellipsis)
    return tuple(key)


def _idx(data: Any, n: int, size: tuple[int, ...], negative: bool = False) -> np.ndarray:
    lo = -n if negative else 0
    return np.array(data.draw(st.lists(st.integers(lo, n - 1), min_size=math.prod(size),
                                       max_size=math.prod(size))), dtype=np.int64).reshape(size)


@case("getitem", "basic", SOME)
def _getitem_basic(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data))
    key = _basic_key(data, x.shape)
    return call(x, key, fn=lambda x, k: x[k])


@case("getitem", "int-array", SOME)
def _getitem_int(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 3, 1))
    ax = data.draw(st.integers(0, x.ndim - 1))
    idx = _idx(data, x.shape[ax], S.shape(data, 1, 2))
    return call(x, (*(slice(None),) * ax, idx), fn=lambda x, k: x[k])


@case("getitem", "negative-int-array", (E.float32,))
def _getitem_neg(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 2, 1))
    return call(x, (_idx(data, x.shape[0], (3,), negative=True),), fn=lambda x, k: x[k])


@case("getitem", "two-arrays", (E.int32, E.float32))
def _getitem_two(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 3, 3, 1))
    s1, s2 = S.bcast_shapes(data, min_dims=1, max_dims=2, min_side=1)
    i, j = _idx(data, x.shape[0], s1), _idx(data, x.shape[2], s2)
    sep = data.draw(st.booleans())  # separated advanced indices go first (NumPy's rule)
    key = (i, slice(None), j) if sep else (slice(None), _idx(data, x.shape[1], s1), j)
    return call(x, key, fn=lambda x, k: x[k])


@case("getitem", "bool-mask", SOME)
def _getitem_mask(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1))
    k = data.draw(st.integers(1, x.ndim))
    mask = S.arr(data, E.bool, x.shape[:k])
    return call(x, mask, fn=lambda x, m: x[m])


_MODES = ("set", "add", "multiply", "min", "max")


@case("index_update", "basic", SOME)
def _update_basic(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data), -5, 5)
    key = _basic_key(data, x.shape)
    v = S.arr(data, d, x[key].shape, -5, 5)
    mode = data.draw(st.sampled_from(_MODES if d.kind != "c" else _MODES[:3]))
    if mode in ("add", "multiply") and d.kind == "b":
        mode = "set"
    return call(x, key, v, mode=mode)


@case("index_update", "duplicates", (E.int32, E.int64, E.float32, E.float64))
def _update_dup(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 2, 1), -3, 3)
    idx = _idx(data, x.shape[0], (data.draw(st.integers(1, 6)),))
    mode = data.draw(st.sampled_from(_MODES[1:]))
    v = S.arr(data, d, x[idx].shape, -3, 3)
    return call(x, (idx,), v, mode=mode)


@case("index_update", "set-unique", (E.bool, E.int16, E.float32))
def _update_set(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 3, 1))
    n = x.shape[0]
    idx = np.array(data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n)), np.int64)
    v = S.arr(data, d, x[idx].shape)
    scalar = data.draw(st.booleans())
    return call(x, (idx,), v.flat[0].item() if scalar and v.size else v, mode="set")


@case("index_update", "at-mask", (E.float32,))
def _update_at(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1))
    mask = S.arr(data, E.bool, x.shape)
    method = data.draw(st.sampled_from(["set", "add", "multiply", "min", "max"]))
    return call(x, mask, 2.0, fn=lambda x, m, v: getattr(x.at[m], method)(v))


@case("take", "axis", SOME)
def _take(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1, 3, 1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    idx = _idx(data, x.shape[axis], (data.draw(st.integers(0, 5)),))
    return call(x, idx, axis=axis)


@case("take_along_axis", "broadcast", SOME)
def _take_along_axis(data: Any, d: Any) -> Any:
    """indices and x broadcast off the axis (either may have 1 where the other has n); on the
    axis indices has any length, negative indices included."""
    base = S.shape(data, 1, 3, 1)
    axis = data.draw(st.integers(-len(base), len(base) - 1), label="axis")
    ax = axis % len(base)
    x_shape = tuple(n if i == ax else data.draw(st.sampled_from((1, n))) for i, n in enumerate(base))
    i_shape = tuple(data.draw(st.integers(0, 4)) if i == ax else data.draw(st.sampled_from((1, n)))
                    for i, n in enumerate(base))
    return call(S.arr(data, d, x_shape), _idx(data, base[ax], i_shape, negative=True), axis=axis)


@case("take_along_axis", "small-index-dtype", (E.float32,))
def _take_along_axis_int8(data: Any, d: Any) -> Any:
    """int8/uint8 indices along a short axis of an x with 300 rows (the other axes' positions
    must not take the indices' dtype)."""
    x = S.arr(data, d, (300, 3))
    kind = data.draw(st.sampled_from((np.int8, np.uint8)), label="index dtype")
    idx = _idx(data, 3, (300, 2), negative=kind is np.int8).astype(kind)
    return call(x, idx, axis=1)


# --- searching --------------------------------------------------------------------------------
for _name in ("argmax", "argmin"):
    @case(_name, "axis", S.REAL)
    def _arg(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data, 0, 3, 1), -3, 3, grid=0.5)  # ties: first index wins
        return call(x, axis=S.axis_arg(data, x.ndim), keepdims=data.draw(st.booleans()))


@case("nonzero", "shape", ALL)
def _nonzero(data: Any, d: Any) -> Any:
    return call(S.arr(data, d, S.shape(data, 1), -1, 1))


@case("count_nonzero", "axes", ALL)
def _count_nonzero(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data), -1, 1)
    return call(x, axis=S.axes_arg(data, x.ndim), keepdims=data.draw(st.booleans()))


@case("searchsorted", "side", S.REAL)
def _searchsorted(data: Any, d: Any) -> Any:
    x1 = np.sort(S.arr(data, d, (data.draw(st.integers(0, 8)),), -5, 5, grid=1.0))
    x2 = S.arr(data, d, S.shape(data), -6, 6, grid=0.5)
    return call(x1, x2, side=data.draw(st.sampled_from(["left", "right"])))


@case("searchsorted", "sorter", (E.int64, E.float32))
def _searchsorted_sorter(data: Any, d: Any) -> Any:
    x1 = S.arr(data, d, (data.draw(st.integers(1, 8)),), -5, 5, unique=True)
    x2 = S.arr(data, d, (4,), -6, 6)
    return call(x1, x2, sorter=np.argsort(x1, kind="stable").astype(np.int64))


@case("where", "broadcast", ALL)
def _where(data: Any, d: Any) -> Any:
    s0, s1, s2 = S.bcast_shapes(data, 3)
    return call(S.arr(data, E.bool, s0), S.arr(data, d, s1), S.arr(data, d, s2))


@case("where", "scalar")
def _where_scalar(data: Any, d: Any) -> Any:
    c = S.arr(data, E.bool, S.shape(data))
    x = S.arr(data, E.float32, c.shape)
    return call(c, x, data.draw(st.sampled_from([0.0, -1.5, 2])))


# --- sorting ----------------------------------------------------------------------------------
for _name in ("sort", "argsort"):
    @case(_name, "stable", S.REAL, bf16=_name == "sort")
    def _sort(data: Any, d: Any) -> Any:
        x = S.arr(data, d, S.shape(data, 1), -3, 3, grid=0.5)  # ties
        return call(x, axis=data.draw(st.integers(-x.ndim, x.ndim - 1)),
                    descending=data.draw(st.booleans()))


def _check_unstable(actual: Any, expected: Any, args: Any, factor: float) -> None:
    x, ax = args[0], args[1]
    got = np.take_along_axis(x, actual[0].array, axis=ax)
    want = np.take_along_axis(x, expected[0].array, axis=ax)
    if not np.array_equal(got, want):
        raise AssertionError(f"x sorted by the returned indices differs:\n{got}\nvs\n{want}")


@case("argsort", "unstable", (E.int32, E.float32), check=_check_unstable)
def _argsort_unstable(data: Any, d: Any) -> Any:
    x = S.arr(data, d, S.shape(data, 1), -3, 3, grid=0.5)
    ax = data.draw(st.integers(0, x.ndim - 1))
    return call(x, ax, data.draw(st.booleans()),
                fn=lambda x, ax, desc: E.argsort(x, axis=ax, descending=desc, stable=False))


@case("sort", "nan-last", (E.float32, E.float64))
def _sort_nan(data: Any, d: Any) -> Any:
    return call(S.arr(data, d, S.shape(data, 1, 2), specials=True))


# --- set --------------------------------------------------------------------------------------
for _name in ("unique_all", "unique_counts", "unique_inverse", "unique_values"):
    @case(_name, "duplicates", S.REAL + S.BOOL)
    def _unique(data: Any, d: Any) -> Any:
        return call(S.arr(data, d, S.shape(data), -3, 3, grid=0.5))
