"""Data type functions: astype, can_cast, finfo, iinfo, isdtype, result_type.

The dtypes themselves and the promotion rules are ember's dtype machinery (``ember/_dtypes.py``);
these are the public functions over them."""

from __future__ import annotations

import builtins
import sys
from dataclasses import dataclass
from typing import Any

from .. import _dtypes as dt
from .._dispatch import fail
from .._errors import DTypeError
from .._tensor import Tensor

__all__ = ["astype", "can_cast", "finfo", "iinfo", "isdtype", "result_type"]

_KIND_OF = {builtins.bool: "b", int: "i", float: "f", complex: "c"}
_RANK = {"b": 0, "i": 1, "f": 2, "c": 3}


def astype(x: Tensor, dtype: Any, /, *, copy: bool = True, device: str | None = None) -> Tensor:
    """Cast x to dtype (a copy unless copy=False and the dtype already matches)."""
    if not isinstance(x, Tensor):
        from ._creation import asarray

        x = asarray(x)
    d = dt.as_dtype(dtype)
    b = x._b
    if device is not None:
        x = x.to(device=device)
    if x.dtype is d and not copy:
        return x
    native = b.native_dtype(d, x.device)
    try:
        return Tensor(b.kernels.astype(x._n, native, copy), b, d)
    except Exception as exc:
        raise fail("astype", (x,), exc) from exc


def result_type(*arrays_and_dtypes: Any) -> dt.DType:
    """The dtype that the given tensors, dtypes and Python scalars promote to."""
    if not arrays_and_dtypes:
        raise DTypeError("result_type needs at least one tensor or dtype")
    dtypes = []
    scalars = []
    for a in arrays_and_dtypes:
        if isinstance(a, Tensor):
            dtypes.append(a.dtype)
        elif type(a) in _KIND_OF:
            scalars.append(a)
        else:
            dtypes.append(dt.as_dtype(a))
    if not dtypes:
        return dt.result_dtype(*(dt.scalar_dtype(s) for s in scalars))
    out = dt.result_dtype(*dtypes)
    for s in scalars:
        if _RANK[_KIND_OF[type(s)]] > _RANK[out.kind.replace("u", "i")]:
            out = dt.promote_types(out, dt.scalar_dtype(s))
    return out


def can_cast(from_: dt.DType, to: dt.DType, /) -> bool:
    """Whether ``from_`` casts to ``to`` under the promotion rules without loss of kind."""
    return dt.promotes_to(dt.as_dtype(from_), dt.as_dtype(to))


@dataclass(frozen=True)
class finfo_object:
    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: dt.DType


@dataclass(frozen=True)
class iinfo_object:
    bits: int
    max: int
    min: int
    dtype: dt.DType


_FINFO = {
    dt.float16: (16, 2.0**-10, 65504.0, 2.0**-14),
    dt.bfloat16: (16, 2.0**-7, 3.3895313892515355e38, 2.0**-126),
    dt.float32: (32, 2.0**-23, 3.4028234663852886e38, 2.0**-126),
    dt.float64: (64, sys.float_info.epsilon, sys.float_info.max, sys.float_info.min),
}


def _dtype_arg(obj: Any) -> dt.DType:
    return obj.dtype if isinstance(obj, Tensor) else dt.as_dtype(obj)


def finfo(type: Any, /) -> finfo_object:
    """Machine limits of a floating-point dtype (``ember.finfo(ember.float32).eps``)."""
    d = _dtype_arg(type)
    real = {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(d, d)
    if real not in _FINFO:
        raise DTypeError(f"finfo takes a floating-point dtype, got {d}; use ember.iinfo for integers")
    bits, eps, mx, tiny = _FINFO[real]
    return finfo_object(bits, eps, mx, -mx, tiny, real)


def iinfo(type: Any, /) -> iinfo_object:
    """Limits of an integer dtype (``ember.iinfo(ember.int8).max == 127``)."""
    d = _dtype_arg(type)
    if d.kind not in "iu":
        raise DTypeError(f"iinfo takes an integer dtype, got {d}; use ember.finfo for floating point")
    lo, hi = dt.int_range(d)
    return iinfo_object(d.bits, hi, lo, d)


def isdtype(dtype: dt.DType, kind: Any) -> bool:
    """Array API ``isdtype``: ``kind`` is a dtype, a kind name, or a tuple of those."""
    return dt.is_kind(dt.as_dtype(dtype), kind)
