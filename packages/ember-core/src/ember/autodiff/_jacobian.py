"""``GradientTape.jacobian`` and ``batch_jacobian``: the seeds and the shapes.

A jacobian is one VJP per target element. The tape's engines compute them (:func:`vjps`, from
the tape's slot lookups and its ``_compute``: batched when the engine can, torch with
``is_grads_batched`` and MLX with ``mx.vmap`` of the replay's vjp, a loop of VJPs otherwise);
this module builds the seeds (rows of an identity) and reshapes the stacked VJPs into
jacobians. It never sees the tape itself, only those bound methods.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._errors import ArgumentError, ShapeError
from .._tensor import Tensor
from ._engine import Target
from ._tree import flatten, unflatten

__all__ = ["batch_jacobian", "check_batch_jacobian", "jacobian", "stack_rows", "vjps"]

#: ``vjps(target, seeds, sources)``: for seeds of shape (m, *target.shape), per source its m
#: VJPs stacked along a new first axis (or None where the source is unconnected)
VJPs = Callable[[Tensor, Tensor, list[Any]], list[Any]]


def vjps(source_slots: Callable[[Any], tuple[int, ...]],
         target_slot: Callable[[Tensor], int | None],
         compute: Callable[..., list[Any] | None]) -> VJPs:
    """The :data:`VJPs` of a tape, from its ``_source_slots``, ``_target_slot`` and
    ``_compute``: batched in one request when its engine can, else one request per row."""

    def run(target: Tensor, seeds: Tensor, sources: list[Any]) -> list[Any]:
        slots = tuple(source_slots(x) for x in sources)
        s = target_slot(target)
        if s is None or not target.dtype.is_inexact:
            return [None] * len(slots)
        res = compute([Target(s, seeds, target)], slots, batched=True)
        if res is not None:
            return res
        rows = []
        for i in range(seeds.shape[0]):
            row = compute([Target(s, seeds[i], target)], slots)
            assert row is not None
            rows.append(row)
        return stack_rows(rows, len(slots))

    return run


def stack_rows(rows: list[list[Any]], n: int) -> list[Any]:
    """Per source, one row of VJPs per seed stacked (None rows as zeros; None if all are)."""
    from ..ops._manipulation import stack

    out: list[Any] = []
    for j in range(n):
        col = [r[j] for r in rows]
        if all(c is None for c in col):
            out.append(None)
            continue
        like = next(c for c in col if c is not None)
        out.append(stack([c if c is not None else like * 0 for c in col]))
    return out


def _basis(target: Tensor, m: int) -> Tensor:
    from ..ops._creation import eye

    root = target._b.root
    return eye(m, dtype=target.dtype, backend=root, device=target.device)


def jacobian(target: Tensor, sources: Any, zero: bool, vjps: VJPs) -> Any:
    """d(target)/d(source) of shape target.shape + source.shape, for each source (zeros for an
    unconnected one if ``zero``, else None)."""
    from ..ops._creation import zeros
    from ..ops._manipulation import reshape

    leaves, tree = flatten(sources)
    m = target.size
    seeds = reshape(_basis(target, m), (m, *target.shape))
    res = vjps(target, seeds, leaves)
    out = []
    for x, r in zip(leaves, res):
        shape = (*target.shape, *x.shape)
        if r is None or not x.dtype.is_inexact:
            out.append(zeros(shape, dtype=x.dtype, backend=x._b.root, device=x.device)
                       if zero and x.dtype.is_inexact else None)
        else:
            out.append(reshape(r, shape))
    return unflatten(tree, out)


def check_batch_jacobian(target: Any, source: Any) -> None:
    """batch_jacobian's argument checks (before the tape does anything)."""
    if not isinstance(source, Tensor):
        raise ArgumentError(f"batch_jacobian: source must be one tensor, got {type(source).__name__}")
    if isinstance(target, Tensor) and (target.ndim < 2 or source.ndim < 2):
        raise ShapeError(
            f"batch_jacobian needs target and source of rank >= 2 (batch first), got shapes "
            f"{target.shape} and {source.shape}; use jacobian for other shapes")
    if isinstance(target, Tensor) and target.shape[0] != source.shape[0]:
        raise ShapeError(
            f"batch_jacobian: the first (batch) axes of target {target.shape} and source "
            f"{source.shape} differ; they must match")


def batch_jacobian(target: Tensor, source: Tensor, zero: bool, vjps: VJPs) -> Any:
    """Per-example jacobians: target [b, y...] and source [b, x...] give [b, y..., x...]."""
    from ..ops._creation import zeros
    from ..ops._manipulation import broadcast_to, expand_dims, moveaxis, reshape

    b = target.shape[0]
    m = math.prod(target.shape[1:])
    basis = _basis(target, m)  # (m, m): row j selects column j of every batch row
    seeds = reshape(broadcast_to(expand_dims(basis, axis=1), (m, b, m)), (m, *target.shape))
    (r,) = vjps(target, seeds, [source])
    shape = (*target.shape, *source.shape[1:])
    if r is None or not source.dtype.is_inexact:
        return zeros(shape, dtype=source.dtype, backend=source._b.root, device=source.device) \
            if zero and source.dtype.is_inexact else None
    return reshape(moveaxis(r, 0, 1), shape)
