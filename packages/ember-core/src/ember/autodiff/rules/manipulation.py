"""VJP rules of the shape kernels: reshape, broadcast_to, concat, stack, expand_dims, squeeze,
flip, permute_dims, roll, repeat, tile, and unstack (the rule of a backend's fused kernel)."""

from __future__ import annotations

from typing import Any

from ...ops._creation import arange, zeros
from ...ops._indexing import index_update
from ...ops._manipulation import flip, permute_dims, repeat, reshape, roll, squeeze, stack
from ...ops._statistical import sum as _sum
from . import unbroadcast, vjp


@vjp("reshape")
def _reshape(needs: Any, g: Any, out: Any, x: Any, shape: Any, copy: Any) -> tuple[Any]:
    return (reshape(g, x.shape),)


@vjp("broadcast_to")
def _broadcast_to(needs: Any, g: Any, out: Any, x: Any, shape: Any) -> tuple[Any]:
    return (unbroadcast(g, x),)


@vjp("expand_dims")
def _expand_dims(needs: Any, g: Any, out: Any, x: Any, axis: int) -> tuple[Any]:
    return (squeeze(g, axis),)


@vjp("squeeze")
def _squeeze(needs: Any, g: Any, out: Any, x: Any, axes: Any) -> tuple[Any]:
    return (reshape(g, x.shape),)


@vjp("flip")
def _flip(needs: Any, g: Any, out: Any, x: Any, axes: Any) -> tuple[Any]:
    return (flip(g, axis=axes),)


@vjp("permute_dims")
def _permute_dims(needs: Any, g: Any, out: Any, x: Any, axes: Any) -> tuple[Any]:
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a] = i
    return (permute_dims(g, tuple(inverse)),)


@vjp("roll")
def _roll(needs: Any, g: Any, out: Any, x: Any, shift: Any, axis: Any) -> tuple[Any]:
    back = -shift if isinstance(shift, int) else tuple(-s for s in shift)
    return (roll(g, back, axis=axis),)


@vjp("concat", many=True)
def _concat(needs: Any, g: Any, out: Any, arrays: list[Any], axis: Any) -> tuple[list[Any]]:
    parts: list[Any] = []
    start = 0
    for need, a in zip(needs[0], arrays):
        if axis is None:
            n = a.size
            parts.append(reshape(g[start:start + n], a.shape) if need else None)
        else:
            n = a.shape[axis]
            key = (slice(None),) * axis + (slice(start, start + n),)
            parts.append(g[key] if need else None)
        start += n
    return (parts,)


@vjp("stack", many=True)
def _stack(needs: Any, g: Any, out: Any, arrays: list[Any], axis: int) -> tuple[list[Any]]:
    lead = (slice(None),) * axis
    return ([g[(*lead, i)] if need else None for i, need in enumerate(needs[0])],)


@vjp("unstack")
def _unstack(needs: Any, g: Any, out: Any, x: Any, axis: int) -> tuple[Any]:
    # a fused unstack (torch.unbind): one stack of the parts' cotangents (zeros where unused)
    return (stack(list(g), axis=axis),)


@vjp("repeat")
def _repeat(needs: Any, g: Any, out: Any, x: Any, repeats: Any, axis: Any) -> tuple[Any]:
    shape = x.shape
    flat = axis is None
    ax = 0 if flat else axis
    n = x.size if flat else shape[ax]
    if isinstance(repeats, int) or (hasattr(repeats, "shape") and tuple(repeats.shape) == (1,)):
        r = repeats if isinstance(repeats, int) else int(repeats[0].item())
        gs = g.shape
        folded = reshape(g, (*gs[:ax], n, r, *gs[ax + 1:]))
        gx = _sum(folded, axis=ax + 1)
    else:  # one count per element: add each output back into the element it came from
        src = repeat(arange(n, backend=g._b, device=g.device), repeats)
        zero = zeros((*g.shape[:ax], n, *g.shape[ax + 1:]), dtype=g.dtype, backend=g._b,
                     device=g.device)
        gx = index_update(zero, (slice(None),) * ax + (src,), g, mode="add")
    return (reshape(gx, shape) if flat else gx,)


@vjp("tile")
def _tile(needs: Any, g: Any, out: Any, x: Any, reps: tuple[int, ...]) -> tuple[Any]:
    shape = x.shape
    nd = max(len(shape), len(reps))
    base = (1,) * (nd - len(shape)) + tuple(shape)
    reps = (1,) * (nd - len(reps)) + tuple(reps)
    inter: list[int] = []
    for r, s in zip(reps, base):
        inter += [r, s]
    folded = reshape(g, tuple(inter))
    gx = _sum(folded, axis=tuple(range(0, 2 * nd, 2)))
    return (reshape(gx, shape),)
