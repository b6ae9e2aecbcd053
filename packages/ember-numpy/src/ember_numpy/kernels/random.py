"""``random_bits``: ember's Philox4x32-10 stream on NumPy's unsigned integers (ember-core's
``philox_words``), a fast path for the generator ember-core writes in ember ops."""

from __future__ import annotations

from typing import Any

import numpy as np
from ember.ops._random._philox_numpy import philox_words

__all__ = ["random_bits"]


def random_bits(key: int, num: int, device: Any) -> np.ndarray:
    """The first ``num`` words of the stream of the 64-bit ``key`` (a 1-d uint32 array)."""
    return philox_words(key, num)
