"""``random_bits``: ember's Philox4x32-10 stream on NumPy's unsigned integers, a fast path for
the generator ember-core writes in ember ops.

The rounds are ember-core's (``philox_rounds``); only the 32x32-bit multiply is NumPy's own:
exact in uint64, its halves a shift and a cast (the portable version splits it into 16-bit
parts on int64). The conformance kit checks the words bit for bit against the Random123
known answers, Philox on Python ints, and the backends that run the composite.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ember.random._philox import M0, M1, MASK32, ROUNDS, philox_rounds, round_keys

__all__ = ["random_bits"]

_M = (np.uint64(M0), np.uint64(M1))
_SHIFT = np.uint64(32)
_CHUNK = 1 << 15  # blocks per pass: the rounds' arrays stay in the caches


def _mulhilo(a: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    p = a.astype(np.uint64) * _M[i]
    return (p >> _SHIFT).astype(np.uint32), p.astype(np.uint32)


def random_bits(key: int, num: int, device: Any) -> np.ndarray:
    """The first ``num`` words of the stream of the 64-bit ``key`` (a 1-d uint32 array)."""
    blocks = -(-num // 4)
    out = np.empty((blocks, 4), np.uint32)
    keys = [(np.uint32(k0), np.uint32(k1)) for k0, k1 in round_keys(key & MASK32, key >> 32, ROUNDS)]
    for start in range(0, blocks, _CHUNK):
        j = np.arange(start, min(blocks, start + _CHUNK), dtype=np.uint64)
        zero = np.zeros(j.shape, np.uint32)
        x = (j.astype(np.uint32), (j >> _SHIFT).astype(np.uint32), zero, zero)
        out[start:start + j.size] = np.stack(philox_rounds(x, keys, _mulhilo), axis=1)
    return out.reshape(-1)[:num]
