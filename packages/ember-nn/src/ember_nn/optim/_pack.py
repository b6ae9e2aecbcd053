"""Packs: the small variables of one (backend, device, dtype) updated as one flat tensor.

The update formulas are element-wise, so updating the concatenation of several variables is
the same arithmetic as updating each one; packing replaces ~12 small kernels per variable with
~12 per pack (torch.optim's ``foreach`` idea, written in ember ops). A pack keeps its slots and
the variables' current values flat; each variable is assigned a view of its span of the new flat
value, so while nothing else assigns the variables the next update concatenates only the
gradients. A pack is formed once its members have had one update on their own (their slots
exist) and is dissolved, its slots handed back per variable, when its membership changes.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import TypeVar

import ember

__all__ = ["Entry", "Item", "Pack", "Packs", "chunks", "flat", "limits"]

Key = tuple[str, str, ember.DType]  # (backend, device, dtype) of a variable
Item = tuple[str, ember.Variable, ember.Tensor]  # (path, variable, gradient)
T = TypeVar("T", bound=tuple)

#: (largest variable packed, most elements in one pack) on a CPU: packs that stay in cache (a
#: flat pass over megabytes is slower than per-variable passes over cached kilobytes) and only
#: variables whose per-call overhead outweighs their arithmetic. Measured on a 2-core VM with
#: 40 float32 variables, Adam, per variable: 16 elements 36 -> 16 us (torch), 17 -> 8 us
#: (NumPy), 70 -> 17 us (MLX); 4096 elements 47 -> 42, 29 -> 18, 103 -> 43 us; 65536 elements
#: slower packed (229 -> 296 us on torch), hence the limit between.
CPU_LIMITS = (1 << 13, 1 << 16)
#: on an accelerator each kernel launch costs microseconds whatever its size: bigger packs.
#: Measured on an H200 (torch 2.11), Adam, ms per update: 200 x (64, 64) 36 -> 4.8 (torch.optim
#: 14.8 for-loop, 3.2 foreach, 1.0 fused); a GPT-2-small-like list of 168 tensors (85M
#: parameters) 21 -> 3.2 (11.5, 1.8, 0.7); 8 x (4096, 4096), left unpacked, 4.5 (2.4, 2.7, 1.1)
ACCELERATOR_LIMITS = (1 << 23, 1 << 26)


def limits(device: str) -> tuple[int, int]:
    """``(largest variable packed, most elements in one pack)`` for a device string.

    >>> limits("cpu"), limits("cuda:0")
    ((8192, 65536), (8388608, 67108864))
    """
    return CPU_LIMITS if device.split(":")[0] == "cpu" else ACCELERATOR_LIMITS


class Entry:
    """One variable's slots (None while a Pack holds them), with the facts checked when they
    were made."""

    __slots__ = ("key", "ref", "shape", "slots")

    def __init__(self, var: ember.Variable, key: Key, slots: dict[str, ember.Tensor]) -> None:
        self.ref = weakref.ref(var)
        self.key = key
        self.shape = var.shape
        self.slots: dict[str, ember.Tensor] | None = slots


class Pack:
    """The flat state of several variables: slots, current values, and where each one lies."""

    __slots__ = ("key", "natives", "p", "paths", "refs", "shapes", "slots", "spans")

    def __init__(self, key: Key, members: Sequence[tuple[str, ember.Variable]],
                 slots: Sequence[dict[str, ember.Tensor]]) -> None:
        self.key = key
        self.paths = tuple(path for path, _ in members)
        self.refs = [weakref.ref(v) for _, v in members]
        self.shapes = [v.shape for _, v in members]
        self.spans = []
        offset = 0
        for _, v in members:
            self.spans.append(slice(offset, offset + v.size))
            offset += v.size
        self.slots = {k: flat([s[k] for s in slots]) for k in slots[0]}
        self.p: ember.Tensor | None = None  # the members' values, flat, as last assigned
        self.natives: list[object] = [None] * len(self.paths)

    def matches(self, members: Sequence[Item]) -> bool:
        """Whether ``members`` are exactly this pack's variables, in order."""
        return len(members) == len(self.paths) and all(
            path == mine and ref() is v
            for (path, v, _), mine, ref in zip(members, self.paths, self.refs))

    def values(self, variables: Sequence[ember.Variable]) -> ember.Tensor:
        """The members' current values, flat: the last assigned ones unless a variable was
        assigned elsewhere since."""
        if self.p is not None and all(v.native is n for v, n in zip(variables, self.natives)):
            return self.p
        return flat([ember.stop_gradient(v) for v in variables])

    def assign(self, new: ember.Tensor, variables: Sequence[ember.Variable]) -> None:
        """Give each member its span of the flat value ``new``."""
        for i, v in enumerate(variables):
            v.assign(ember.reshape(new[self.spans[i]], self.shapes[i]))
            self.natives[i] = v.native
        self.p = new

    def unpacked(self) -> dict[str, dict[str, ember.Tensor]]:
        """Each member's slots, as views of the flat ones."""
        return {path: {k: ember.reshape(t[self.spans[i]], self.shapes[i])
                       for k, t in self.slots.items()}
                for i, path in enumerate(self.paths)}


class Packs:
    """An optimiser's packs, by variable group, and the choice of what to pack each update."""

    def __init__(self) -> None:
        self.held: dict[Key, list[Pack]] = {}

    def plan(self, entries: dict[str, Entry], items: list[Item], complete: set[str],
             bounds_of: Callable[[str], tuple[int, int]]) -> tuple[list[tuple[Pack, list[Item]]],
                                                                   list[Item]]:
        """This update's packs (kept or formed) with their items, and the items updated on
        their own: new variables, large ones, and those whose slots are not ``complete``."""
        by_key: dict[Key, list[Item]] = {}
        singles: list[Item] = []
        bounds: dict[str, tuple[int, int]] = {}
        for item in items:
            e = entries.get(item[0])
            if e is not None and e.ref() is item[1]:
                b = bounds.get(e.key[1])
                if b is None:
                    b = bounds[e.key[1]] = bounds_of(e.key[1])
                if item[1].size <= b[0]:
                    by_key.setdefault(e.key, []).append(item)
                    continue
            singles.append(item)
        for path, _, _ in singles:  # a variable replaced, or grown past the limit
            e = entries.get(path)
            if e is not None and e.slots is None:
                self.dissolve(e.key, entries)
        packs: list[tuple[Pack, list[Item]]] = []
        for key, members in by_key.items():
            total = bounds[key[1]][1]
            held = self.held.get(key, [])
            parts = chunks(members, total)
            if len(held) == len(parts) and all(p.matches(m) for p, m in zip(held, parts)):
                packs.extend(zip(held, parts))
                continue
            self.dissolve(key, entries)
            ready: list[Item] = []
            for item in members:
                slots = entries[item[0]].slots
                (ready if slots is not None and set(slots) == complete else singles).append(item)
            formed = []
            for part in chunks(ready, total):
                if len(part) < 2:
                    singles.extend(part)
                    continue
                pack = Pack(key, [(k, v) for k, v, _ in part],
                            [entries[k].slots for k, _, _ in part])  # type: ignore[misc]
                for k, _, _ in part:
                    entries[k].slots = None
                formed.append(pack)
                packs.append((pack, part))
            if formed:
                self.held[key] = formed
        return packs, singles

    def dissolve(self, key: Key, entries: dict[str, Entry]) -> None:
        """Hand the slots of a group's packs back to its variables' entries."""
        for pack in self.held.pop(key, []):
            for path, slots in pack.unpacked().items():
                e = entries.get(path)
                if e is not None:
                    e.slots = slots

    def unpacked(self) -> dict[str, dict[str, ember.Tensor]]:
        """Every packed variable's slots, by path."""
        out: dict[str, dict[str, ember.Tensor]] = {}
        for held in self.held.values():
            for pack in held:
                out.update(pack.unpacked())
        return out

    def count(self) -> int:
        """How many variables are in packs."""
        return sum(len(p.paths) for held in self.held.values() for p in held)


def flat(tensors: Sequence[ember.Tensor]) -> ember.Tensor:
    """The tensors raveled and concatenated.

    >>> flat([ember.tensor([[1.0, 2.0]]), ember.tensor(3.0)]).tolist()
    [1.0, 2.0, 3.0]
    """
    return ember.concat([ember.reshape(t, (-1,)) for t in tensors], axis=0)


def chunks(items: Sequence[T], total: int) -> list[list[T]]:
    """``items`` (``(path, variable, ...)`` tuples) in order, cut into runs of at most ``total``
    elements (a variable larger than that is a run of its own).

    >>> v = [("a", ember.ones((3,))), ("b", ember.ones((2,))), ("c", ember.ones((4,)))]
    >>> [[k for k, _ in part] for part in chunks(v, 5)]
    [['a', 'b'], ['c']]
    """
    out: list[list[T]] = []
    size = total + 1
    for item in items:
        n = item[1].size
        if size + n > total:
            out.append([])
            size = 0
        out[-1].append(item)
        size += n
    return out
