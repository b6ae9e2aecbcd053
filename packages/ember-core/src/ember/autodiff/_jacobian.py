"""``GradientTape.jacobian`` and ``batch_jacobian``: one VJP per target element, batched when
the engine can (torch: ``is_grads_batched``; MLX: ``mx.vmap`` of the replay's vjp), a loop of
VJPs otherwise (the generic engine)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .._errors import ArgumentError, ShapeError
from .._tensor import Tensor
from ._tree import flatten, unflatten

if TYPE_CHECKING:
    from ._tape import GradientTape

__all__ = ["batch_jacobian", "jacobian"]


def _begin(tape: GradientTape, what: str, target: Any) -> None:
    from ._tape import _unconnected  # noqa: F401 - (validated by the callers)

    tape._check_use(what)
    if target is None:
        raise ArgumentError(f"{what}: target is None; pass the tensor to differentiate")
    if not isinstance(target, Tensor):
        raise ArgumentError(f"{what}: target must be one tensor, got {type(target).__name__}")
    if tape._recording and not tape._persistent:
        tape._pop()


def _finish(tape: GradientTape) -> None:
    tape._used = True
    if not tape._persistent:
        tape._release()


def _vjps(tape: GradientTape, target: Tensor, seeds: Tensor, slots: list[list[int]]) -> list[Any]:
    """For seeds of shape (m, *target.shape): per source, the m VJPs stacked (or None)."""
    from ..ops._manipulation import stack

    s = tape._target_slot(target)
    if s is None or not target.dtype.is_inexact:
        return [None] * len(slots)
    res = tape._compute([(s, seeds, target)], slots, batched=True)
    if not (res and res[0] is NotImplemented):
        return res
    rows = [tape._compute([(s, seeds[i], target)], slots) for i in range(seeds.shape[0])]
    out: list[Any] = []
    for j in range(len(slots)):
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


def jacobian(tape: GradientTape, target: Any, sources: Any, unconnected: str) -> Any:
    from ..ops._creation import zeros
    from ..ops._manipulation import reshape
    from ._tape import _unconnected

    zero = _unconnected(unconnected)
    _begin(tape, "jacobian", target)
    leaves, tree = flatten(sources)
    slots = [tape._source_slots(x) for x in leaves]
    m = target.size
    seeds = reshape(_basis(target, m), (m, *target.shape))
    res = _vjps(tape, target, seeds, slots)
    out = []
    for x, r in zip(leaves, res):
        shape = (*target.shape, *x.shape)
        if r is None or not x.dtype.is_inexact:
            out.append(zeros(shape, dtype=x.dtype, backend=x._b.root, device=x.device) if zero and x.dtype.is_inexact
                       else None)
        else:
            out.append(reshape(r, shape))
    _finish(tape)
    return unflatten(tree, out)


def batch_jacobian(tape: GradientTape, target: Any, source: Any, unconnected: str) -> Any:
    from ..ops._creation import zeros
    from ..ops._manipulation import moveaxis, reshape
    from ._tape import _unconnected

    zero = _unconnected(unconnected)
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
    _begin(tape, "batch_jacobian", target)
    b = target.shape[0]
    m = math.prod(target.shape[1:])
    basis = _basis(target, m)  # (m, m): row j selects column j of every batch row
    from ..ops._manipulation import broadcast_to, expand_dims

    seeds = reshape(broadcast_to(expand_dims(basis, axis=1), (m, b, m)), (m, *target.shape))
    (r,) = _vjps(tape, target, seeds, [tape._source_slots(source)])
    shape = (*target.shape, *source.shape[1:])
    if r is None or not source.dtype.is_inexact:
        out = zeros(shape, dtype=source.dtype, backend=source._b.root, device=source.device) if zero and \
            source.dtype.is_inexact else None
    else:
        out = reshape(moveaxis(r, 0, 1), shape)
    _finish(tape)
    return out
