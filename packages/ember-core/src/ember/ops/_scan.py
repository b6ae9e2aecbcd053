"""associative_scan: an inclusive scan with any associative function, in O(log n) depth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._dispatch import norm_axis
from .._errors import EmberError, ShapeError
from .._tensor import Tensor
from ._creation import asarray
from ._manipulation import concat, flip, moveaxis, reshape, stack

__all__ = ["associative_scan"]


def associative_scan(fn: Callable[[Any, Any], Any], x: Any, *, axis: int = 0, reverse: bool = False) -> Any:
    """Inclusive scan ``out[i] = fn(out[i-1], x[i])`` for an associative ``fn``, in log depth.

    ``x`` is a tensor or a tuple/list of tensors of equal length along ``axis`` (``fn`` then
    takes and returns tuples), which expresses linear recurrences ``h = a * h + b`` via
    ``fn((a1, b1), (a2, b2)) = (a1 * a2, a2 * b1 + b2)``. ``fn`` must work element-wise on
    tensors with the scanned axis first.

    >>> ember.nn.associative_scan(ember.add, ember.tensor([1, 2, 3, 4])).tolist()
    [1, 3, 6, 10]
    """
    single = isinstance(x, Tensor) or not isinstance(x, (tuple, list))
    elems = [asarray(x)] if single else [asarray(e) for e in x]
    if not elems:
        raise EmberError("associative_scan needs at least one tensor")
    nd = elems[0].ndim
    if nd == 0:
        raise ShapeError("associative_scan needs tensors with at least one axis")
    ax = norm_axis("associative_scan", axis, nd)
    n = elems[0].shape[ax]
    if any(e.ndim == 0 or e.shape[norm_axis("associative_scan", axis, e.ndim)] != n for e in elems):
        raise ShapeError(f"associative_scan: all tensors need length {n} along axis {axis}")
    elems = [moveaxis(e, norm_axis("associative_scan", axis, e.ndim), 0) for e in elems]
    if reverse:
        elems = [flip(e, axis=0) for e in elems]

    def call(a: list[Tensor], b: list[Tensor]) -> list[Tensor]:
        out = fn(a[0], b[0]) if single else fn(tuple(a), tuple(b))
        return [out] if single else list(out)

    def scan(es: list[Tensor]) -> list[Tensor]:
        m = es[0].shape[0]
        if m < 2:
            return es
        reduced = call([e[0:-1:2] for e in es], [e[1::2] for e in es])
        odd = scan(reduced)
        if m % 2 == 0:
            even = call([o[:-1] for o in odd], [e[2::2] for e in es])
        else:
            even = call(odd, [e[2::2] for e in es])
        even = [concat([e[0:1], v]) for e, v in zip(es, even, strict=True)]
        out = []
        for ev, od in zip(even, odd, strict=True):
            k = od.shape[0]
            pairs = reshape(stack([ev[:k], od], axis=1), (2 * k, *od.shape[1:]))
            out.append(concat([pairs, ev[k:]]) if ev.shape[0] > k else pairs)
        return out

    result = scan(elems)
    if reverse:
        result = [flip(e, axis=0) for e in result]
    result = [moveaxis(e, 0, norm_axis("associative_scan", axis, e.ndim)) for e in result]
    return result[0] if single else type(x)(result)
