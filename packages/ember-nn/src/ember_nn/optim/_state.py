"""Checking an optimiser state dict before it is loaded (``Optimizer.load_state_dict``)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import ember

from .._core._errors import StateError

__all__ = ["checked_state"]


Slots = dict[str, dict[str, ember.Tensor]]


def checked_state(where: str, state: Any, expected: set[str],
                  known: Mapping[str, tuple[int, ...]]) -> tuple[Slots, int]:
    """``(slots, step)`` of ``state`` (``{"step", "slots"[, "config"]}``) as tensors, every slot
    set named ``expected`` and, for the paths in ``known`` (live variables), of their shape.
    Raises ``StateError`` naming every bad entry at once."""
    if not isinstance(state, Mapping):
        raise StateError(f"{where}: expected a mapping, got {type(state).__name__}")
    missing = [k for k in ("step", "slots") if k not in state]
    extra = sorted(str(k) for k in state if k not in ("config", "step", "slots"))
    if missing or extra:
        raise StateError(f"{where}: missing keys {missing}, unexpected keys {extra}; expected "
                         f"'step', 'slots' and optionally 'config'")
    step, slots = state["step"], state["slots"]
    if not isinstance(step, numbers.Integral) or isinstance(step, bool) or int(step) < 0:
        raise StateError(f"{where}: 'step' must be an integer >= 0, got {step!r:.40}")
    if "config" in state and not isinstance(state["config"], Mapping):
        raise StateError(f"{where}: 'config' must be a mapping, got "
                         f"{type(state['config']).__name__}")
    if not isinstance(slots, Mapping):
        raise StateError(f"{where}: 'slots' must map variable paths to {{slot: tensor}}, "
                         f"got {type(slots).__name__}")
    problems: list[str] = []
    loaded: dict[str, dict[str, ember.Tensor]] = {}
    for path, entry in slots.items():
        if not isinstance(path, str) or not isinstance(entry, Mapping):
            problems.append(f"{path!r}: expected a path and a mapping of slot tensors")
            continue
        names = set(entry)
        if names != expected:
            problems.append(f"{path!r}: missing slots {sorted(expected - names)}, unexpected "
                            f"slots {sorted(map(str, names - expected))}")
            continue
        tensors = {}
        for k, value in entry.items():
            try:
                t = value if isinstance(value, ember.Tensor) else ember.asarray(value)
            except ember.EmberError as e:
                problems.append(f"{path!r}.{k}: not convertible to a tensor ({e})")
                continue
            if not t.dtype.is_floating:
                problems.append(f"{path!r}.{k}: dtype {t.dtype.name}, expected a float "
                                f"dtype")
            tensors[k] = t
        shapes = {k: t.shape for k, t in tensors.items()}
        have = known.get(path)
        if have is not None:
            shapes_bad = {k: s for k, s in shapes.items() if s != have}
            if shapes_bad:
                problems.append(f"{path!r}: slot shapes {shapes_bad}, the variable has shape "
                                f"{have}")
        elif len(set(shapes.values())) > 1:
            problems.append(f"{path!r}: slots of different shapes {shapes}")
        loaded[path] = tensors
    if problems:
        raise StateError(f"{where}: " + "; ".join(problems))
    return loaded, int(step)
