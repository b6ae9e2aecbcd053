"""Set kernels. Index results are int64."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["unique_all"]

_INT64 = np.dtype(np.int64)


def unique_all(x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(values, indices, inverse_indices, counts)`` of the flattened input.

    ``values`` are sorted; ``indices`` are first occurrences; ``inverse_indices`` has ``x``'s
    shape. Every NaN is its own value (NaN != NaN), as the Array API specifies; ``-0.0`` and
    ``0.0`` are one value, represented by whichever occurs first.
    """
    x = np.asarray(x)
    flat = x.reshape(-1)
    order = np.argsort(flat, kind="stable")
    s = flat[order]
    first = np.empty(s.shape, dtype=bool)
    first[:1] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])  # NaN != NaN: each NaN starts a group
    starts = np.flatnonzero(first)
    values = s[starts]
    indices = order[starts].astype(_INT64, copy=False)
    counts = np.diff(np.append(starts, s.size)).astype(_INT64, copy=False)
    inverse = np.empty(flat.shape, dtype=_INT64)
    inverse[order] = np.cumsum(first, dtype=_INT64) - 1
    return values, indices, inverse.reshape(x.shape), counts
