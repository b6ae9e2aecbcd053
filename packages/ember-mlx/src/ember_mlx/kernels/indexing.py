"""Indexing kernels (boolean masks go through the host: the result shape depends on their
values)."""

from __future__ import annotations

from typing import Any

import mlx.core as mx

from .._lazy_numpy import np
from ._util import from_numpy, to_host

__all__ = ["getitem", "index_update", "take"]


def take(x, indices, axis):
    return mx.take(x, indices, axis=axis)


def _has_bool(key) -> bool:
    return any(isinstance(k, mx.array) and k.dtype == mx.bool_ for k in key)


def _expand_bool(x, key):
    """Replace boolean-mask items by their nonzero() integer arrays (NumPy's definition of a
    boolean index). Evaluates the masks on the host: the result shape depends on their values."""
    out: list[Any] = []
    for k in key:
        if isinstance(k, mx.array) and k.dtype == mx.bool_:
            if k.ndim == 0:
                return None  # 0-d boolean index: rare; the caller computes it on the host
            out.extend(mx.array(i.astype(np.int64)) for i in np.nonzero(to_host(k)))
        else:
            out.append(k)
    return tuple(out)


def getitem(x, key):
    if _has_bool(key):
        new = _expand_bool(x, key)
        if new is None:
            hkey = tuple(to_host(k) if isinstance(k, mx.array) else k for k in key)
            return from_numpy(to_host(x)[hkey]).astype(x.dtype)
        key = new
    if len(key) == 1 and type(key[0]) is not int:  # MLX reads x[i] as a gather; x[(i,)]
        return x[key[0]]  # is a slice, whose gradient is a pad, not a scatter
    return x[key]


def _key_for_at(key):
    return key[0] if len(key) == 1 else key


def index_update(x, key, values, mode):
    if _has_bool(key):
        # a 0-d boolean index: True adds an axis of length 1 (like None), False selects nothing
        scalars = [k for k in key if isinstance(k, mx.array) and k.dtype == mx.bool_ and not k.ndim]
        if scalars:
            if not all(bool(k.item()) for k in scalars):
                return mx.array(x)
            key = tuple(None if any(k is s for s in scalars) else k for k in key)
        if _has_bool(key):
            key = _expand_bool(x, key)
    if any(isinstance(i, mx.array) and i.size == 0 for i in key):
        return mx.array(x)  # an empty selection changes nothing
    k = _key_for_at(key)
    if mode == "set":
        y = mx.array(x)
        y[k] = values
        return y
    at = x.at[k]
    if mode == "add":
        return at.add(values)
    if mode == "multiply":
        return at.multiply(values)
    if mode == "min":
        return at.minimum(values)
    if mode == "max":
        return at.maximum(values)
    raise ValueError(f"unknown index_update mode {mode!r}")
