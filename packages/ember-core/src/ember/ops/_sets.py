"""Set functions: the unique_* family."""

from __future__ import annotations

from typing import Any, NamedTuple

from .._tensor import Tensor
from ._creation import asarray

__all__ = ["unique_all", "unique_counts", "unique_inverse", "unique_values"]

T = Tensor


def _t(x: Any) -> Tensor:
    return x if type(x) is T else asarray(x)


class UniqueAllResult(NamedTuple):
    values: Tensor
    indices: Tensor
    inverse_indices: Tensor
    counts: Tensor


class UniqueCountsResult(NamedTuple):
    values: Tensor
    counts: Tensor


class UniqueInverseResult(NamedTuple):
    values: Tensor
    inverse_indices: Tensor


def unique_all(x: Any, /) -> UniqueAllResult:
    """Sorted unique values of x with first indices, inverse indices (x's shape) and counts."""
    x = _t(x)
    v, i, inv, c = x._b.kernels.unique_all(x._n)
    return UniqueAllResult(T(v, x._b), T(i, x._b), T(inv, x._b), T(c, x._b))


def unique_counts(x: Any, /) -> UniqueCountsResult:
    """Sorted unique values of x and how often each occurs."""
    r = unique_all(x)
    return UniqueCountsResult(r.values, r.counts)


def unique_inverse(x: Any, /) -> UniqueInverseResult:
    """Sorted unique values of x and, for each element of x, the index of its value."""
    r = unique_all(x)
    return UniqueInverseResult(r.values, r.inverse_indices)


def unique_values(x: Any, /) -> Tensor:
    """Sorted unique values of x."""
    return unique_all(x).values
