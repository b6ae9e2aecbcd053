"""Shared machinery of the op layer: finding the backend of arguments, unwrapping, promotion,
axis normalisation and error messages. The per-op fast paths live in the ``ops`` modules; what
is here runs on the slow path (mixed dtypes, Python scalars, errors) or once per op."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from . import _dtypes as dt
from ._backend import Backend, current_backend
from ._errors import (
    BackendMismatchError,
    DTypeError,
    EmberError,
    OutOfBoundsError,
    OutOfMemoryError,
    ShapeError,
)
from ._memory import is_oom
from ._tensor import Tensor

__all__ = [
    "backend_of",
    "rebase",
    "cast_native",
    "fail",
    "native_of",
    "norm_axes",
    "norm_axis",
    "promote_binary",
]

_SCALAR_TYPES = (builtins.bool, int, float, complex)
_KIND_RANK = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}
_SCALAR_KIND = {builtins.bool: "b", int: "i", float: "f", complex: "c"}
_INT64_MAX = 2**63 - 1


def is_scalar(x: Any) -> builtins.bool:
    return isinstance(x, _SCALAR_TYPES) and not isinstance(x, Tensor)


def backend_of(op: str, *args: Any) -> Backend:
    """The backend of the tensors among ``args`` (and in list/tuple arguments); the default
    backend if there are none. Tensors of two backends raise :class:`BackendMismatchError`."""
    found: Backend | None = None
    for a in args:
        for t in a if isinstance(a, (list, tuple)) else (a,):
            if isinstance(t, Tensor):
                b = t._b
                if found is None:
                    found = b
                elif b is not found:
                    if b.root is not found.root:
                        raise BackendMismatchError(
                            f"{op}: tensors of backends {found.name!r} and {b.name!r} cannot be "
                            f"combined; move one with x.to({found.name!r}) or x.to({b.name!r})"
                        )
                    if b is not b.root:  # a tensor a gradient tape tracks: the op is recorded
                        found = b
    return found if found is not None else current_backend()


def native_of(b: Backend, x: Any, op: str, dtype: dt.DType | None = None) -> Any:
    """Unwrap a Tensor of backend ``b`` (or of its recording twin); convert anything else
    (lists, NumPy) with asarray. Ops taking several tensors pick ``b`` with :func:`backend_of`
    over all of them, so that a tensor a tape tracks makes the op recorded."""
    if isinstance(x, Tensor):
        if x._b is not b and x._b.root is not b.root:
            raise BackendMismatchError(
                f"{op}: tensors of backends {b.name!r} and {x._b.name!r} cannot be combined; "
                f"move one with x.to({b.name!r})"
            )
        n = x._n
        if dtype is not None and b.dtype_of(n) is not dtype:
            n = b.kernels.astype(n, b.native_dtype(dtype), False)
        return n
    from .ops._creation import asarray

    return asarray(x, dtype=dtype, backend=b)._n


def rebase(b: Backend, x: Tensor) -> Tensor:
    """``x`` on ``b`` when ``b`` is x's backend or its recording twin (see backend_of); x
    unchanged otherwise (a later step reports the mismatch)."""
    return x if x._b is b or x._b.root is not b.root else Tensor(x._n, b, x._d)


def cast_native(b: Backend, n: Any, dtype: dt.DType) -> Any:
    if b.dtype_of(n) is dtype:
        return n
    return b.kernels.astype(n, b.native_dtype(dtype), False)


def check_scalar_fits(op: str, value: Any, dtype: dt.DType) -> None:
    if dtype.kind in "iu" and type(value) is int:
        lo, hi = dt.int_range(dtype)
        if not lo <= value <= hi:
            raise DTypeError(
                f"{op}: Python int {value} does not fit {dtype} (range {lo}..{hi}); "
                f"cast the tensor first, e.g. ember.astype(x, ember.int64)"
            )


def promote_binary(
    op: str, x1: Any, x2: Any, *, inexact: builtins.bool = False, kinds: str = ""
) -> tuple[Backend, Any, Any, dt.DType]:
    """Bring two operands to one dtype (or a tensor plus a fitting scalar).

    Returns (backend, native1, native2, result dtype before the op). ``inexact`` ops cast integer
    results to the default float dtype; ``kinds`` restricts allowed dtype kinds ('iub' bitwise).
    """
    b = backend_of(op, x1, x2)
    s1, s2 = is_scalar(x1), is_scalar(x2)
    if s1 and s2:
        x1 = _scalar_tensor(b, x1)
        s1 = False
    if not isinstance(x1, Tensor) and not s1:
        x1 = Tensor(native_of(b, x1, op), b)
    if not isinstance(x2, Tensor) and not s2:
        x2 = Tensor(native_of(b, x2, op), b)
    if s1 or s2:
        t, s = (x2, x1) if s1 else (x1, x2)
        if isinstance(s, (builtins.bool, int, float, complex)) and type(s) not in _SCALAR_KIND:
            s = _plain_scalar(s)  # NumPy scalars and other subclasses -> plain Python
        d = t.dtype
        sk = _SCALAR_KIND[type(s)]
        target = d
        if _KIND_RANK[sk] > _KIND_RANK[d.kind]:
            target = dt.promote_types(d, dt.scalar_dtype(s))
        if inexact and not target.is_inexact:
            target = dt.default_float()
        _check_kinds(op, kinds, target, d)
        if sk in "iu":
            check_scalar_fits(op, s, target)
            if s > _INT64_MAX:  # only uint64 holds it, and MLX reads Python ints as int64
                s = b.kernels.asarray(s, b.native_dtype(target), None, None)
        n = cast_native(b, t._n, target)
        return (b, s, n, target) if s1 else (b, n, s, target)
    d1, d2 = x1.dtype, x2.dtype
    try:
        target = dt.promote_types(d1, d2)
    except DTypeError as exc:
        raise DTypeError(f"{op}: {exc}") from None
    if inexact and not target.is_inexact:
        target = dt.default_float()
    _check_kinds(op, kinds, d1, d2)
    return b, cast_native(b, x1._n, target), cast_native(b, x2._n, target), target


def _plain_scalar(s: Any) -> Any:
    if isinstance(s, builtins.bool):
        return builtins.bool(s)
    if isinstance(s, int):
        return int(s)
    if isinstance(s, float):
        return float(s)
    return complex(s)


def _check_kinds(op: str, kinds: str, *dtypes: dt.DType) -> None:
    if kinds:
        bad = [d for d in dtypes if d.kind not in kinds]
        if bad:
            allowed = {"iub": "integer or bool", "iu": "integer",
                       "iuf": "real-valued (integer or floating-point)"}.get(kinds, kinds)
            raise DTypeError(
                f"{op} takes {allowed} dtypes, got {', '.join(map(str, dtypes))}; "
                f"cast with ember.astype first"
            )


def _scalar_tensor(b: Backend, s: Any) -> Tensor:
    d = dt.scalar_dtype(s)
    return Tensor(b.kernels.asarray(s, b.native_dtype(d), None, None), b)


def norm_axis(op: str, axis: int, ndim: int) -> int:
    """One axis, negative allowed, as a non-negative int (ShapeError when out of range)."""
    if type(axis) is int and -ndim <= axis < ndim:
        return axis + ndim if axis < 0 else axis
    if type(axis) is not int:
        if hasattr(axis, "__index__") and not isinstance(axis, builtins.bool):
            axis = axis.__index__()
        else:
            raise ShapeError(f"{op}: axis must be an int, got {axis!r}")
    if -ndim <= axis < ndim:
        return axis + ndim if axis < 0 else axis
    raise OutOfBoundsError(  # a ShapeError that is also an IndexError, as NumPy's AxisError
        f"{op}: axis {axis} is out of range for a tensor of rank {ndim} "
        f"(valid: {-ndim}..{ndim - 1})" if ndim else f"{op}: axis {axis} given for a 0-d tensor"
    )


def norm_axes(op: str, axis: Any, ndim: int) -> tuple[int, ...] | None:
    """None, an int or a sequence of ints -> None or a sorted tuple of distinct axes."""
    if axis is None:
        return None
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, without the ABC check
        return (axis + ndim if axis < 0 else axis,)
    if isinstance(axis, Sequence):
        out = tuple(sorted(norm_axis(op, a, ndim) for a in axis))
        if len(set(out)) != len(out):
            raise ShapeError(f"{op}: repeated axis in {tuple(axis)!r}")
        return out
    return (norm_axis(op, axis, ndim),)


def describe(args: Sequence[Any]) -> str:
    parts = []
    for a in args:
        if isinstance(a, Tensor):
            try:
                parts.append(f"{a.dtype.name}{list(a.shape)}")
            except Exception:
                parts.append("tensor")
        elif isinstance(a, (list, tuple)) and a and isinstance(a[0], Tensor):
            parts.append("[" + ", ".join(describe([t]) for t in a) + "]")
        elif is_scalar(a):
            parts.append(repr(a))
    return ", ".join(parts)


def broadcast_shapes(op: str, *shapes: tuple[int, ...], args: Sequence[Any] = ()) -> tuple[int, ...]:
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(-ndim, 0):
        dims = {s[i] for s in shapes if len(s) >= -i} - {1}
        if len(dims) > 1:
            raise ShapeError(
                f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} do not broadcast "
                f"(operands: {describe(args)}); make the axes equal or 1"
            )
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def fail(op: str, args: Sequence[Any], exc: BaseException, *, elementwise: bool = True) -> EmberError:
    """Turn an exception from a kernel into an ember error naming the op, shapes and dtypes
    (for an ``elementwise`` op, shapes that do not broadcast are the explanation given)."""
    if isinstance(exc, EmberError):
        return exc
    b = next((a._b for a in args if isinstance(a, Tensor)), None)
    where = f" on backend {b.name!r}" if b is not None else ""
    shapes = [tuple(a.shape) for a in args if isinstance(a, Tensor)]
    if elementwise and len(shapes) >= 2:
        try:
            broadcast_shapes(op, *shapes, args=args)
        except ShapeError as err:
            return err
    msg = f"{op} failed{where} for operands ({describe(args)}): {type(exc).__name__}: {exc}"
    if isinstance(exc, (TypeError,)) and "dtype" in str(exc).lower():
        return DTypeError(msg)
    if isinstance(exc, IndexError):
        return OutOfBoundsError(msg)
    if is_oom(exc):  # the result did not fit (NumPy MemoryError, torch allocator errors)
        return OutOfMemoryError(msg)
    if isinstance(exc, (ValueError, RuntimeError)) and "shape" in str(exc).lower():
        return ShapeError(msg)
    return EmberError(msg)
