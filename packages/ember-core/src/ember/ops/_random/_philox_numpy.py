"""Philox4x32-10 words on NumPy's unsigned integers: the ``random_bits`` fast path of every
backend whose arrays can come from host NumPy memory (ember-numpy; ember-torch on the CPU,
through ``torch.from_numpy``, 2.1-2.5x faster than the same rounds in torch ops there).

The rounds are :func:`ember.ops._random._philox.philox_rounds`; only the 32x32-bit multiply is
NumPy's own: exact in uint64, its halves a shift and a cast. The conformance kit checks the
words bit for bit against the Random123 known answers, Philox on Python ints, and the
composite. Imported only by backends that depend on NumPy (ember-core itself does not).
"""

from __future__ import annotations

import numpy as np

from ._philox import M0, M1, MASK32, ROUNDS, philox_rounds, round_keys

__all__ = ["philox_words"]

_M = (np.uint64(M0), np.uint64(M1))
_SHIFT = np.uint64(32)
_CHUNK = 1 << 15  # blocks per pass: the rounds' arrays stay in the caches


def _mulhilo(a: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    p = a.astype(np.uint64) * _M[i]
    return (p >> _SHIFT).astype(np.uint32), p.astype(np.uint32)


def philox_words(key: int, num: int) -> np.ndarray:
    """The first ``num`` words of the stream of the 64-bit ``key`` (a 1-d uint32 array)."""
    blocks = -(-num // 4)
    out = np.empty((blocks, 4), np.uint32)
    keys = [(np.uint32(k0), np.uint32(k1))
            for k0, k1 in round_keys(key & MASK32, key >> 32, ROUNDS)]
    for start in range(0, blocks, _CHUNK):
        j = np.arange(start, min(blocks, start + _CHUNK), dtype=np.uint64)
        zero = np.zeros(j.shape, np.uint32)
        x = (j.astype(np.uint32), (j >> _SHIFT).astype(np.uint32), zero, zero)
        rows = out[start:start + j.size]
        for col, word in enumerate(philox_rounds(x, keys, _mulhilo)):
            rows[:, col] = word
    return out.reshape(-1)[:num]
