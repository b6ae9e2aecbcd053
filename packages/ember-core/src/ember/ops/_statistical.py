"""Statistical functions: sum, prod, max, min, mean, var, std and the cumulative sums and
products."""

from __future__ import annotations

import builtins
import math
from typing import Any

from .. import _dtypes as dt
from .._dispatch import cast_native, fail, norm_axes, norm_axis
from .._errors import DTypeError, ShapeError
from .._tensor import Tensor
from ..autodiff._variables import Variable as V
from ._constants import constant
from ._creation import asarray

__all__ = ["cumulative_prod", "cumulative_sum", "max", "mean", "min", "prod", "std", "sum", "var"]

T = Tensor


def _t(x: Any) -> Tensor:
    return x if type(x) is T else asarray(x)


def _accumulator(d: dt.DType) -> dt.DType:
    """Array API default accumulation dtype for sum/prod/cumulative ops with dtype=None."""
    if d.kind == "b" or d.kind == "i":
        return dt.DEFAULT_INT
    if d.kind == "u":
        return dt.DEFAULT_UINT
    return d


def _acc_native(x: Tensor, dtype: Any) -> Any:
    b = x._b
    d = x.dtype
    want = _accumulator(d) if dtype is None else dt.as_dtype(dtype)
    if want is d:
        return None
    return b.native_dtype(want)


def _sum_like(op: str, x: Any, axis: Any, dtype: Any, keepdims: bool) -> Tensor:
    if (type(x) is T or type(x) is V) and axis is None and dtype is None:
        b = x._b
        d = x._d or x.dtype
        if d.kind in "fc":
            try:
                return T(getattr(b.kernels, op)(x._n, None, None, keepdims), b, d)
            except Exception as exc:
                raise fail(op, (x,), exc) from exc
    x = _t(x)
    b = x._b
    axes = norm_axes(op, axis, x.ndim)
    try:
        return T(getattr(b.kernels, op)(x._n, axes, _acc_native(x, dtype), keepdims), b)
    except Exception as exc:
        raise fail(op, (x,), exc) from exc


def sum(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Tensor:
    """Sum over axes. Integers accumulate in int64 (uint64 for unsigned), bool in int64.

    >>> ember.sum(ember.tensor([[1, 2], [3, 4]]), axis=0).tolist()
    [4, 6]
    """
    return _sum_like("sum", x, axis, dtype, keepdims)


def prod(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Tensor:
    """Product over axes (accumulation dtypes as for :func:`sum`)."""
    return _sum_like("prod", x, axis, dtype, keepdims)


def _minmax(op: str, x: Any, axis: Any, keepdims: bool) -> Tensor:
    x = _t(x)
    axes = norm_axes(op, axis, x.ndim)
    shape = x.shape
    if builtins.any(shape[a] == 0 for a in (axes if axes is not None else range(len(shape)))) or (
        axes is None and x.size == 0
    ):
        raise ShapeError(f"{op}: zero-size reduction over axis {axis} of shape {shape} has no identity")
    if x.dtype.is_complex:
        raise DTypeError(f"{op} is not defined for complex tensors (got {x.dtype})")
    try:
        return T(getattr(x._b.kernels, op)(x._n, axes, keepdims), x._b)
    except Exception as exc:
        raise fail(op, (x,), exc) from exc


def max(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Maximum over axes (NaN propagates)."""
    return _minmax("max", x, axis, keepdims)


def min(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Minimum over axes (NaN propagates)."""
    return _minmax("min", x, axis, keepdims)


def _float_input(op: str, x: Tensor) -> Tensor:
    if x.dtype.is_inexact:
        return x
    return T(cast_native(x._b, x._n, dt.default_float()), x._b)


def mean(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over axes (integers are averaged in the default float dtype)."""
    if (type(x) is T or type(x) is V) and axis is None:
        b = x._b
        d = x._d or x.dtype
        if d.kind in "fc":
            return T(b.kernels.mean(x._n, None, keepdims), b, d)
    x = _float_input("mean", _t(x))
    return T(x._b.kernels.mean(x._n, norm_axes("mean", axis, x.ndim), keepdims), x._b)


def var(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Tensor:
    """Variance over axes with Bessel-style ``correction`` (0: population, 1: sample)."""
    x = _float_input("var", _t(x))
    return T(x._b.kernels.var(x._n, norm_axes("var", axis, x.ndim), correction, keepdims), x._b)


def std(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Tensor:
    """Standard deviation over axes (square root of :func:`var`)."""
    from ._elementwise import sqrt

    x = _t(x)
    axes = norm_axes("std", axis, x.ndim)
    return sqrt(var(x, axis=axes, correction=correction, keepdims=keepdims))


def _cumulative(op: str, x: Any, axis: int | None, dtype: Any, include_initial: bool,
                initial: int) -> Tensor:
    x = _t(x)
    if axis is None:
        if x.ndim != 1:
            raise ShapeError(f"{op}: axis is required for tensors of rank {x.ndim} (only 1-d may omit it)")
        axis = 0
    axis = norm_axis(op, axis, x.ndim)
    try:
        out = T(getattr(x._b.kernels, op)(x._n, axis, _acc_native(x, dtype)), x._b)
    except Exception as exc:
        raise fail(op, (x,), exc) from exc
    if not include_initial:
        return out
    # the kernels scan; the initial value (the empty sum or product) is prepended here, once,
    # cached for small shapes (ember.full's checks cost more than a 4x4 scan)
    b, dev, d = out._b.root, out.device, out.dtype
    shape = (*x.shape[:axis], 1, *x.shape[axis + 1:])

    def build() -> Any:
        return b.kernels.full(shape, initial, b.native_dtype(d, dev), b.native_device(dev))

    small = math.prod(shape) <= 1 << 16
    first = constant(("cumulative initial", b, dev, d, shape, initial), build) if small else build()
    return T(out._b.kernels.concat([first, out._n], axis), out._b, d)


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                   include_initial: bool = False) -> Tensor:
    """Running sum along axis; include_initial prepends a zero."""
    return _cumulative("cumulative_sum", x, axis, dtype, include_initial, 0)


def cumulative_prod(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                    include_initial: bool = False) -> Tensor:
    """Running product along axis; include_initial prepends a one."""
    return _cumulative("cumulative_prod", x, axis, dtype, include_initial, 1)
