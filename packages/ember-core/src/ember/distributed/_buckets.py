"""``all_reduce_many``: many tensors (a model's gradients) reduced in a few large collectives,
as torch's DDP does: consecutive tensors of one dtype are flattened into buckets of about
``bucket_bytes``, each bucket is one ``all_reduce``, and the results are cut back apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import ArgumentError
from ._api import OPS, all_reduce

if TYPE_CHECKING:
    from .._tensor import Tensor

__all__ = ["DEFAULT_BUCKET_BYTES", "all_reduce_many", "buckets"]

DEFAULT_BUCKET_BYTES = 25 << 20  # 25 MiB, torch DDP's default bucket_cap_mb


def buckets(tensors: Sequence[Tensor], bucket_bytes: int) -> list[list[int]]:
    """The indices of ``tensors`` in each bucket: consecutive, one dtype, at most
    ``bucket_bytes`` (a larger tensor has a bucket of its own)."""
    out: list[list[int]] = []
    size = 0
    for i, t in enumerate(tensors):
        nbytes = t.size * t.dtype.itemsize
        if out and t.dtype == tensors[out[-1][0]].dtype and size + nbytes <= bucket_bytes:
            out[-1].append(i)
            size += nbytes
        else:
            out.append([i])
            size = nbytes
    return out


def all_reduce_many(tensors: Sequence[Tensor], op: str = "mean", *,
                    bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> list[Tensor]:
    """:func:`all_reduce` of each tensor of ``tensors``, as a new list in the same order, with
    one collective per bucket: consecutive tensors of the same dtype are flattened and
    concatenated until a bucket holds ``bucket_bytes`` (default 25 MiB, as torch's DDP).

    Arguments:
        tensors: ember tensors of the backend ``init()`` ran under (any shapes; every rank
            passes the same list of shapes and dtypes).
        op: ``"mean"`` (the default: gradients), ``"sum"``, ``"max"`` or ``"min"``.
        bucket_bytes: the most bytes one collective carries (a positive int); a tensor larger
            than it goes alone.

    >>> with ember.use_backend("numpy"):
    ...     g = ember.distributed.all_reduce_many([ember.ones((2, 2)), ember.zeros(3)])
    ...     [t.shape for t in g]
    [(2, 2), (3,)]
    """
    import ember

    if op not in OPS:
        raise ArgumentError(f"all_reduce_many: op must be one of {list(OPS)}, got {op!r}")
    if isinstance(bucket_bytes, bool) or not isinstance(bucket_bytes, int) or bucket_bytes <= 0:
        raise ArgumentError(f"all_reduce_many: bucket_bytes must be a positive int, "
                            f"got {bucket_bytes!r}")
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, ember.Tensor):
            raise ArgumentError(f"all_reduce_many: tensors[{i}] is a {type(t).__name__}, not "
                                f"an ember.Tensor; wrap it with ember.asarray")
    out: list[Tensor | None] = [None] * len(tensors)
    for bucket in buckets(tensors, bucket_bytes):
        if len(bucket) == 1:
            out[bucket[0]] = all_reduce(tensors[bucket[0]], op)
            continue
        flat = all_reduce(ember.concat([ember.reshape(tensors[i], (-1,)) for i in bucket]), op)
        start = 0
        for i in bucket:
            t = tensors[i]
            out[i] = ember.reshape(flat[start:start + t.size], t.shape)
            start += t.size
    return [t for t in out if t is not None]
