"""Indexing: ``x[key]``, ``take``, ``take_along_axis``, and functional updates (``x.at[key].set(v)``,
``ember.index_update``)."""

from __future__ import annotations

from typing import Any

from .. import _dtypes as dt
from .._dispatch import (
    backend_of,
    broadcast_shapes,
    cast_native,
    check_scalar_fits,
    fail,
    native_of,
    norm_axis,
    rebase,
)
from .._errors import DTypeError, EmberError, OutOfBoundsError, ShapeError
from .._tensor import Tensor
from ..autodiff._variables import Variable as V
from ._creation import arange, asarray
from ._manipulation import broadcast_to, reshape

__all__ = ["getitem", "index_update", "take", "take_along_axis"]

T = Tensor
_MODES = ("set", "add", "multiply", "min", "max")
_SCALAR_RANK = {bool: 0, int: 1, float: 2, complex: 3}
_RANK = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}


def _norm_item(x: Tensor, item: Any) -> tuple[Any, int]:
    """One key item -> (normalised item, number of axes of x it consumes)."""
    if item is None or item is Ellipsis:
        return item, 0
    t = type(item)
    if t is int:
        return item, 1
    if t is slice:
        if all(v is None or type(v) is int for v in (item.start, item.stop, item.step)):
            return item, 1
        return slice(*(None if v is None else int(v.__index__()) for v in (item.start, item.stop, item.step))), 1
    if t is bool:
        raise EmberError("indexing with a Python bool is not supported; use a boolean tensor mask")
    if isinstance(item, (Tensor, list, tuple)) or hasattr(item, "__array__") or hasattr(item, "__dlpack__"):
        idx = item if isinstance(item, Tensor) else asarray(item, backend=x._b, device=x.device)
        d = idx.dtype
        if d is dt.bool:
            return native_of(x._b, idx, "getitem"), max(idx.ndim, 1) if idx.ndim else 0
        if not d.is_integer:
            raise DTypeError(f"index arrays must be integer or bool tensors, got {d}")
        return cast_native(x._b, native_of(x._b, idx, "getitem"), dt.int64), 1
    if hasattr(item, "__index__"):
        return int(item.__index__()), 1
    raise EmberError(
        f"unsupported index {item!r} ({t.__name__}); use ints, slices, None, Ellipsis, "
        f"integer or boolean tensors"
    )


def normalise_key(x: Tensor, key: Any) -> tuple[Any, ...]:
    items = key if type(key) is tuple else (key,)
    out = []
    counts = []
    used = 0
    ellipses = 0
    for item in items:
        n, k = _norm_item(x, item)
        out.append(n)
        counts.append(k)
        used += k
        ellipses += item is Ellipsis
    shape = x.shape
    if ellipses > 1:
        raise EmberError("an index can only have a single ellipsis ('...')")
    if used > len(shape):
        raise OutOfBoundsError(f"too many indices for a tensor of shape {shape}: {used} axes indexed")
    # bounds of integer indices (array indices are checked by the backends that check them)
    axis = 0
    for item, k in zip(out, counts, strict=True):
        if item is Ellipsis:
            axis = len(shape) - (used - axis)
            continue
        if item is None:
            continue
        if type(item) is int:
            n = shape[axis]
            if not -n <= item < n:
                raise OutOfBoundsError(f"index {item} is out of bounds for axis {axis} with size {n}")
        elif type(item) is not slice and k and x._b.dtype_of(item) is dt.bool:
            _check_mask(tuple(item.shape), shape[axis:axis + k], axis)
        axis += k
    return tuple(out)


def _check_mask(mask: tuple[int, ...], axes: tuple[int, ...], axis: int) -> None:
    """A boolean mask's shape equals the axes it covers; an empty mask's axes may also be 0
    (it selects nothing), as in NumPy and the Array API test suite."""
    empty = 0 in mask
    if any(m != s and not (empty and m == 0) for m, s in zip(mask, axes, strict=True)):
        raise OutOfBoundsError(
            f"boolean index of shape {mask} does not match the shape {axes} of the axes it "
            f"indexes (from axis {axis}); each axis must be equal" + (" or 0" if empty else ""))


def getitem(x: Any, key: Any) -> Tensor:
    """x[key] with NumPy semantics: ints, slices, None, Ellipsis, integer and boolean tensors."""
    if type(x) is T or type(x) is V:
        b = x._b
        n = x._n
        shape = n.shape
        tk = type(key)
        if shape and ((tk is slice and key.step is None) or (tk is int and -shape[0] <= key < shape[0])):
            return T(b.kernels.basic_index(n, (key,)), b, x._d)
        if tk is tuple and len(key) <= len(shape):
            for i, item in enumerate(key):
                ti = type(item)
                if ti is int:
                    if not -shape[i] <= item < shape[i]:
                        break
                elif ti is not slice or item.step is not None:
                    break
            else:
                return T(b.kernels.basic_index(n, key), b, x._d)
    else:
        x = asarray(x)
    k = normalise_key(x, key)
    try:
        return T(x._b.kernels.getitem(x._n, k), x._b, x._d)
    except Exception as exc:
        raise fail("getitem", (x,), exc) from exc


def index_update(x: Any, key: Any, values: Any, *, mode: str = "set") -> Tensor:
    """A copy of x with ``x[key]`` set to (or combined with) values; x is unchanged.

    ``mode`` is "set", "add", "multiply", "min" or "max"; for all but "set", repeated indices
    accumulate. Same as ``x.at[key].set(values)`` / ``.add(values)`` / ...
    """
    if mode not in _MODES:
        raise EmberError(f"index_update: mode must be one of {_MODES}, got {mode!r}")
    x = x if isinstance(x, Tensor) else asarray(x)
    if isinstance(values, Tensor):
        x = rebase(backend_of("index_update", x, values), x)
    k = normalise_key(x, key)
    d = x.dtype
    if type(values) in _SCALAR_RANK and _SCALAR_RANK[type(values)] <= _RANK[d.kind]:
        # a Python scalar of a kind x holds is stored at x's precision (not via float32)
        check_scalar_fits("index_update", values, d)
        v = asarray(values, dtype=d, backend=x._b, device=x.device)
    else:
        v = values if isinstance(values, Tensor) else asarray(values, backend=x._b, device=x.device)
    if not dt.promotes_to(v.dtype, x.dtype) and not (v.dtype.kind in "iu" and x.dtype.kind in "iu"):
        raise DTypeError(f"index_update: cannot store {v.dtype} values into a {x.dtype} tensor without loss; cast first")
    try:
        return T(x._b.kernels.index_update(x._n, k, native_of(x._b, v, "index_update", x.dtype), mode), x._b)
    except Exception as exc:  # not element-wise: a failure is not explained by broadcasting
        raise fail("index_update", (x, v), exc, elementwise=False) from exc


def take(x: Any, indices: Any, /, *, axis: int | None = None) -> Tensor:
    """Elements of x at integer indices along axis (axis may be omitted for 1-d x)."""
    x = x if isinstance(x, Tensor) else asarray(x)
    if axis is None:
        if x.ndim != 1:
            raise EmberError(f"take: axis is required for tensors of rank {x.ndim}")
        axis = 0
    axis = norm_axis("take", axis, x.ndim)
    idx = indices if isinstance(indices, Tensor) else asarray(indices, backend=x._b, device=x.device)
    if not idx.dtype.is_integer:
        raise DTypeError(f"take: indices must be integers, got {idx.dtype}")
    try:
        return T(x._b.kernels.take(x._n, native_of(x._b, idx, "take"), axis), x._b)
    except Exception as exc:
        raise fail("take", (x, idx), exc, elementwise=False) from exc


def take_along_axis(x: Any, indices: Any, /, *, axis: int = -1) -> Tensor:
    """Elements of x at integer ``indices`` along axis (Python Array API 2024.12,
    ``numpy.take_along_axis``): indices has x's rank, the two broadcast on every other axis,
    and the result has that broadcast shape with indices' length on the axis. Negative
    indices count from the end; one out of range is an ``OutOfBoundsError`` on NumPy and torch
    (MLX's gather does not check, as for ``x[indices]``).

    >>> ember.take_along_axis(ember.asarray([[10, 30, 20]]), ember.asarray([[0, 2, 1]]), axis=1).tolist()
    [[10, 20, 30]]
    """
    x = x if isinstance(x, Tensor) else asarray(x)
    idx = indices if isinstance(indices, Tensor) else asarray(indices, backend=x._b, device=x.device)
    if not idx.dtype.is_integer:
        raise DTypeError(f"take_along_axis: indices must be integers, got {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ShapeError(f"take_along_axis: indices must have x's rank {x.ndim}, got shape "
                         f"{tuple(idx.shape)} for x of shape {tuple(x.shape)}; add axes with "
                         f"ember.expand_dims")
    axis = norm_axis("take_along_axis", axis, x.ndim)
    off = broadcast_shapes("take_along_axis", _without(x.shape, axis), _without(idx.shape, axis),
                           args=(x, idx))
    x = broadcast_to(x, off[:axis] + (x.shape[axis],) + off[axis:])
    idx = broadcast_to(idx, off[:axis] + (idx.shape[axis],) + off[axis:])
    key = []
    for d in range(x.ndim):
        if d == axis:
            key.append(idx)
        else:
            shape = [1] * x.ndim
            shape[d] = x.shape[d]
            key.append(reshape(arange(x.shape[d], dtype=dt.int64, backend=x._b,
                                      device=x.device), tuple(shape)))
    try:
        return getitem(x, tuple(key))
    except OutOfBoundsError as exc:
        raise OutOfBoundsError(f"take_along_axis: an index is out of range for axis {axis} of "
                               f"size {x.shape[axis]} ({exc})") from exc


def _without(shape: Any, axis: int) -> tuple[int, ...]:
    return tuple(shape[:axis]) + tuple(shape[axis + 1:])


class _At:
    __slots__ = ("_x",)

    def __init__(self, x: Tensor) -> None:
        self._x = x

    def __getitem__(self, key: Any) -> _AtKey:
        return _AtKey(self._x, key)


class _AtKey:
    """``x.at[key]``: functional updates that return a new tensor."""

    __slots__ = ("_key", "_x")

    def __init__(self, x: Tensor, key: Any) -> None:
        self._x, self._key = x, key

    def get(self) -> Tensor:
        return getitem(self._x, self._key)

    def set(self, values: Any) -> Tensor:
        return index_update(self._x, self._key, values, mode="set")

    def add(self, values: Any) -> Tensor:
        return index_update(self._x, self._key, values, mode="add")

    def multiply(self, values: Any) -> Tensor:
        return index_update(self._x, self._key, values, mode="multiply")

    def min(self, values: Any) -> Tensor:
        return index_update(self._x, self._key, values, mode="min")

    def max(self, values: Any) -> Tensor:
        return index_update(self._x, self._key, values, mode="max")
