"""Where a run's loss first stopped being finite: its epoch replayed step by step.

A run reads its training loss once an epoch (the epoch's one sync), so a NaN names only its
epoch. ``train`` therefore keeps a copy of the weights and the optimiser's state at each
epoch's start (on the device; a few MB for MAD's models), and when an epoch's loss is not
finite it replays that epoch from the copy, on the same batches, with a sync after each step:

* with the run's own step (the compiled program, as it ran), on the run's model;
* with the plain eager step (``value_and_grad`` and the optimiser's update), on a new model
  loaded from the copy.

``result.json``'s ``divergence`` records the first step whose loss was not finite in each
(``None``: the whole epoch stayed finite). The same step in both points at the data and the
weights; a NaN in the run's step alone points at the compiled program; none in either points
at run-to-run rounding (a GPU's atomic adds differ from run to run, and the replay need not
repeat them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ember

from ._progress import load_run_state

__all__ = ["EpochStart", "describe", "locate_divergence"]


def _copy(value: Any) -> Any:
    """``value`` with every tensor in it (nested in dicts) copied: the optimiser's update may
    donate, and so overwrite, the tensors it is given."""
    if isinstance(value, ember.Tensor):
        return ember.asarray(value, copy=True)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class EpochStart:
    """A run's weights, optimiser state and mixed-precision state as an epoch began."""

    weights: dict[str, ember.Tensor]
    optimizer: dict[str, Any]
    mixed: dict[str, Any] | None

    @classmethod
    def take(cls, run: Any) -> EpochStart:
        # the optimiser's state_dict copies its slots already; the mixed-precision state is
        # JSON-able numbers
        return cls(_copy(run.model.state_dict()), run.optimizer.state_dict(),
                   run.mixed.state_dict() if run.mixed is not None else None)

    def restore(self, run: Any) -> None:
        """Load a copy of this state into ``run`` (a ``_Run``), which may replay from it."""
        load_run_state(run, _copy(self.weights), _copy(self.optimizer), self.mixed)


def _first_nonfinite(step: Callable[[ember.Tensor, ember.Tensor], ember.Tensor],
                     batches: Sequence[tuple[ember.Tensor, ember.Tensor]]) -> int | None:
    """The 1-based index of the first batch whose loss is not finite, or ``None``."""
    for i, (x, y) in enumerate(batches):
        if not math.isfinite(float(step(x, y))):
            return i + 1
    return None


def locate_divergence(epoch: int, start: EpochStart, run: Any, eager_run: Any,
                      batches: Sequence[tuple[ember.Tensor, ember.Tensor]]) -> dict[str, Any]:
    """Replay a diverged epoch (1-based ``epoch``) from ``start``: with ``run``'s own step,
    then with ``eager_run`` (a ``_Run`` of the same settings on a fresh model, not compiled).

    Returns ``{"epoch", "steps", "run_step", "eager_step"}``: the epoch's step count and the
    first step (1-based) whose loss was not finite in each replay, ``None`` where none was.
    """
    found = []
    for r in (run, eager_run):
        start.restore(r)
        r.model.train()
        r.compute.train()  # the bfloat16 copy of a mixed-precision run
        found.append(_first_nonfinite(r.step, batches))
    ran, eager = found
    return {"epoch": epoch, "steps": len(batches), "run_step": ran, "eager_step": eager}


def describe(d: dict[str, Any] | None) -> str:
    """``divergence`` in words, for the run's summary."""
    if not d:
        return ""

    def at(step: int | None) -> str:
        return f"step {step}" if step is not None else "no step"

    return (f"; replayed from the epoch's start, {at(d['run_step'])} of {d['steps']} was not "
            f"finite with the run's step, {at(d['eager_step'])} eagerly")
