"""NumPy's random draws that ncps's wirings make, in plain Python (ember-nn imports no NumPy).

ncps draws its wirings with two NumPy generators, and the same seed must give the same wiring
here:

- ``NCP``/``AutoNCP``: the legacy ``np.random.RandomState(seed)`` (MT19937 seeded with
  ``init_genrand``). ``choice(seq)`` is one masked rejection draw of an index,
  ``choice(seq, size, replace=False)`` is ``permutation(len(seq))[:size]`` (a Fisher-Yates
  shuffle from the end, masked rejection draws).
- ``FullyConnected``/``Random``: ``np.random.default_rng(seed)`` (PCG64 seeded through a
  ``SeedSequence``, XSL-RR output, 32-bit draws taken from the low then high half of a 64-bit
  one). ``choice(seq)`` is one Lemire draw, ``choice(seq, size, replace=False)`` is Floyd's
  algorithm followed by a shuffle, or a tail shuffle for populations over 10,000.

Only these draws are written here; the tests compare every one with NumPy itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["Legacy", "PCG64"]

T = TypeVar("T")
_M32 = 0xFFFFFFFF
_M64 = 0xFFFFFFFFFFFFFFFF
_M128 = (1 << 128) - 1


def _mask(n: int) -> int:
    """The smallest ``2**k - 1`` that is >= ``n``."""
    return (1 << n.bit_length()) - 1


class Legacy:
    """``np.random.RandomState(seed)`` for an int seed in [0, 2**32): MT19937 (Python's own
    Mersenne Twister, given NumPy's seeding of its state)."""

    def __init__(self, seed: int) -> None:
        import random  # on use: it is not needed to import ember_nn

        key = [seed & _M32]
        for i in range(1, 624):
            prev = key[-1]
            key.append((1812433253 * (prev ^ (prev >> 30)) + i) & _M32)
        self._mt = random.Random()
        self._mt.setstate((3, (*key, 624), None))

    def _interval(self, top: int) -> int:
        """A uniform int in [0, top] (NumPy's ``random_interval``: masked rejection)."""
        if top == 0:
            return 0
        mask = _mask(top)
        bits = 32 if top <= _M32 else 64
        while True:
            if bits == 32:
                value = self._mt.getrandbits(32) & mask
            else:
                value = self._mt.getrandbits(64) & mask
            if value <= top:
                return value

    def choice(self, seq: Sequence[T]) -> T:
        """``RandomState.choice(seq)``: one element."""
        return seq[self._interval(len(seq) - 1)]

    def sample(self, seq: Sequence[T], size: int) -> list[T]:
        """``RandomState.choice(seq, size=size, replace=False)``."""
        order = list(range(len(seq)))
        for i in range(len(order) - 1, 0, -1):
            j = self._interval(i)
            order[i], order[j] = order[j], order[i]
        return [seq[k] for k in order[:size]]


# SeedSequence's hash constants and PCG64's multiplier (NumPy's bit_generator.pyx, pcg64.h)
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341


def _seed_state(seed: int) -> list[int]:
    """``SeedSequence(seed).generate_state(4, np.uint64)`` as four 64-bit ints."""
    entropy = []
    while True:  # the seed's 32-bit words, least significant first
        entropy.append(seed & _M32)
        seed >>= 32
        if not seed:
            break
    hash_const = _INIT_A

    def hashmix(value: int) -> int:
        nonlocal hash_const
        value ^= hash_const
        hash_const = (hash_const * _MULT_A) & _M32
        value = (value * hash_const) & _M32
        return value ^ (value >> 16)

    def mix(x: int, y: int) -> int:
        result = (_MIX_L * x - _MIX_R * y) & _M32
        return result ^ (result >> 16)

    pool = [hashmix(entropy[i] if i < len(entropy) else 0) for i in range(4)]
    for src in range(4):
        for dst in range(4):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for src in range(4, len(entropy)):
        for dst in range(4):
            pool[dst] = mix(pool[dst], hashmix(entropy[src]))
    words, hash_b = [], _INIT_B
    for i in range(8):
        value = pool[i % 4] ^ hash_b
        hash_b = (hash_b * _MULT_B) & _M32
        value = (value * hash_b) & _M32
        words.append(value ^ (value >> 16))
    return [words[2 * i] | (words[2 * i + 1] << 32) for i in range(4)]


class PCG64:
    """``np.random.default_rng(seed)`` for an int seed >= 0: PCG64 (XSL-RR 128/64)."""

    def __init__(self, seed: int) -> None:
        s = _seed_state(seed)
        init_state, init_seq = (s[0] << 64) | s[1], (s[2] << 64) | s[3]
        self._inc = ((init_seq << 1) | 1) & _M128
        self._state = self._inc  # 0 * mult + inc: the first step of srandom
        self._state = ((self._state + init_state) * _PCG_MULT + self._inc) & _M128
        self._half: int | None = None  # the high half of the last 64-bit draw, not yet used

    def _next64(self) -> int:
        self._state = (self._state * _PCG_MULT + self._inc) & _M128
        state = self._state
        rot = state >> 122
        x = ((state >> 64) ^ state) & _M64
        return ((x >> rot) | (x << ((64 - rot) & 63))) & _M64

    def _next32(self) -> int:
        if self._half is not None:
            value, self._half = self._half, None
            return value
        value = self._next64()
        self._half = value >> 32
        return value & _M32

    def _bounded(self, top: int) -> int:
        """A uniform int in [0, top] for top < 2**32 (Lemire's method, as NumPy's Generator)."""
        if top == 0:
            return 0
        if top == _M32:
            return self._next32()
        span = top + 1
        m = self._next32() * span
        leftover = m & _M32
        if leftover < span:
            threshold = (_M32 - top) % span
            while leftover < threshold:
                m = self._next32() * span
                leftover = m & _M32
        return m >> 32

    def choice(self, seq: Sequence[T]) -> T:
        """``Generator.choice(seq)``: one element."""
        return seq[self._bounded(len(seq) - 1)]

    def _shuffle(self, data: list[int], n: int, first: int) -> None:
        for i in range(n - 1, first - 1, -1):
            j = self._bounded(i)
            data[i], data[j] = data[j], data[i]

    def sample(self, seq: Sequence[T], size: int) -> list[T]:
        """``Generator.choice(seq, size=size, replace=False)``."""
        pop = len(seq)
        if pop > 10000 and size > pop // 50:  # tail shuffle
            idx = list(range(pop))
            self._shuffle(idx, pop, max(pop - size, 1))
            return [seq[k] for k in idx[pop - size:]]
        idx, taken = [], set()  # Floyd's algorithm (NumPy keeps the set in a hash table)
        for j in range(pop - size, pop):
            val = self._bounded(j)
            if val in taken:
                val = j
            taken.add(val)
            idx.append(val)
        self._shuffle(idx, size, 1)
        return [seq[k] for k in idx]
