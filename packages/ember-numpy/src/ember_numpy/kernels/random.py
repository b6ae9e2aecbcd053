"""Counter-based random kernels: ``np.random.Generator(np.random.Philox(seed))``.

The same seed, shape and dtype give the same numbers on every run and platform. Floating-point
samples are drawn in float64 and rounded to the requested dtype (so a float32 draw is the
rounding of the float64 draw for the same seed); uniform samples are then clamped below 1.
Complex dtypes get independent real and imaginary parts (normal: each with variance 1/2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["random_normal", "random_randint", "random_uniform"]


def _generator(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.Philox(seed))


def _real(dtype: np.dtype) -> np.dtype:
    return np.empty(0, dtype).real.dtype


def random_uniform(seed: int, shape: tuple[int, ...], dtype: Any, device: Any) -> np.ndarray:
    """Uniform samples in [0, 1)."""
    dtype = np.dtype(dtype)
    real = _real(dtype)
    g = _generator(seed)
    if dtype.kind == "c":
        u = g.random((2, *shape))
        out = _below_one(u, real)
        return (out[0] + 1j * out[1]).astype(dtype)
    return _below_one(g.random(shape), real)


def _below_one(u: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.float64:
        return u
    below = np.nextafter(np.ones((), dtype), np.zeros((), dtype))
    return np.minimum(u.astype(dtype), below)  # rounding may have reached 1.0


def random_normal(seed: int, shape: tuple[int, ...], dtype: Any, device: Any) -> np.ndarray:
    """Standard normal samples."""
    dtype = np.dtype(dtype)
    g = _generator(seed)
    if dtype.kind == "c":
        z = g.standard_normal((2, *shape)) * np.sqrt(0.5)
        return (z[0] + 1j * z[1]).astype(dtype)
    return g.standard_normal(shape).astype(dtype, copy=False)


def random_randint(
    seed: int, shape: tuple[int, ...], low: int, high: int, dtype: Any, device: Any
) -> np.ndarray:
    """Integers in [low, high), drawn directly in ``dtype`` for integer dtypes."""
    dtype = np.dtype(dtype)
    g = _generator(seed)
    if dtype.kind in "iub":
        return np.asarray(g.integers(low, high, size=shape, dtype=dtype))
    return g.integers(low, high, size=shape, dtype=np.int64).astype(dtype)
