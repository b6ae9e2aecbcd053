"""What an optimiser keeps per variable: its slots and the facts checked when they were made.

(Small variables used to be updated in flat *packs*, concatenated per (backend, device, dtype),
to save kernel calls; the fused update ops now update a whole group in one call, which is
faster than packing on torch and MLX (benchmarks/optimizer_update.py), so packs are gone.)
"""

from __future__ import annotations

import weakref

import ember

__all__ = ["Entry", "Key"]

Key = tuple[str, str, ember.DType]  # (backend, device, dtype) of a variable


class Entry:
    """One variable's slots, with the facts checked when they were made."""

    __slots__ = ("key", "ref", "shape", "slots")

    def __init__(self, var: ember.Variable, key: Key, slots: dict[str, ember.Tensor]) -> None:
        self.ref = weakref.ref(var)
        self.key = key
        self.shape = var.shape
        self.slots: dict[str, ember.Tensor] = slots
