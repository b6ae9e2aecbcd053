"""Which samples each rank reads in data-parallel training (``Trainer(distributed=True)``).

Array data: every rank draws the epoch's permutation from the shared seed, cuts it into the
global batches a single process would use (``batch_size`` samples each, the last one shorter
unless ``drop_last``), and takes its contiguous slice of each: rank r of W gets
``[lo + r*n//W, lo + (r+1)*n//W)`` of a global batch of n samples, so the slices of one step
differ by at most one sample, together are the single-process batch, and no sample is read
twice in an epoch. A rank whose slice of a short last batch is empty (fewer samples than ranks)
computes on one sample (the epoch's first) with weight 0, so every rank takes part in every
step's collectives and the sample counts nothing.

Evaluation: rank r takes the contiguous part ``[r*n//W, (r+1)*n//W)`` of the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ember

__all__ = ["array_shard_batches", "rank_range"]


def rank_range(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rank ``rank``'s part ``[start, stop)`` of ``n`` items split into ``world`` contiguous
    parts whose sizes differ by at most one.

    >>> [rank_range(10, r, 3) for r in range(3)]
    [(0, 3), (3, 6), (6, 10)]
    """
    return rank * n // world, (rank + 1) * n // world


def array_shard_batches(data: Any, batch_size: int, *, key: ember.random.Key | None,
                        drop_last: bool, rank: int, world: int
                        ) -> Iterator[tuple[list[ember.Tensor], list[int]]]:
    """``(this rank's arrays, every rank's sample count)`` for each global batch of
    ``data`` (an ``ArrayData``) in the order ``key`` draws (the data's order without one)."""
    first = data.arrays[0]
    where = {"backend": first.backend, "device": first.device}
    order = ember.arange(data.size, **where)
    if key is not None:
        order = ember.random.permutation(key, order)
    for i in range(data.num_batches(batch_size, drop_last)):
        lo, hi = i * batch_size, min((i + 1) * batch_size, data.size)
        counts = [b - a for a, b in (rank_range(hi - lo, r, world) for r in range(world))]
        a, b = rank_range(hi - lo, rank, world)
        idx = order[lo + a:lo + b] if b > a else order[:1]  # weight 0: see the module's note
        yield [ember.take(x, idx, axis=0) for x in data.arrays], counts
