"""Powers by repeated squaring, for backend kernels that have a product but no native power
(MLX's ``matrix_power``, torch's exact integer product on CUDA)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["power_by_squaring"]

A = TypeVar("A")


def power_by_squaring(x: A, n: int, product: Callable[[A, A], A]) -> A:
    """``x`` multiplied by itself ``n >= 1`` times with ``product``, in O(log n) products."""
    if n < 1:
        raise ValueError(f"power_by_squaring needs n >= 1, got {n}")
    out: A | None = None
    base = x
    while n:
        if n & 1:
            out = base if out is None else product(out, base)
        n >>= 1
        if n:
            base = product(base, base)
    assert out is not None
    return out
