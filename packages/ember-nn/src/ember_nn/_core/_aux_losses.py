"""Auxiliary losses: terms a layer adds to the training objective from inside its forward pass
(a mixture of experts' load-balancing loss), collected by whoever differentiates the loss.

A layer calls ``add_loss(value, name)`` during ``forward``; ``collect_losses()`` opens a
collector (a context variable, so threads and tasks each see their own) whose list receives
every ``(name, value)`` added while it is open. ``ember_nn.value_and_grad``, ``compile_step``,
``MixedPrecision.step`` and the ``Trainer`` open one around the loss function and add the sum of
what it collected to the loss they differentiate, so the gradient of an auxiliary loss reaches
the layer's variables (under ``compile_step`` the terms are part of the compiled program).

Outside any collector ``add_loss`` does nothing, and layers skip computing their terms when
``collecting()`` is False: a model called for inference, ``evaluate`` or ``predict`` pays
nothing for them. Collectors
nest; a term goes to the innermost one only, so an outer collector never counts it twice.

>>> with ember_nn.collect_losses() as losses:
...     ember_nn.add_loss(ember.asarray(0.5), "penalty")
>>> [(name, value.item()) for name, value in losses]
[('penalty', 0.5)]
>>> ember_nn.add_loss(ember.asarray(1.0), "ignored")  # no collector open: nothing happens
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import ember

__all__ = ["add_loss", "collect_losses", "collecting", "sum_losses"]

_COLLECTOR: contextvars.ContextVar[list[tuple[str, ember.Tensor]] | None] = \
    contextvars.ContextVar("ember_nn_aux_losses", default=None)


def add_loss(value: Any, name: str = "aux_loss") -> None:
    """Add the scalar ``value`` (a tensor of one element, differentiable) to the objective
    under ``name``: appended to the innermost open ``collect_losses()`` list; outside one,
    nothing happens. Called by layers in ``forward``; ``value`` is already weighted."""
    if not isinstance(name, str) or not name:
        raise ember.ArgumentError(f"add_loss: name must be a non-empty str, got {name!r}")
    if not isinstance(value, ember.Tensor) or value.size != 1:
        raise ember.ShapeError(
            f"add_loss({name!r}): value must be a scalar tensor (one element), got "
            f"{type(value).__name__} of shape {getattr(value, 'shape', None)}; reduce it (e.g. "
            f"ember.mean) first")
    losses = _COLLECTOR.get()
    if losses is not None:
        losses.append((name, ember.reshape(value, ()) if value.ndim else value))


def collecting() -> bool:
    """Whether a ``collect_losses()`` collector is open (an added loss would be kept): layers
    compute their auxiliary terms only then."""
    return _COLLECTOR.get() is not None


@contextlib.contextmanager
def collect_losses() -> Iterator[list[tuple[str, ember.Tensor]]]:
    """Open a collector: the ``(name, scalar tensor)`` pairs ``add_loss`` receives inside the
    ``with`` block are appended to the list it yields (in call order)."""
    losses: list[tuple[str, ember.Tensor]] = []
    token = _COLLECTOR.set(losses)
    try:
        yield losses
    finally:
        _COLLECTOR.reset(token)


def sum_losses(losses: list[tuple[str, ember.Tensor]]) -> ember.Tensor | None:
    """The sum of collected losses (None for none)."""
    total: ember.Tensor | None = None
    for _, value in losses:
        total = value if total is None else total + value
    return total
