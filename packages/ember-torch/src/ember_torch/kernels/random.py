"""``random_bits``: ember's Philox4x32-10 stream in torch ops, a fast path for the generator
ember-core writes in ember ops.

The rounds are ember-core's (``philox_rounds``); only the 32x32-bit multiply is torch's own:
the int64 product of two 32-bit words, which torch's CPU and CUDA kernels wrap modulo 2**64
(two's complement), so a shift and a mask give its high and low words. That is twelve torch
calls a round instead of twenty-two ember ops (torch's uint64 multiply, which would not wrap,
is six times slower on the CPU). The words stay int64, the dtype ember-core computes with.
The conformance kit checks them bit for bit against the Random123 known answers, Philox on
Python ints, and the backends that run the composite, so a torch that did not wrap would fail
it rather than draw other numbers.
"""

from __future__ import annotations

from typing import Any

import torch
from ember.random._philox import M0, M1, MASK32, ROUNDS, philox_rounds, round_keys

from ._util import Tensor

__all__ = ["random_bits"]

_CHUNK = 1 << 15  # blocks per pass on the CPU: the rounds' tensors stay in the caches


def _mulhilo(a: Tensor, i: int) -> tuple[Tensor, Tensor]:
    p = a * (M0, M1)[i]  # the product modulo 2**64, as a two's complement int64
    return (p >> 32) & MASK32, p & MASK32


def random_bits(key: int, num: int, device: Any) -> Tensor:
    """The first ``num`` words of the stream of the 64-bit ``key`` (a 1-d int64 tensor)."""
    dev = torch.device(device) if device is not None else torch.get_default_device()
    blocks = -(-num // 4)
    step = _CHUNK if dev.type == "cpu" else max(blocks, 1)
    keys = round_keys(key & MASK32, key >> 32, ROUNDS)
    parts = []
    for start in range(0, max(blocks, 1), step):
        j = torch.arange(start, min(blocks, start + step), dtype=torch.int64, device=dev)
        zero = torch.zeros_like(j)
        parts.append(torch.stack(philox_rounds((j & MASK32, j >> 32, zero, zero), keys,
                                               _mulhilo), 1))
    words = parts[0] if len(parts) == 1 else torch.cat(parts)
    return words.reshape(-1)[:num]
