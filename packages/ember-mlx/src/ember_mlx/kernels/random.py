"""``random_bits``: ember's Philox4x32-10 stream in MLX ops, a fast path for the generator
ember-core writes in ember ops (MLX's own ``mx.random.bits`` is Threefry, another stream).

The rounds are ember-core's (``philox_rounds``); only the 32x32-bit multiply is MLX's own:
exact in uint64, its halves a shift and a cast (the portable version splits it into 16-bit
parts on int64). The conformance kit checks the words bit for bit against the Random123
known answers, Philox on Python ints, and the backends that run the composite.

The rounds run as one ``mx.compile``d, shapeless function (about 130 element-wise ops fused):
on the CPU that made a draw of 1e5 words 3.7x faster and of 1e7 words 2.6x (1e3 words:
1.2 ms -> 0.5 ms a call). Where MLX cannot compile (no compiler on the machine), the same
function runs uncompiled.
"""

from __future__ import annotations

import mlx.core as mx
from ember._compile import checked
from ember.ops._random._philox import M0, M1, MASK32, ROUNDS, philox_rounds, round_keys

__all__ = ["random_bits"]

_M = (mx.array(M0, dtype=mx.uint64), mx.array(M1, dtype=mx.uint64))
_CHUNK = 1 << 15  # blocks per pass on the CPU: the rounds' arrays stay in the caches


def _mulhilo(a, i):
    p = a.astype(mx.uint64) * _M[i]
    return (p >> 32).astype(mx.uint32), p.astype(mx.uint32)


def _rounds(j, keys):
    """The four words of blocks ``j`` (uint64) under the round keys ``keys`` (uint32, 2 a
    round), stacked as (blocks, 4). Shape-free: no array is made from ``j``'s shape."""
    zero = mx.zeros_like(j).astype(mx.uint32)
    x = (j.astype(mx.uint32), (j >> 32).astype(mx.uint32), zero, zero)
    ks = [(keys[2 * r], keys[2 * r + 1]) for r in range(ROUNDS)]
    return mx.stack(list(philox_rounds(x, ks, _mulhilo)), axis=1)


_compiled_rounds = checked(mx.compile(_rounds, shapeless=True), _rounds, mx.eval)


def random_bits(key, num, device):
    """The first ``num`` words of the stream of the 64-bit ``key`` (a 1-d uint32 array)."""
    blocks = -(-num // 4)
    cpu = (device if device is not None else mx.default_device()) == mx.cpu
    step = _CHUNK if cpu else max(blocks, 1)
    keys = mx.array([k for pair in round_keys(key & MASK32, key >> 32, ROUNDS) for k in pair],
                    dtype=mx.uint32)
    parts = []
    for start in range(0, max(blocks, 1), step):
        parts.append(_compiled_rounds(mx.arange(start, min(blocks, start + step),
                                                dtype=mx.uint64), keys))
        if cpu and blocks > step:
            mx.eval(parts[-1])  # one chunk at a time, while its arrays are in the caches
    words = parts[0] if len(parts) == 1 else mx.concatenate(parts)
    return words.reshape(-1)[:num]
