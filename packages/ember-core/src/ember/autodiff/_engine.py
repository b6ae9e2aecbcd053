"""Gradient engines: the protocol between a tape and the engine that computes its gradients.

A tape creates one engine per backend it records on (the backend's ``tape_engine`` factory, or
:class:`GenericEngine`) and talks to it only through :class:`Engine`'s methods. What the tape
tells an engine, it tells by value: the arrays a watched tensor or variable holds
(``source``), whether it is recording (``resume``, ``paused``, ``release``) and, to compute
gradients, a :class:`GradientRequest` (the targets with their seeds, the source slots, and a
snapshot of what the tape tracked and recorded). What an engine gives back is a
:class:`Gradients`. An engine never holds or changes the tape, nor a tensor: the tape swaps a
source's array for the one ``source`` returns (and back when it stops recording), and puts an
engine's recomputed target values (``Gradients.recomputed``) in the targets' place.

The *generic* engine (here) runs the catalogue's VJP rules backwards over the recorded kernel
calls; the rules are ember ops, so it works on every backend, and when another tape records
while it runs, that tape records the backward pass (higher derivatives). ember-torch's engine
uses torch.autograd, ember-mlx's replays the recording under ``mx.vjp``.
:func:`use_tape_engine` forces the generic one (the conformance kit checks every engine
against it). ``docs/gradient-tape.md`` ("Gradient engines") describes the protocol.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from .._errors import ArgumentError, EmberError
from .._tensor import Tensor
from ._record import RECORDING, KernelInfo

if TYPE_CHECKING:
    from .._backend import Backend

__all__ = ["Engine", "GenericEngine", "GradientRequest", "Gradients", "Record", "Target",
           "backward", "engine_for", "use_tape_engine"]

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
    """One recorded kernel call: the kernel, its arguments and output(s), the tape slots of its
    tracked inputs (aligned with ``info.arrays``, -1 where untracked; for a list argument, one
    per element) and of its outputs (an int, or a tuple for a kernel returning several)."""

    __slots__ = ("args", "fn", "info", "ins", "out", "outs", "root")

    def __init__(self, info: KernelInfo, fn: Any, args: tuple[Any, ...], ins: tuple[int, ...],
                 out: Any, outs: Any, root: Backend) -> None:
        self.info, self.fn, self.args, self.ins = info, fn, args, ins
        self.out, self.outs, self.root = out, outs, root


class Target(NamedTuple):
    """One tensor to differentiate: its tape slot, its seed cotangent (same shape; a leading
    batch axis for ``batched_gradient``) and the tensor itself."""

    slot: int
    seed: Tensor
    tensor: Tensor


@dataclass(frozen=True, slots=True)
class GradientRequest:
    """What a tape tells its engine when it wants gradients: d(sum of the targets)/d(source)
    for each source. Slots index ``values``; ``records`` and ``values`` are snapshots."""

    targets: tuple[Target, ...]  # on the engine's backend; several may share a slot
    sources: tuple[tuple[int, ...], ...]  # per source, its slots (a variable read twice: two)
    records: tuple[Record, ...]  # the calls recorded, in order (none if the engine keeps none)
    values: tuple[Any, ...]  # slot -> the native array the tape tracks there
    persistent: bool  # the tape may ask again (keep what another request needs)


@dataclass(frozen=True, slots=True)
class Gradients:
    """What an engine returns: one gradient (or None: unconnected) per source of the request,
    in order, and optionally, per target slot, the engine's own array of that target's values
    (MLX: the replay's output); the tape puts it in the target tensor's place, so that using
    the target later shares the engine's computation instead of repeating it."""

    grads: list[Tensor | None]
    recomputed: dict[int, Any] = field(default_factory=dict)


class Engine(abc.ABC):
    """A gradient engine: one instance per tape and backend, made by the backend's
    ``tape_engine`` factory (no arguments); the tape sets ``root`` before using it.

    A subclass writes ``gradient``; the other methods are hooks with the generic engine's
    defaults (records kept, sources tracked as they are, nothing to do on pause or release).
    """

    #: a short name ("generic", "torch", "mlx")
    name: ClassVar[str] = "engine"
    #: whether the tape keeps a :class:`Record` of each call on tracked arrays (the engine's
    #: input); False for an engine whose library records the computation itself (torch)
    records: ClassVar[bool] = True
    #: optional: the library's vmap, ``vmap(fn, args, axes, out_axes, root)`` (see
    #: ``ember.autodiff._functional.native_vmap``); ``ember.vmap`` loops without one
    vmap: ClassVar[Callable[..., Any] | None] = None
    #: the backend this engine computes for (set by the tape when it creates the engine)
    root: Backend

    def source(self, native: Any) -> Any:
        """``native`` becomes a source of the tape (a watched tensor's array, or a trainable
        variable's as it is read): the array the tape tracks in its place. Return it unchanged,
        or another array of the same values (torch: a leaf that requires grad); the tape then
        puts that one in the tensor and gives the original back when it stops recording."""
        return native

    def resume(self) -> None:
        """The tape records again (entered again after an exit)."""
        return None

    def paused(self) -> contextlib.AbstractContextManager[Any]:
        """Entered while the tape's ``stop_recording()`` block runs."""
        return contextlib.nullcontext()

    def release(self) -> None:
        """The tape stops recording (exit, reset, or a non-persistent tape's gradient)."""
        return None

    def computed(self, native: Any) -> bool:
        """For an engine that keeps no records: whether the tape computed ``native`` while it
        recorded (the library's own graph can tell); the tape then tracks it as a target."""
        return False

    def ones(self, target: Tensor) -> Tensor:
        """The default seed of ``target``: ones of its shape and dtype, as a constant."""
        from ..ops._creation import ones_like

        return ones_like(Tensor(target.native, target._b.root, target._d))

    @abc.abstractmethod
    def gradient(self, request: GradientRequest) -> Gradients:
        """The gradients the request asks for (see :class:`GradientRequest`)."""

    def batched_gradient(self, request: GradientRequest) -> Gradients | None:
        """Like ``gradient`` with a leading batch axis on every seed (one VJP per row); None
        when the engine has no batched form (jacobians then loop over rows)."""
        return None


class GenericEngine(Engine):
    """Reverse mode over the recorded calls with the catalogue's VJP rules."""

    name = "generic"

    def gradient(self, request: GradientRequest) -> Gradients:
        from .._dispatch import backend_of
        from ..ops._elementwise import add

        wanted = {s for slots in request.sources for s in slots}
        seeds: dict[int, Tensor] = {}
        for slot, g, _ in request.targets:
            seeds[slot] = add(seeds[slot], g) if slot in seeds else g
        cots = backward(request.records, seeds, wanted)
        out: list[Tensor | None] = []
        for slots in request.sources:
            parts = [cots[s] for s in slots if s in cots]
            if not parts:
                out.append(None)
                continue
            total = parts[0]
            for p in parts[1:]:
                backend_of("gradient", total, p)
                total = add(total, p)
            out.append(total)
        return Gradients(out)


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


def backward(records: tuple[Record, ...], seeds: dict[int, Tensor],
             wanted: set[int]) -> dict[int, Tensor]:
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
