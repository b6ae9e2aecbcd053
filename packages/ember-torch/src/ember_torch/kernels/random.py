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

On the CPU the words come from NumPy (ember-core's ``philox_words``, shared with ember-numpy)
through ``torch.from_numpy``: NumPy's uint64 multiply and uint32 words are 2.1-2.5x faster
there than these int64 torch ops (1e5 words: 1.68 -> 0.73 ms; 1e7: 204 -> 82 ms, one thread).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ember.ops._random._philox import M0, M1, MASK32, ROUNDS, philox_rounds, round_keys
from ember.ops._random._philox_numpy import philox_words

from ._util import Tensor

__all__ = ["random_bits"]


def _mulhilo(a: Tensor, i: int) -> tuple[Tensor, Tensor]:
    p = a * (M0, M1)[i]  # the product modulo 2**64, as a two's complement int64
    return (p >> 32) & MASK32, p & MASK32


def random_bits(key: int, num: int, device: Any) -> Tensor:
    """The first ``num`` words of the stream of the 64-bit ``key`` (a 1-d int64 tensor)."""
    dev = torch.device(device) if device is not None else torch.get_default_device()
    if dev.type == "cpu":
        return torch.from_numpy(philox_words(key, num).astype(np.int64))
    return torch_words(key, num, dev)


def torch_words(key: int, num: int, dev: torch.device) -> Tensor:
    """The same words in torch ops on ``dev``, in one pass (one launch per op on a GPU)."""
    j = torch.arange(max(-(-num // 4), 1), dtype=torch.int64, device=dev)
    zero = torch.zeros_like(j)
    keys = round_keys(key & MASK32, key >> 32, ROUNDS)
    words = torch.stack(philox_rounds((j & MASK32, j >> 32, zero, zero), keys, _mulhilo), 1)
    return words.reshape(-1)[:num]
