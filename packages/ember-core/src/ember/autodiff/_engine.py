"""Gradient engines: how a tape turns what it recorded into gradients.

The *generic* engine (here) keeps every recorded kernel call and runs the catalogue's VJP rules
backwards over them; the rules are ember ops, so it works on every backend, and when another
tape records while it runs, that tape records the backward pass (higher derivatives). A backend
may bring its own engine (``Backend(tape_engine=...)``): ember-torch uses torch.autograd,
ember-mlx replays the recording under ``mx.vjp``. :func:`use_tape_engine` forces the generic
one (the conformance kit checks every engine against it).
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._errors import ArgumentError, EmberError
from .._tensor import Tensor
from ._record import RECORDING, KernelInfo

if TYPE_CHECKING:
    from .._backend import Backend
    from ._tape import GradientTape

__all__ = ["Engine", "GenericEngine", "Record", "backward", "engine_for", "use_tape_engine"]

ENGINES = ("auto", "generic")
_choice: contextvars.ContextVar[str | None] = contextvars.ContextVar("ember_tape_engine",
                                                                     default=None)


@contextlib.contextmanager
def use_tape_engine(name: str) -> Iterator[None]:
    """Inside the block, new tapes (and ``ember.grad`` & co.) use engine ``name``: "generic"
    (ember's own VJP rules, on any backend) or "auto" (the backend's own engine if it has
    one). ``EMBER_TAPE_ENGINE`` sets the default."""
    if name not in ENGINES:
        raise ArgumentError(f"tape engine must be one of {ENGINES}, got {name!r}")
    token = _choice.set(name)
    try:
        yield
    finally:
        _choice.reset(token)


_ENV: list[str] = []  # EMBER_TAPE_ENGINE, read once


def chosen_engine(explicit: str | None) -> str:
    if not _ENV:
        _ENV.append(os.environ.get("EMBER_TAPE_ENGINE", "").strip())
    name = explicit or _choice.get() or _ENV[0] or "auto"
    if name not in ENGINES:
        raise ArgumentError(f"tape engine must be one of {ENGINES}, got {name!r}"
                            + (" (from EMBER_TAPE_ENGINE)" if not explicit else ""))
    return name


def engine_for(root: Backend, choice: str) -> Engine:
    engine: Engine = (root.hooks.tape_engine() if choice == "auto" and root.hooks.tape_engine is not None
                      else GenericEngine())
    engine.root = root
    return engine


class Record:
    """One recorded kernel call: its arguments, and the tape slots of its tracked inputs
    (aligned with ``info.arrays``, -1 where untracked) and of its outputs."""

    __slots__ = ("args", "fn", "info", "ins", "out", "outs", "root")

    def __init__(self, info: KernelInfo, fn: Any, args: tuple[Any, ...], ins: tuple[int, ...],
                 out: Any, outs: Any, root: Backend) -> None:
        self.info, self.fn, self.args, self.ins = info, fn, args, ins
        self.out, self.outs, self.root = out, outs, root


class Engine(abc.ABC):
    """The interface of a gradient engine (one instance per tape and backend)."""

    name = "engine"
    #: whether the tape keeps a Record of each call (the generic engine's input)
    records = True
    #: the backend this engine computes for (set when a tape creates it)
    root: Backend

    def source(self, tape: GradientTape, native: Any) -> Any:
        """``native`` becomes a source of the tape (watched, or a variable read); returns the
        array to track in its place (torch: a leaf that requires grad)."""
        return native

    # optional hooks (no-ops unless an engine needs them)
    def swapped(self, tape: GradientTape, tensor: Tensor, original: Any, native: Any) -> None:  # noqa: B027
        """``source`` gave ``native`` for ``tensor`` in place of ``original`` (undo it in
        ``release``)."""

    def resume(self, tape: GradientTape) -> None:  # noqa: B027
        """The tape records again (entered again after an exit)."""

    def adopt(self, tape: GradientTape, tensor: Tensor) -> int | None:
        """For an engine that keeps no records: a slot for ``tensor`` if the tape computed it
        while recording (the library's own graph says so), else None."""
        return None

    def paused(self, tape: GradientTape) -> contextlib.AbstractContextManager[Any]:
        """Entered while the tape's ``stop_recording()`` block runs."""
        return contextlib.nullcontext()

    def release(self, tape: GradientTape) -> None:  # noqa: B027
        """The tape stops recording for good (exit, reset): undo what ``source`` changed."""

    def ones(self, target: Tensor) -> Tensor:
        """The default seed of ``target``: ones of its shape and dtype, as a constant."""
        from ..ops._creation import ones_like

        return ones_like(Tensor(target._n, target._b.root, target._d))

    @abc.abstractmethod
    def gradient(self, tape: GradientTape, targets: list[tuple[int, Tensor, Tensor]],
                 sources: list[list[int]]) -> list[Tensor | None]:
        """Gradients of the sum of the targets (tape slot, seed cotangent, target tensor) with
        respect to each source (the tape slots of one source; a variable read twice has two)."""

    def batched_gradient(self, tape: GradientTape, targets: list[tuple[int, Tensor, Tensor]],
                         sources: list[list[int]]) -> list[Tensor | None] | None:
        """Like ``gradient`` with a leading batch axis on every seed (one VJP per row); None
        when the engine has no batched form (jacobians then loop)."""
        return None


class GenericEngine(Engine):
    """Reverse mode over the recorded calls with the catalogue's VJP rules."""

    name = "generic"

    def gradient(self, tape: GradientTape, targets: list[tuple[int, Tensor, Tensor]],
                 sources: list[list[int]]) -> list[Tensor | None]:
        from .._dispatch import backend_of
        from ..ops._elementwise import add

        wanted = {s for slots in sources for s in slots}
        seeds: dict[int, Tensor] = {}
        for slot, g, _ in targets:
            seeds[slot] = add(seeds[slot], g) if slot in seeds else g
        cots = backward(tape._records, seeds, wanted)
        out: list[Tensor | None] = []
        for slots in sources:
            parts = [cots[s] for s in slots if s in cots]
            if not parts:
                out.append(None)
                continue
            total = parts[0]
            for p in parts[1:]:
                backend_of("gradient", total, p)
                total = add(total, p)
            out.append(total)
        return out


def _wrap_args(args: tuple[Any, ...], native_types: tuple[type, ...], b: Backend) -> list[Any]:
    out: list[Any] = []
    for a in args:
        if isinstance(a, native_types):
            out.append(Tensor(a, b))
        elif type(a) is list:
            out.append([Tensor(e, b) if isinstance(e, native_types) else e for e in a])
        else:
            out.append(a)
    return out


def backward(records: list[Record], seeds: dict[int, Tensor], wanted: set[int]) -> dict[int, Tensor]:
    """Run VJP rules from the seeded slots back to the ``wanted`` ones; returns cotangents
    by slot (those reached, including the wanted slots)."""
    from ..ops._creation import zeros_like
    from ..ops._elementwise import add
    from .rules import RULES

    # only calls downstream of a wanted slot matter
    live = set(wanted)
    active: list[Record] = []
    for rec in records:
        ins = rec.ins
        if any(s in live for s in ins):
            outs = rec.outs
            if type(outs) is int:
                if outs >= 0:
                    live.add(outs)
            else:
                live.update(s for s in outs if s >= 0)
            active.append(rec)
    higher = bool(RECORDING.get())  # another tape records: the backward pass must be recorded
    cots = dict(seeds)
    for rec in reversed(active):
        outs = rec.outs
        single = type(outs) is int
        g: Any
        if single:
            g = cots.get(outs) if outs in wanted else cots.pop(outs, None)
            if g is None:
                continue
        else:
            gs = [(cots.get(s) if s in wanted else cots.pop(s, None)) if s >= 0 else None
                  for s in outs]
            if all(x is None for x in gs):
                continue
        rule = RULES.get(rec.info.name)
        if rule is None:
            raise EmberError(
                f"ember has no gradient for {rec.info.name!r}, which lies between the target "
                f"and a source; compute its input under ember.stop_gradient if no gradient "
                f"should flow through it")
        b = rec.root.recording if higher else rec.root
        nt = rec.root.arrays.types
        args = _wrap_args(rec.args, nt, b)
        ins = rec.ins
        if rec.info.many:
            needs: tuple[Any, ...] = (tuple(s >= 0 and s in live for s in ins),)
        else:
            needs = tuple(s >= 0 and s in live for s in ins)
        if single:
            out: Any = Tensor(rec.out, b)
        else:
            out = tuple(Tensor(n, b) for n in rec.out)
            g = tuple(x if x is not None else (zeros_like(o) if s >= 0 else None)
                      for x, o, s in zip(gs, out, outs))
        results = rule.vjp(needs, g, out, *args)
        if rec.info.many:
            pairs = zip(ins, results[0])
        else:
            pairs = zip(ins, results)
        for s, r in pairs:
            if s >= 0 and r is not None and s in live:
                cots[s] = add(cots[s], r) if s in cots else r
    return cots
