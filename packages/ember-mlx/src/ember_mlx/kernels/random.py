"""Counter-based random kernels: the same seed, shape and dtype give the same numbers.

MLX's own ``uniform`` has no float64 and its ``randint`` goes through float32 (ranges beyond
2**24 lose values), so float64 samples and integers are built here from raw 32-bit words of the
threefry generator (``mx.random.split`` of the seed's key yields them, two per key).
"""

from __future__ import annotations

import math

import mlx.core as mx

from ._util import scalar_array

__all__ = ["random_normal", "random_randint", "random_uniform"]

_LOW_PRECISION = (mx.float16, mx.bfloat16)


def _key(seed):
    return mx.random.key(seed)


def _words(seed, n, stream):
    """``2 * ceil(n / 2)`` pseudo-random uint32 words, then the first n (1-d)."""
    if n == 0:
        return mx.zeros((0,), dtype=mx.uint32)
    keys = mx.random.split(_key(seed), (n + 1) // 2, stream=stream)
    return keys.reshape(-1)[:n]


def _uniform64(seed, shape, stream, offset=0.0):
    n = math.prod(shape)
    w = _words(seed, 2 * n, stream).reshape(n, 2) if n else mx.zeros((0, 2), dtype=mx.uint32)
    hi = mx.right_shift(w[:, 0], 5).astype(mx.float64, stream=stream)
    lo = mx.right_shift(w[:, 1], 6).astype(mx.float64, stream=stream)
    return ((hi * 67108864.0 + lo + offset) * 2.0**-53).reshape(shape)  # 53 random bits


def random_uniform(seed, shape, dtype, device):
    if dtype == mx.float64:
        return _uniform64(seed, shape, mx.cpu)
    if dtype in _LOW_PRECISION:
        u = mx.random.uniform(shape=shape, dtype=mx.float32, key=_key(seed), stream=device)
        out = u.astype(dtype)
        # rounding to 16 bits can reach 1.0: keep the interval half-open
        below_one = mx.array(1.0 - (2.0**-11 if dtype == mx.float16 else 2.0**-8), dtype=dtype)
        return mx.minimum(out, below_one)
    return mx.random.uniform(shape=shape, dtype=dtype, key=_key(seed), stream=device)


def random_normal(seed, shape, dtype, device):
    if dtype == mx.float64:
        u = _uniform64(seed, shape, mx.cpu, offset=0.5)  # in (0, 1): no infinities
        return math.sqrt(2.0) * mx.erfinv(2.0 * u - 1.0, stream=mx.cpu)
    if dtype in _LOW_PRECISION:
        return mx.random.normal(
            shape=shape, dtype=mx.float32, key=_key(seed), stream=device
        ).astype(dtype)
    return mx.random.normal(shape=shape, dtype=dtype, key=_key(seed), stream=device)


def random_randint(seed, shape, low, high, dtype, device):
    """Uniform integers in [low, high): 64 random bits reduced modulo the range (bias below
    range / 2**64), computed exactly in uint64."""
    n = math.prod(shape)
    span = high - low
    if n == 0 or span <= 0:
        return mx.full(shape, low if n else 0, dtype=dtype, stream=device)
    w = _words(seed, 2 * n, device).reshape(n, 2).astype(mx.uint64)
    r = mx.bitwise_or(mx.left_shift(w[:, 0], 32), w[:, 1])
    if span < 2**64:
        r = mx.remainder(r, scalar_array(span, mx.uint64))
    r = mx.add(r, scalar_array(low % 2**64, mx.uint64))  # wraps modulo 2**64 as intended
    if mx.issubdtype(dtype, mx.signedinteger):
        r = r.view(mx.int64)
    return r.astype(dtype).reshape(shape)
