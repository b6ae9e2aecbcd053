"""Raw bytes of tensors: the generic ``to_bytes``/``from_bytes`` backend hooks.

The byte layout is the one safetensors and NumPy's ``tobytes`` use: C order, little-endian,
``dtype.itemsize`` bytes an element; bool is one byte (0 or 1); complex is (real, imag) pairs;
bfloat16 is the upper half of the float32 bit pattern. A backend may give its own fast hooks
(``ember.BackendHooks(to_bytes=..., from_bytes=...)``); these generic ones are used otherwise:
``to_bytes`` through the backend's ``arrays.to_numpy``, ``from_bytes`` through Python's
``array`` module and the backend's ``asarray`` kernel (no NumPy needed).
"""

from __future__ import annotations

import array
import math
import struct
import sys
from typing import TYPE_CHECKING, Any

from . import _dtypes as dt

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["generic_from_bytes", "generic_to_bytes"]

_BIG_ENDIAN = sys.byteorder == "big"


def _typecode(kind: str, size: int) -> str:
    """The ``array`` typecode of a signed/unsigned int or float of ``size`` bytes."""
    candidates = {"i": "bhilq", "u": "BHILQ", "f": "fd"}[kind]
    return next(c for c in candidates if array.array(c).itemsize == size)


def _little(host: Any) -> bytes:
    """``host`` (a NumPy array) as C-order little-endian bytes."""
    order = getattr(host.dtype, "byteorder", "=")
    if order == ">" or (order == "=" and _BIG_ENDIAN):
        host = host.astype(host.dtype.newbyteorder("<"))
    return bytes(host.tobytes(order="C"))


def generic_to_bytes(b: Backend, native: Any) -> bytes:
    """``native``'s values as raw little-endian bytes, through ``b.arrays.to_numpy``.

    bfloat16 (which NumPy lacks) is widened to float32 by the backend (exact) and the upper
    two bytes of each float32 are kept.
    """
    if b.dtype_of(native) is dt.bfloat16:
        wide = b.kernels.astype(native, b.to_native_dtype[dt.float32], True)
        raw = _little(b.arrays.to_numpy(wide))
        out = bytearray(len(raw) // 2)
        out[0::2] = raw[2::4]
        out[1::2] = raw[3::4]
        return bytes(out)
    return _little(b.arrays.to_numpy(native))


def _values(data: memoryview, d: dt.DType) -> list[Any]:
    """The elements of little-endian ``data`` as Python scalars of dtype ``d``."""
    if d is dt.bool:
        return [v != 0 for v in data]
    if d is dt.float16:
        return list(struct.unpack(f"<{len(data) // 2}e", data))
    if d is dt.bfloat16:
        wide = bytearray(2 * len(data))
        wide[2::4] = data[0::2]
        wide[3::4] = data[1::2]
        return _values(memoryview(wide), dt.float32)
    if d.is_complex:
        parts = _values(data, dt.float32 if d is dt.complex64 else dt.float64)
        return [complex(r, i) for r, i in zip(parts[0::2], parts[1::2])]
    out = array.array(_typecode(d.kind, d.itemsize))
    out.frombytes(data)
    if _BIG_ENDIAN and d.itemsize > 1:
        out.byteswap()
    return out.tolist()


def generic_from_bytes(
    b: Backend, data: Any, dtype_name: str, shape: tuple[int, ...], device: Any
) -> Any:
    """A native array of ember dtype ``dtype_name`` and ``shape`` holding ``data``'s bytes.

    ``data`` is a bytes-like object of exactly ``prod(shape) * itemsize`` bytes (checked by
    :func:`ember.frombuffer`); ``device`` is a native device or None for the default one.
    bfloat16 and float16 go through their bit patterns, so their values are exact (NaN
    payloads aside).
    """
    d = dt.BY_NAME[dtype_name]
    values = _values(memoryview(data).cast("B"), d)
    flat = b.kernels.asarray(values, b.to_native_dtype[d], device, None)
    shape = tuple(shape)
    if shape == (math.prod(shape),):
        return flat
    return b.kernels.reshape(flat, shape, None)
