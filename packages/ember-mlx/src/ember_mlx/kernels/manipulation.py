"""Shape and layout kernels."""

from __future__ import annotations

import mlx.core as mx

from .._lazy_numpy import np
from ._util import to_host

__all__ = [
    "broadcast_to",
    "concat",
    "expand_dims",
    "flip",
    "permute_dims",
    "repeat",
    "reshape",
    "roll",
    "squeeze",
    "stack",
    "tile",
    "unstack",
]

broadcast_to = mx.broadcast_to
expand_dims = mx.expand_dims
permute_dims = mx.transpose
stack = mx.stack
tile = mx.tile


def unstack(x, axis):
    """The composite's fused override: one split (its gradient a concatenation), where the
    composite's ``x[i]`` per row would be a gather each (a scatter each in the gradient)."""
    n = x.shape[axis]
    if n == 0:
        return ()
    return tuple(mx.squeeze(p, axis) for p in mx.split(x, n, axis=axis))


def concat(arrays, axis):
    if axis is None:
        return mx.concatenate([a.reshape(-1) for a in arrays], axis=0)
    return mx.concatenate(arrays, axis=axis)


def flip(x, axis):
    if axis is None:
        axis = range(x.ndim)
    idx = [slice(None)] * x.ndim
    for a in axis:
        idx[a] = slice(None, None, -1)
    return x[tuple(idx)]


def repeat(x, repeats, axis):
    if axis is None:
        x, axis = x.reshape(-1), 0
    if isinstance(repeats, int):
        return mx.repeat(x, repeats, axis=axis)
    # an array of repeats: the output length depends on its values, read on the host
    reps = to_host(repeats).astype(np.int64).reshape(-1)
    n = x.shape[axis]
    if reps.size == 1:
        return mx.repeat(x, int(reps[0]), axis=axis)
    if reps.size != n:
        raise ValueError(f"repeat: {reps.size} repeats for an axis of length {n}")
    if (reps < 0).any():
        raise ValueError("repeat: negative repeats")
    idx = np.repeat(np.arange(n, dtype=np.int64), reps)
    return mx.take(x, mx.array(idx), axis=axis)


def reshape(x, shape, copy):
    out = mx.reshape(x, shape)
    return mx.array(out) if copy else out


def roll(x, shift, axis):
    if axis is None:
        return mx.roll(x, shift)
    return mx.roll(x, tuple(shift), tuple(axis))


def squeeze(x, axis):
    return mx.squeeze(x, axis) if axis else x
