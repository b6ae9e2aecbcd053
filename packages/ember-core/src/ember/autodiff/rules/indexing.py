"""VJP rules of indexing: getitem (and basic indexing), take, index_update."""

from __future__ import annotations

from typing import Any

from ..._tensor import Tensor
from ...ops import _elementwise as ew
from ...ops._creation import zeros_like
from ...ops._manipulation import reshape
from ...ops._searching import where
from . import is_complex, unbroadcast, vjp


def _get(x: Tensor, key: tuple[Any, ...]) -> Tensor:
    b = x._b
    return Tensor(b.kernels.getitem(x._n, key), b)


def _update(x: Tensor, key: tuple[Any, ...], values: Tensor, mode: str) -> Tensor:
    b = x._b
    return Tensor(b.kernels.index_update(x._n, key, values._n, mode), b)


def _has_array(key: tuple[Any, ...]) -> bool:
    return any(not (k is None or k is Ellipsis or type(k) in (int, slice)) for k in key)


def _scatter(x: Tensor, key: tuple[Any, ...], g: Tensor) -> Tensor:
    """zeros like x with g added at x[key] (repeated indices accumulate)."""
    if any(k is None for k in key):  # new axes carry no elements of x: drop them from g
        key = tuple(k for k in key if k is not None)
        g = reshape(g, _get(x, key).shape)
    return _update(zeros_like(x), key, g, "add" if _has_array(key) else "set")


@vjp("getitem")
def _getitem(needs: Any, g: Any, out: Any, x: Any, key: tuple[Any, ...]) -> tuple[Any]:
    return (_scatter(x, key, g),)


@vjp("take")
def _take(needs: Any, g: Any, out: Any, x: Any, indices: Any, axis: int) -> tuple[Any]:
    return (_scatter(x, (slice(None),) * axis + (indices._n,), g),)


@vjp("index_update", diff=(0, 2))
def _index_update(needs: Any, g: Any, out: Any, x: Any, key: tuple[Any, ...], values: Any,
                  mode: str) -> tuple[Any, Any]:
    gx = gv = None
    picked = _get(g, key) if needs[1] else None
    if mode == "set":
        if needs[0]:
            gx = _update(g, key, zeros_like(values), "set")
        if needs[1]:
            gv = picked
    elif mode == "add":
        gx = g if needs[0] else None
        gv = picked
    elif mode == "multiply":  # complex: the factors conjugated (g * conj(f'))
        if needs[0]:
            gx = _update(g, key, ew.conj(values) if is_complex(values) else values, "multiply")
        if needs[1]:
            # d out_i / d v_j = x_i * (the other values at index i) = out_i / v_j; where v_j is
            # 0 that quotient is taken as x_i (exact unless another value shares the index)
            nz = ew.not_equal(values, 0)
            d = where(nz, ew.divide(_get(out, key), where(nz, values, 1.0)), _get(x, key))
            gv = ew.multiply(picked, ew.conj(d) if is_complex(d) else d)
    else:  # min / max: the winner of each comparison gets the cotangent
        if needs[0]:
            gx = where(ew.equal(out, x), g, 0.0)
        if needs[1]:
            gv = where(ew.equal(values, _get(out, key)), picked, 0.0)
    return (gx, unbroadcast(gv, values) if gv is not None else None)
