"""What the audio features share: argument checks, the input check, and constant tensors
(windows, filter banks, DCT and resampling kernels) built once in Python floats and cached as
bytes, so a call costs one copy onto the input's backend and device."""

from __future__ import annotations

import functools
import sys
from array import array
from collections.abc import Callable
from typing import Any

import ember

from .._core._errors import ConfigError

__all__ = ["constant", "float_dtype", "nonnegative_float", "positive_int", "signal"]


def positive_int(fn: str, name: str, value: Any) -> int:
    """``value`` if it is a positive int (not a bool), else a ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{fn}: {name} must be a positive int, got {value!r}")
    return value


def nonnegative_float(fn: str, name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number >= 0, else a ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < float("inf"):
        raise ConfigError(f"{fn}: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def signal(fn: str, x: Any, *, min_ndim: int = 1) -> ember.Tensor:
    """``x`` as a real floating tensor of at least ``min_ndim`` axes, else an error naming it."""
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if not x.dtype.is_floating or x.dtype.is_complex:
        raise ember.DTypeError(f"{fn}: the signal must be a real floating tensor, got {x.dtype}; "
                               f"cast it first (x.astype(ember.float32))")
    if x.ndim < min_ndim:
        raise ember.ShapeError(f"{fn}: the signal needs at least {min_ndim} axis (..., samples), "
                               f"got shape {x.shape}")
    return x


def float_dtype(fn: str, dtype: Any) -> ember.DType:
    """``dtype`` (None: ember's default float) if it is a real floating dtype."""
    d = ember.get_default_dtype() if dtype is None else dtype
    if not isinstance(d, ember.DType) or not d.is_floating or d.is_complex:
        raise ConfigError(f"{fn}: dtype must be a real floating ember dtype such as "
                          f"ember.float32, got {dtype!r}")
    return d


@functools.lru_cache(maxsize=128)
def _packed(builder: Callable[..., list[float]], args: tuple[Any, ...], code: str) -> bytes:
    values = array(code, builder(*args))
    if sys.byteorder == "big":  # ember.frombuffer reads little-endian bytes
        values.byteswap()
    return values.tobytes()


def constant(builder: Callable[..., list[float]], args: tuple[Any, ...], shape: tuple[int, ...],
             dtype: ember.DType, backend: Any = None, device: str | None = None) -> ember.Tensor:
    """The flat float64 values ``builder(*args)`` as a tensor of ``shape`` and ``dtype``
    (rounded once from float64) on ``backend``/``device``; cached per arguments."""
    wide = dtype == ember.float64
    data = _packed(builder, args, "d" if wide else "f")
    t = ember.frombuffer(data, ember.float64 if wide else ember.float32, shape, backend=backend,
                         device=device)
    return t if dtype in (ember.float32, ember.float64) else t.astype(dtype)
