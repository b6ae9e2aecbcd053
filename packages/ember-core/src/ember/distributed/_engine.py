"""What a backend's ``BackendHooks(distributed=...)`` hook gives: a :class:`Collectives`, the
backend's own communication engine (torch.distributed, ``mx.distributed``) behind five calls on
native arrays. ember-core checks every argument first (ops, ``src``, dtypes, the backend of the
tensors), composes ``mean`` from ``sum``, and handles a world of one process itself, so an
engine only moves data between processes that a launcher started.
"""

from __future__ import annotations

import abc
from typing import Any

from ._launch import Launch

__all__ = ["Collectives"]


class Collectives(abc.ABC):
    """A backend's collectives over the processes of one job; ``docs/writing-a-backend.md``,
    "Optional hook: distributed collectives".

    ``engines`` names what ``init`` accepts (``("gloo", "nccl")``); ``launchers`` the
    launchers whose environment the engine reads (``("torchrun",)``). Each method gets and
    returns native arrays and must not change its argument. Errors may be any exception:
    ember-core reports them as ``ember.distributed.DistributedError`` naming the rank.
    """

    engines: tuple[str, ...] = ()
    launchers: tuple[str, ...] = ()

    @abc.abstractmethod
    def init(self, engine: str | None, launch: Launch, timeout: float | None) -> str:
        """Join the job that ``launch`` describes (a world of two or more processes) through
        ``engine`` (one of ``engines``; None: pick one for this machine) and return the
        engine's name. ``timeout`` (seconds, None for the engine's default) bounds the start
        and every later collective: past it a call must fail or end the process, never wait
        for ever."""

    @abc.abstractmethod
    def all_reduce(self, x: Any, op: str) -> Any:
        """The elementwise ``op`` (``"sum"``, ``"max"`` or ``"min"``) of ``x`` over every
        rank; ``x`` is never bool (ember-core refuses it) and never complex for max/min."""

    @abc.abstractmethod
    def all_gather(self, x: Any) -> Any:
        """Every rank's ``x`` stacked along a new first axis: shape ``(world_size,
        *x.shape)``, rank r's at index r. Any dtype, bool included."""

    @abc.abstractmethod
    def broadcast(self, x: Any, src: int) -> Any:
        """Rank ``src``'s ``x`` on every rank (a new array; ``0 <= src < world_size`` is
        checked). Any dtype, bool included."""

    @abc.abstractmethod
    def barrier(self) -> None:
        """Return once every rank has called ``barrier``."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Leave the job and free the engine's resources (idempotent)."""
