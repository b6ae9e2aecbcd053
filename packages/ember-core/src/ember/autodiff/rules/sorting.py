"""VJP rule of sort: the cotangent gathered back through the inverse permutation (argsort
returns indices: not differentiable)."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ...ops._creation import arange
from ...ops._manipulation import reshape
from ...ops._sorting import argsort
from . import vjp


def _take_along(x: Tensor, idx: Tensor, axis: int) -> Tensor:
    """x[..., idx, ...] with idx of x's shape indexing along axis (NumPy's take_along_axis)."""
    key: list[Any] = []
    nd = x.ndim
    for a in range(nd):
        if a == axis:
            key.append(idx)
        else:
            shape = [1] * nd
            shape[a] = x.shape[a]
            key.append(reshape(arange(x.shape[a], backend=x._b, device=x.device), tuple(shape)))
    return x[tuple(key)]


@vjp("sort")
def _sort(needs: Any, g: Any, out: Any, x: Any, axis: int, descending: bool, stable: bool) -> tuple[Any]:
    order = argsort(x, axis=axis, descending=descending, stable=True)
    inverse = argsort(order, axis=axis, stable=True)
    return (_take_along(g, inverse, axis),)
