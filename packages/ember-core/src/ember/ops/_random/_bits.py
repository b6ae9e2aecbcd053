"""From a key to words and exact numbers: where a draw happens, its word planes, and the
bit-exact integer-to-float constructions every distribution starts from."""

from __future__ import annotations

import math
from typing import Any

from ... import _dtypes as dt
from ..._backend import Backend, current_backend
from ..._errors import ShapeError
from ..._plugins import load_backend
from ..._settings import native_default_device
from ..._tensor import Tensor
from ._keys import Key, as_key
from ._philox import words

__all__ = ["bits", "open_unit", "planes", "shape_of", "target", "unit", "unit_bits24"]


def shape_of(shape: Any) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ShapeError(f"negative dimension in shape {shape}")
    return shape


def target(backend: Any, device: str | None, dtype: dt.DType, op: str = "",
           shape: tuple[int, ...] | None = None) -> Backend:
    """The backend a draw runs on; checks that ``dtype`` exists on ``device`` there and, given
    the draw's ``op`` and ``shape``, that the result fits the backend's memory limit."""
    b = (current_backend() if backend is None else load_backend(backend)).root
    native = native_default_device(b) if device is None else b.native_device(device)
    b.native_dtype(dtype, device)
    limit_of = b.hooks.memory_limit
    if shape is not None and limit_of is not None:
        limit = limit_of(native)
        nbytes = math.prod(shape) * dtype.itemsize
        if limit is not None and nbytes > limit:  # refused before anything is drawn
            from ..._memory import out_of_memory

            raise out_of_memory(f"random.{op}", shape, dtype, nbytes, b.device_name(native),
                                b.name, limit)
    return b


def planes(k: Key | int, count: int, n: int, b: Backend, device: str | None) -> list[Tensor]:
    """``count`` planes of n words each: plane i is words ``i*n .. (i+1)*n - 1`` of the
    stream (so element j of a draw takes word j of each plane it needs)."""
    w = words(as_key(k).value, count * n, b, device)
    return [w] if count == 1 else [w[i * n:(i + 1) * n] for i in range(count)]


def bits(k: Key | int, shape: Any = (), *, device: str | None = None,
         backend: Any = None) -> Tensor:
    """Raw 32-bit words (uint32) of key k's Philox4x32-10 stream, in C order.

    The same key gives the same words on every backend and device.

    >>> ember.random.bits(ember.random.key(0), (2,)).tolist()
    [1713891541, 3781805453]
    """
    from .._dtypes import astype
    from .._manipulation import reshape

    s = shape_of(shape)
    b = target(backend, device, dt.uint32, "bits", s)
    (w,) = planes(k, 1, math.prod(s), b, device)
    return reshape(astype(w, dt.uint32), s)


def unit_bits24(w: Tensor) -> Tensor:
    """The top 24 bits of each word: uniform float32 draws are these times 2**-24."""
    return w >> 8


def _k53(hi: Tensor, lo: Tensor) -> Tensor:
    """53 bits: the 24 of ``unit_bits24(hi)`` followed by the top 29 of ``lo``."""
    return ((hi >> 8) << 29) | (lo >> 3)


_BELOW_ONE = {dt.float16: 1.0 - 2.0**-11, dt.bfloat16: 1.0 - 2.0**-8}


def unit(p: list[Tensor], d: dt.DType) -> Tensor:
    """Uniform [0, 1) of real floating dtype d from word planes (two for float64, else one).

    float32: ``(w >> 8) * 2**-24``; float64: 53 bits ``* 2**-53``, whose top 24 are the
    float32 draw's (a float32 draw is the float64 draw truncated to 24 bits); float16 and
    bfloat16: the float32 draw rounded to the nearest, then at most the largest value below 1.
    Every step is exact or a correctly rounded cast, so the results are bit-identical.
    """
    from .._dtypes import astype
    from .._elementwise import minimum

    if d is dt.float64:
        return astype(_k53(p[0], p[1]), dt.float64) * 2.0**-53
    u = astype(unit_bits24(p[0]), dt.float32) * 2.0**-24
    return u if d is dt.float32 else minimum(astype(u, d), _BELOW_ONE[d])


def open_unit(p: list[Tensor], d: dt.DType) -> Tensor:
    """Uniform on the open interval (0, 1), exactly: the :func:`unit` draw with its lowest
    bit set, ``((w >> 8) | 1) * 2**-24`` (float32) or ``(k53 | 1) * 2**-53`` (float64)."""
    from .._dtypes import astype

    if d is dt.float64:
        return astype(_k53(p[0], p[1]) | 1, dt.float64) * 2.0**-53
    return astype(unit_bits24(p[0]) | 1, dt.float32) * 2.0**-24
