"""Philox4x32-10, written once in ember ops, so every backend computes the same words.

The generator is Philox4x32 with 10 rounds (Salmon, Moraes, Dror and Shaw, "Parallel random
numbers: as easy as 1, 2, 3", SC 2011; the Random123 library's reference). It passes the
Random123 known-answer tests (``ember.testing`` checks them on every backend).

**Stream.** A key's 64-bit ``value`` is the Philox key ``(value & 0xFFFFFFFF, value >> 32)``.
Block ``j`` encrypts the counter ``(j & 0xFFFFFFFF, j >> 32, 0, 0)`` into four 32-bit words,
words ``4j .. 4j + 3`` of the key's stream; a draw of n words takes the first n, so a longer
draw extends a shorter one.

**Arithmetic.** Backends differ in their unsigned support (torch has few uint32 kernels) and
the Array API leaves signed overflow to the implementation, so a 32-bit word is held in an
int64 tensor and no intermediate leaves [0, 2**49): Philox's 32x32-bit products are split
into two 32x16-bit ones (:func:`_mulhilo`). Only ``+ * & | ^ << >>`` on non-negative int64
values occur, which every backend computes exactly: nothing wraps, nothing depends on whether
a shift is arithmetic. Words that are still the same for every block (the counter's upper
words in the first two rounds) are computed on Python ints, which skips about a sixth of the
work.

**Fast path.** A backend may register a ``random_bits(key, num, device)`` kernel returning
the first ``num`` words as a 1-d uint32 (or int64) array: a native Philox4x32-10 (cuRAND's
``Philox4_32_10``, Triton's ``randint4x``), or :func:`philox_rounds` on native arrays with a
native 32x32-bit multiply, as NumPy, torch and MLX do. ember-core then calls it instead of
the composite (:func:`composite_words`), and the conformance kit checks both bit for bit
against the known answers, Philox on Python ints and the NumPy backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ... import _dtypes as dt
from ..._backend import Backend
from ..._settings import default_device_name, native_default_device
from ..._tensor import Tensor

__all__ = ["M0", "M1", "MASK32", "ROUNDS", "composite_words", "philox4x32", "philox4x32_scalar",
           "philox_rounds", "round_keys", "words"]

MASK32 = 0xFFFFFFFF
M0, M1 = 0xD2511F53, 0xCD9E8D57  # round multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85  # key schedule ("Weyl") increments
ROUNDS = 10

Word = Tensor | int


def round_keys(k0: int, k1: int, rounds: int = ROUNDS) -> list[tuple[int, int]]:
    """The key of each round: the key, bumped by (W0, W1) modulo 2**32 before rounds 2.."""
    return [((k0 + r * W0) & MASK32, (k1 + r * W1) & MASK32) for r in range(rounds)]


def philox4x32_scalar(counter: tuple[int, int, int, int], k: tuple[int, int],
                      rounds: int = ROUNDS) -> tuple[int, int, int, int]:
    """Philox4x32 on Python ints, written out on its own: the reference the kit checks the
    tensor versions against (with the Random123 vectors)."""
    x0, x1, x2, x3 = counter
    for k0, k1 in round_keys(*k, rounds):
        p0, p1 = M0 * x0, M1 * x2
        x0, x1, x2, x3 = (p1 >> 32) ^ x1 ^ k0, p1 & MASK32, (p0 >> 32) ^ x3 ^ k1, p0 & MASK32
    return x0, x1, x2, x3


class _Consts:
    """The constants the rounds need, as 0-d int64 tensors on one backend and device: tensor
    with tensor of one dtype is ember's fast path (a Python int operand costs a promotion)."""

    __slots__ = ("m0", "m1", "m16", "s16")

    def __init__(self, b: Backend, device: str | None) -> None:
        from .._creation import asarray

        c = asarray([M0 & 0xFFFF, M0 >> 16, M1 & 0xFFFF, M1 >> 16, 0xFFFF, 16], dtype=dt.int64,
                    device=device, backend=b)
        self.m0 = (c[0], c[1])  # (low, high) 16 bits of M0
        self.m1 = (c[2], c[3])
        self.m16, self.s16 = c[4], c[5]


_CONSTS: dict[tuple[str, str], _Consts] = {}


def _consts(b: Backend, device: str | None) -> _Consts:
    where = (b.name, device or default_device_name(b.root))
    c = _CONSTS.get(where)
    if c is None:
        c = _CONSTS[where] = _Consts(b, device)
    return c


def _mulhilo(a: Word, m: int, halves: tuple[Tensor, Tensor], c: _Consts) -> tuple[Word, Word]:
    """(high, low) 32-bit halves of ``a * m`` for 32-bit a and m, exactly.

    With ``m = mh * 2**16 + ml``: ``p = a * ml < 2**48``, ``s = a * mh + (p >> 16) < 2**49``
    and ``a * m = s * 2**16 + (p & 0xFFFF)``, so the high word is ``s >> 16`` and the low word
    ``(s & 0xFFFF) << 16 | (p & 0xFFFF)``.
    """
    if isinstance(a, int):
        full = a * m
        return full >> 32, full & MASK32
    ml, mh = halves
    p = a * ml
    s = a * mh + (p >> c.s16)
    return s >> c.s16, ((s & c.m16) << c.s16) | (p & c.m16)


def _xor3(a: Any, b: Any, k: Any) -> Any:
    return a ^ b ^ k


def philox_rounds(x: tuple[Any, Any, Any, Any], keys: Sequence[tuple[Any, Any]],
                  mulhilo: Callable[[Any, int], tuple[Any, Any]],
                  xor3: Callable[[Any, Any, Any], Any] = _xor3) -> tuple[Any, Any, Any, Any]:
    """The rounds of Philox4x32, on any array type: the one place the algorithm is written.

    ``x`` holds the four 32-bit counter words, ``keys`` each round's key words (see
    :func:`round_keys`, in whatever form the arrays combine with), ``mulhilo(a, i)`` returns
    the high and low 32-bit words of ``a * (M0, M1)[i]``, and ``xor3(a, b, k)`` is
    ``a ^ b ^ k``. ember's composite calls it on int64 tensors; a backend's ``random_bits``
    kernel may call it on native arrays with a native 32x32-bit multiply.
    """
    x0, x1, x2, x3 = x
    for k0, k1 in keys:
        hi0, lo0 = mulhilo(x0, 0)
        hi1, lo1 = mulhilo(x2, 1)
        x0, x1, x2, x3 = xor3(hi1, x1, k0), lo1, xor3(hi0, x3, k1), lo0
    return x0, x1, x2, x3


def _xor_word(a: Word, b: Word, k: tuple[int, Tensor]) -> Word:
    """``a ^ b ^ k`` for the composite: k is a round key as a Python int and a 0-d tensor;
    words that are still Python ints (the same for every block) stay Python ints."""
    if isinstance(a, int) and isinstance(b, int):
        return a ^ b ^ k[0]
    if isinstance(a, int):
        a, b = b, a
    if isinstance(b, int):
        return a ^ (b ^ k[0])  # a Python int operand: one promotion, in the first rounds only
    return (a ^ b) ^ k[1]


def philox4x32(x: tuple[Word, Word, Word, Word], k: tuple[int, int], b: Backend,
               device: str | None, rounds: int = ROUNDS) -> tuple[Word, Word, Word, Word]:
    """Philox4x32 of counters ``x`` (int64 tensors or Python ints of 32-bit values) under key
    ``k``, in ember ops on backend ``b``; returns the four output words likewise."""
    return _Schedule(k, b, device, rounds).run(x)


class _Schedule:
    """One key's round keys, as Python ints and as 0-d tensors (made once per draw)."""

    __slots__ = ("c", "keys")

    def __init__(self, k: tuple[int, int], b: Backend, device: str | None, rounds: int) -> None:
        from .._creation import asarray

        self.c = _consts(b, device)
        keys = round_keys(*k, rounds)
        flat = asarray([v for pair in keys for v in pair], dtype=dt.int64, device=device,
                       backend=b)
        self.keys = [((k0, flat[2 * r]), (k1, flat[2 * r + 1]))
                     for r, (k0, k1) in enumerate(keys)]

    def run(self, x: tuple[Word, Word, Word, Word]) -> tuple[Word, Word, Word, Word]:
        c = self.c

        def mulhilo(a: Word, i: int) -> tuple[Word, Word]:
            return _mulhilo(a, (M0, M1)[i], (c.m0, c.m1)[i], c)

        return philox_rounds(x, self.keys, mulhilo, _xor_word)


#: blocks per pass on a CPU device: the ~200 element-wise ops of the rounds then run on
#: arrays that stay in the caches (256 KiB each), two to three times faster than one pass
#: over a large draw; accelerators take a draw in one pass (one launch per op).
CPU_CHUNK = 1 << 15


def words(value: int, n: int, b: Backend, device: str | None) -> Tensor:
    """The first n words of key ``value``'s stream: a 1-d int64 tensor of values in
    [0, 2**32), on backend ``b`` and ``device`` (the backend's ``random_bits`` if it has one)."""
    from .._dtypes import astype

    fast = b.kernels.random_bits
    if fast is None:
        return composite_words(value, n, b, device)
    t = Tensor(fast(value, n, native_default_device(b.root) if device is None
                    else b.native_device(device)), b)
    return t if t.dtype is dt.int64 else astype(t, dt.int64)


def composite_words(value: int, n: int, b: Backend, device: str | None) -> Tensor:
    """:func:`words` computed by the composite, whatever kernel the backend has."""
    from .._creation import arange
    from .._manipulation import concat, reshape, stack

    blocks = -(-n // 4)
    schedule = _Schedule((value & MASK32, value >> 32), b, device, ROUNDS)
    cpu = (device or default_device_name(b.root)).split(":")[0] == "cpu"
    step = CPU_CHUNK if cpu else max(blocks, 1)
    parts = []
    for start in range(0, max(blocks, 1), step):
        j = arange(start, min(blocks, start + step), dtype=dt.int64, device=device, backend=b)
        hi: Word = start >> 32 if start + step <= 1 << 32 else j >> 32
        lo: Word = j if start + step <= 1 << 32 else j & MASK32
        out = schedule.run((lo, hi, 0, 0))
        parts.append(stack([_tensor(w, j) for w in out], axis=1))
    flat = reshape(parts[0] if len(parts) == 1 else concat(parts), (4 * blocks,))
    return flat if 4 * blocks == n else flat[:n]


def _tensor(w: Word, like: Tensor) -> Tensor:
    if isinstance(w, int):  # only for fewer rounds than Philox has
        from .._creation import full_like

        return full_like(like, w)
    return w
