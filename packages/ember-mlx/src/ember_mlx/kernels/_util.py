"""Helpers shared by the kernel modules (not kernels themselves)."""

from __future__ import annotations

from typing import Any

import mlx.core as mx
from ember import UnsupportedError

from .._lazy_numpy import np

CPU = mx.cpu  # linear algebra (and float64 on a GPU machine) runs on the CPU stream

INT64 = mx.int64

# by NumPy dtype name (NumPy is imported on first use: ._lazy_numpy)
_NP_TO_MX = {
    "bool": mx.bool_,
    "int8": mx.int8,
    "int16": mx.int16,
    "int32": mx.int32,
    "int64": mx.int64,
    "uint8": mx.uint8,
    "uint16": mx.uint16,
    "uint32": mx.uint32,
    "uint64": mx.uint64,
    "float16": mx.float16,
    "float32": mx.float32,
    "float64": mx.float64,
    "complex64": mx.complex64,
}
MX_TO_NP = {v: k for k, v in _NP_TO_MX.items()}  # MLX dtype -> NumPy dtype name

SIGN_INT = {  # the same-width signed integer type, for bit-level float tricks
    mx.float16: (mx.int16, -(2**15)),
    mx.bfloat16: (mx.int16, -(2**15)),
    mx.float32: (mx.int32, -(2**31)),
    mx.float64: (mx.int64, -(2**63)),
}

BITS = {
    mx.int8: 8,
    mx.int16: 16,
    mx.int32: 32,
    mx.int64: 64,
    mx.uint8: 8,
    mx.uint16: 16,
    mx.uint32: 32,
    mx.uint64: 64,
}


def is_inexact(dtype: Any) -> bool:
    return mx.issubdtype(dtype, mx.inexact)


def is_complex(dtype: Any) -> bool:
    return dtype == mx.complex64


def is_unsigned(dtype: Any) -> bool:
    return mx.issubdtype(dtype, mx.unsignedinteger)


def mx_dtype_of_numpy(dt: np.dtype) -> Any:
    """The MLX dtype for a NumPy dtype, or a clear error (complex128, strings, objects)."""
    npdt = np.dtype(dt)
    found = _NP_TO_MX.get(npdt.name) if npdt.isnative else None  # names: native byte order
    if found is not None:
        return found
    if npdt == np.complex128:
        raise UnsupportedError(
            "MLX has no complex128; convert to complex64 first "
            "(e.g. numpy_array.astype(numpy.complex64))"
        )
    raise UnsupportedError(f"MLX cannot hold NumPy dtype {dt}")


def from_numpy(a: np.ndarray, dtype: Any = None) -> mx.array:
    """A NumPy array as an MLX array, keeping float64 (mx.array would make it float32)."""
    if dtype is None:
        dtype = mx_dtype_of_numpy(a.dtype)
    if dtype == mx.bfloat16:
        return mx.array(np.asarray(a, dtype=np.float32)).astype(mx.bfloat16)
    npdt = MX_TO_NP[dtype]
    host = np.asarray(a, dtype=npdt, order="C")
    if any(st < 0 for st in host.strides):  # "C-contiguous" size-1 axes may still step backwards
        host = host.copy()
    return mx.array(host, dtype=dtype)


def to_host(x: mx.array) -> np.ndarray:
    """Evaluate ``x`` and copy it to NumPy (bfloat16 goes through float32 exactly)."""
    if x.dtype == mx.bfloat16:
        x = x.astype(mx.float32)
    return np.array(x, copy=True)


def as_int64(x: mx.array) -> mx.array:
    return x if x.dtype == INT64 else x.astype(INT64)


def scalar_array(value: Any, dtype: Any) -> mx.array:
    """A 0-d array of ``dtype`` holding a Python scalar exactly (uint64 beyond int64 too)."""
    return from_numpy(np.asarray(value, dtype=MX_TO_NP.get(dtype, "float32")), dtype)


def safe_reduce(fn: Any, x: mx.array, axis: Any = None, keepdims: bool = False, identity: Any = 0):
    """``fn(x, axis, keepdims)``, but an empty ``x`` is answered directly: MLX's CPU reduce of an
    empty input can stall for many seconds. ``identity=None``: no identity (max/min) -> raise
    when the result would have elements."""
    if x.size:
        return fn(x, axis=axis, keepdims=keepdims)
    if axis is None:
        axes = set(range(x.ndim))
    else:
        axes = {a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    if keepdims:
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
    else:
        shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    if identity is None and 0 not in shape:
        raise ValueError("zero-size array to a reduction operation that has no identity")
    return (
        mx.zeros(shape, dtype=x.dtype) + (identity or 0)
        if shape
        else mx.array(identity or 0, dtype=x.dtype)
    )


def reduced_shape(shape, axis, keepdims):
    axes = range(len(shape)) if axis is None else axis
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def empty_reduce(x, axis, keepdims, value):
    """Reductions of empty arrays are built directly: MLX's CPU reduce of an empty input
    has been seen to stall for seconds."""
    out = mx.full(reduced_shape(x.shape, axis, keepdims), value, dtype=x.dtype)
    return out if out.dtype == x.dtype else out.astype(x.dtype)  # mx.full drops complex
