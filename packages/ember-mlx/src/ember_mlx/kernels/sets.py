"""Set kernels (through the host: the result shape depends on the values)."""

from __future__ import annotations

import mlx.core as mx

from .._lazy_numpy import np
from ._util import INT64, from_numpy, to_host

__all__ = ["unique_all"]


def unique_all(x):
    h = to_host(x)
    values, indices, inverse, counts = np.unique_all(h)
    return (
        from_numpy(values).astype(x.dtype),
        mx.array(indices.astype(np.int64), dtype=INT64),
        mx.array(inverse.astype(np.int64).reshape(x.shape), dtype=INT64),
        mx.array(counts.astype(np.int64), dtype=INT64),
    )
