"""VJP rules of max and average pooling (channels-last: x is (N, *spatial, C); notation as in
``convolution.py``: window K, stride s, padding (lo, hi) per spatial axis)."""

from __future__ import annotations

import itertools
import math
from typing import Any

from ..._tensor import Tensor
from ...ops import _elementwise as ew
from ...ops._creation import full, zeros
from ...ops._indexing import index_update
from ...ops._searching import where
from . import vjp

Pairs = tuple[tuple[int, int], ...]


def _taps(window: tuple[int, ...], stride: tuple[int, ...],
          outs: tuple[int, ...]) -> list[tuple[Any, ...]]:
    """For each window position t (row-major), the key of xp[n, o s + t, c] over all o."""
    return [(slice(None), *(slice(ti, ti + (o - 1) * s + 1, s) for ti, o, s in zip(t, outs, stride)),
             slice(None))
            for t in itertools.product(*(range(k) for k in window))]


def _padded(x: Tensor, padding: Pairs, fill: float) -> Tensor:
    if not any(lo or hi for lo, hi in padding):
        return x
    shape = (x.shape[0], *(lo + s + hi for s, (lo, hi) in zip(x.shape[1:-1], padding)), x.shape[-1])
    base = full(shape, fill, dtype=x.dtype, device=x.device, backend=x._b)
    return index_update(base, _interior(x.shape, padding), x)


def _interior(shape: tuple[int, ...], padding: Pairs) -> tuple[Any, ...]:
    """The key of the unpadded input inside the padded one."""
    return (slice(None), *(slice(lo, lo + s) for s, (lo, _) in zip(shape[1:-1], padding)), slice(None))


def _scatter(pieces: list[Tensor], x: Tensor, g: Tensor, window: tuple[int, ...],
             stride: tuple[int, ...], padding: Pairs) -> Tensor:
    """sum over window positions t of piece_t added at xp[o s + t], cropped to x."""
    shape = (x.shape[0], *(lo + s + hi for s, (lo, hi) in zip(x.shape[1:-1], padding)), x.shape[-1])
    gx = zeros(shape, dtype=g.dtype, device=g.device, backend=g._b)
    for key, piece in zip(_taps(window, stride, g.shape[1:-1]), pieces):
        gx = index_update(gx, key, piece, mode="add")
    if any(lo or hi for lo, hi in padding):
        gx = gx[_interior(x.shape, padding)]
    return gx


@vjp("nn_max_pool")
def _max_pool(needs: Any, g: Any, out: Any, x: Any, window: Any, stride: Any,
              padding: Any) -> tuple[Any]:
    """y[o] = max_t xp[o s + t] (padding is -inf): g[o] goes to the first maximum of each
    window in row-major order (as PyTorch does), dx[i] = sum_{o, t : o s + t = i, first
    max} g[o]."""
    xp = _padded(x, padding, -math.inf)
    taken = None
    pieces = []
    for key in _taps(window, stride, out.shape[1:-1]):
        hit = ew.equal(xp[key], out)
        if taken is None:
            taken = hit
        else:
            hit = ew.logical_and(hit, ew.logical_not(taken))
            taken = ew.logical_or(taken, hit)
        pieces.append(where(hit, g, 0.0))
    return (_scatter(pieces, x, g, window, stride, padding),)


@vjp("nn_avg_pool")
def _avg_pool(needs: Any, g: Any, out: Any, x: Any, window: Any, stride: Any, padding: Any,
              divisor: Any) -> tuple[Any]:
    """y[o] = sum_t xp[o s + t] / c[o] (c the divisor ember-core passed the kernel: the window
    size where it is None): dx[i] = sum_{o, t : o s + t = i} g[o] / c[o]."""
    gd = ew.divide(g, float(math.prod(window)) if divisor is None else divisor)
    pieces = [gd] * math.prod(window)
    return (_scatter(pieces, x, g, window, stride, padding),)
