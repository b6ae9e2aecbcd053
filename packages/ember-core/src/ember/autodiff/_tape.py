"""``ember.GradientTape``: TensorFlow's GradientTape, on every backend."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._errors import ArgumentError, ShapeError, TapeError
from .._tensor import Tensor
from ._engine import Engine, Record, chosen_engine, engine_for
from ._record import RECORDING, KernelInfo
from ._tree import flatten, unflatten
from ._variables import Variable, _by_native, reading_variables, variable_of

if TYPE_CHECKING:
    from .._backend import Backend

__all__ = ["GradientTape"]

_UNCONNECTED = ("none", "zero")


class GradientTape:
    """Record operations for automatic differentiation, with TensorFlow's semantics.

    Inside ``with GradientTape() as tape:`` the tape records every op whose inputs it tracks:
    tensors passed to :meth:`watch`, trainable :class:`ember.Variable` s read inside the block
    (unless ``watch_accessed_variables=False``), and everything computed from them. Then
    ``tape.gradient(target, sources)`` gives d(sum of target)/d(source) for each source.

    >>> x = ember.tensor(3.0)
    >>> with ember.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = x * x
    >>> tape.gradient(y, x).item()
    6.0

    A non-persistent tape computes one set of gradients; ``persistent=True`` allows several.
    Nested tapes give higher derivatives. ``engine`` picks how gradients are computed: "auto"
    (the backend's own engine where it has one: torch.autograd, MLX's vjp) or "generic"
    (ember's VJP rules, on any backend); see ``docs/gradient-tape.md``.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True, *,
                 engine: str | None = None) -> None:
        self._persistent = bool(persistent)
        self._auto = bool(watch_accessed_variables)
        self._choice = chosen_engine(engine)
        self._recording = False
        self._entered = False
        self._used = False
        self._reading: reading_variables | None = None
        self._variables: list[Variable] = []  # kept after gradient(), as TensorFlow does
        self._variable_ids: set[int] = set()
        self._clear()

    def _clear(self) -> None:
        self._ids: dict[int, int] = {}  # id(native) -> slot
        self._values: list[Any] = []  # slot -> native (kept alive: ids stay unique)
        self._aliases: list[Any] = []  # arrays an engine gave a slot's place (kept alive too)
        self._records: list[Record] = []
        self._watched: dict[int, tuple[Tensor, int]] = {}  # id(tensor) -> (tensor, slot)
        self._var_slots: dict[int, tuple[Variable, list[int]]] = {}  # id(variable) -> reads
        self._engines: dict[Backend, Engine] = {}
        self._keeps: dict[Backend, bool] = {}  # whether the engine of a backend keeps records
        self._pinned: list[Variable] = []

    # -- context -------------------------------------------------------------------------------
    def __enter__(self) -> GradientTape:
        if self._recording:
            raise TapeError("this GradientTape is already recording; a tape cannot be entered "
                            "while it is active (use a new tape, or nest a second one)")
        self._push()
        self._entered = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._recording:  # gradient() inside the block may have ended it already
            self._pop()

    def _push(self) -> None:
        self._recording = True
        RECORDING.set((*RECORDING.get(), self))
        for engine in self._engines.values():  # entered again: recording resumes
            engine.resume(self)
        if self._auto and self._reading is None:
            self._reading = reading_variables()
            self._reading.__enter__()

    def _pop(self) -> None:
        if not self._recording:
            raise TapeError("this GradientTape is not recording")
        self._recording = False
        RECORDING.set(tuple(t for t in RECORDING.get() if t is not self))
        if self._reading is not None:
            self._reading.__exit__()
            self._reading = None
        for engine in self._engines.values():
            engine.release(self)
        for v in self._pinned:
            v._pins -= 1
            if v._pins == 0 and not _reading_now() and v._b is not v._b.root:
                v._b = v._b.root
        self._pinned = []

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Inside the block, this tape records nothing (ops on its tensors are constants to it)."""
        if not self._recording:
            raise TapeError("stop_recording() needs a tape that is recording (inside its `with`)")
        stack = RECORDING.get()
        RECORDING.set(tuple(t for t in stack if t is not self))
        self._recording = False
        try:
            with contextlib.ExitStack() as pauses:
                for engine in self._engines.values():
                    pauses.enter_context(engine.paused(self))
                yield
        finally:
            self._recording = True
            RECORDING.set((*RECORDING.get(), self))

    def reset(self) -> None:
        """Forget everything recorded so far and keep recording (like a fresh tape)."""
        if not self._recording:
            raise TapeError("reset() needs a tape that is recording (inside its `with`)")
        self._pop()
        self._clear()
        self._variables = []
        self._variable_ids = set()
        self._used = False
        self._push()

    # -- watching ------------------------------------------------------------------------------
    def watch(self, tensor: Any) -> None:
        """Track ``tensor`` (or every tensor in a nested list/tuple/dict of them)."""
        if not self._entered:
            raise TapeError("watch() needs a tape that has been entered: call it inside "
                            "`with tape:`")
        leaves, _ = flatten(tensor)
        for t in leaves:
            if not isinstance(t, Tensor):
                raise ArgumentError(
                    f"GradientTape.watch takes tensors (or nested lists/tuples/dicts of them), "
                    f"got {type(t).__name__}: {t!r:.60}")
            if not t.dtype.is_inexact:
                warnings.warn(f"GradientTape.watch: {t.dtype} tensors have no gradient (only "
                              f"floating-point ones do); it is not watched", stacklevel=2)
                continue
            if isinstance(t, Variable):
                self._watch_variable(t, pin=True)
            else:
                self._watch_tensor(t)

    def _engine(self, root: Backend) -> Engine:
        engine = self._engines.get(root)
        if engine is None:
            engine = self._engines[root] = engine_for(root, self._choice)
            self._keeps[root] = engine.records
        return engine

    def _slot(self, native: Any) -> int:
        s = len(self._values)
        self._values.append(native)
        self._ids[id(native)] = s
        return s

    def _watch_tensor(self, t: Tensor) -> None:
        if id(t) in self._watched:
            return
        root = t._b.root
        s = self._ids.get(id(t._n))
        if s is None:
            original = t._n
            native = self._engine(root).source(self, original)
            if native is not original:
                t._n = native
                self._engine(root).swapped(self, t, original, native)
            s = self._slot(native)
        self._watched[id(t)] = (t, s)
        if t._b is root:
            t._b = root.recording

    def _watch_variable(self, v: Variable, *, pin: bool) -> int:
        root = v._b.root
        s = self._ids.get(id(v._n))
        if s is None:
            engine = self._engines.get(root) or self._engine(root)
            original = v._n
            native = engine.source(self, original)
            if native is not original:
                v._set_native(native)
                engine.swapped(self, v, original, native)
            s = self._slot(native)
        entry = self._var_slots.get(id(v))
        if entry is None:
            self._var_slots[id(v)] = (v, [s])
            if id(v) not in self._variable_ids:
                self._variable_ids.add(id(v))
                self._variables.append(v)
        elif s not in entry[1]:
            entry[1].append(s)
        if pin and all(w is not v for w in self._pinned):
            v._pins += 1
            self._pinned.append(v)
            if v._b is root:
                v._b = root.recording
        return s

    def watched_variables(self) -> tuple[Variable, ...]:
        """The variables this tape watches (explicitly or because they were read), in order."""
        return tuple(self._variables)

    # -- called by the recording twin (see _record.py) ----------------------------------------
    def _scan(self, info: KernelInfo, args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]] | None:
        """Slots of the tracked arrays among ``args`` (None if there is none). A trainable
        variable read here is watched first (its array may be swapped, hence new args)."""
        ids = self._ids
        hit = False
        if info.many:
            items = list(args[0])
            slots = []
            swaps: dict[int, Any] = {}
            for i, a in enumerate(items):
                if id(a) in swaps:
                    a = items[i] = swaps[id(a)]
                s = ids.get(id(a), -1)
                if s < 0 and self._auto:
                    s, items[i] = self._read(a)
                    if items[i] is not a:
                        swaps[id(a)] = items[i]
                hit = hit or s >= 0
                slots.append(s)
            if not hit:
                return None
            if any(x is not y for x, y in zip(items, args[0])):
                args = (items, *args[1:])
            return (tuple(slots),), args
        auto = self._auto
        arrays = info.arrays
        if len(arrays) == 1:  # the common case, kept short: dispatch cost is benchmarked
            a = args[arrays[0]]
            s = ids.get(id(a), -1)
            if s < 0:
                if not (auto and id(a) in _by_native):
                    return None
                s, new = self._read(a)
                if s < 0:
                    return None
                if new is not a:
                    args = tuple(new if x is a else x for x in args)
            return (s,), args
        slots = []
        for p in arrays:
            a = args[p]
            s = ids.get(id(a), -1)
            if s < 0 and auto and id(a) in _by_native:
                s, new = self._read(a)
                if new is not a:  # swapped (torch: a leaf that requires grad), everywhere
                    args = tuple(new if x is a else x for x in args)
            if s >= 0:
                hit = True
            slots.append(s)
        return (tuple(slots), args) if hit else None

    def _read(self, a: Any) -> tuple[int, Any]:
        """A trainable variable's array read by a kernel: watch it (slot, its array now)."""
        v = variable_of(a)
        if v is None or not v._trainable:
            return -1, a
        return self._watch_variable(v, pin=False), v._n

    def _keeps_for(self, root: Backend) -> bool:
        keeps = self._keeps[root] = self._engine(root).records
        return keeps

    def _add(self, root: Backend, inexact: frozenset[Any], info: KernelInfo, fn: Any,
             args: tuple[Any, ...], ins: Any, out: Any) -> None:
        ids = self._ids
        values = self._values
        keeps = self._keeps.get(root)
        if keeps is None:
            keeps = self._keeps_for(root)
        if not keeps:  # the engine's own library records (torch.autograd): nothing to track
            return
        if isinstance(out, tuple):
            outs: Any = tuple(self._slot(o) if o.dtype in inexact and id(o) not in ids else -1
                              for o in out)
            if max(outs, default=-1) < 0:
                return
        else:
            if out.dtype not in inexact or id(out) in ids:
                return
            outs = len(values)
            values.append(out)
            ids[id(out)] = outs
        if info.many:
            ins = ins[0]
        self._records.append(Record(info, fn, args, ins, out, outs, root))

    # -- gradients -----------------------------------------------------------------------------
    def _source_slots(self, src: Any) -> list[int]:
        if not isinstance(src, Tensor):
            raise ArgumentError(
                f"gradient sources must be tensors or variables (or nested lists/tuples/dicts "
                f"of them), got {type(src).__name__}: {src!r:.60}")
        if isinstance(src, Variable):
            entry = self._var_slots.get(id(src))
            if entry is not None:
                return list(entry[1])
        w = self._watched.get(id(src))
        if w is not None:
            return [w[1]]
        s = self._ids.get(id(src._n))
        if s is None:
            s = self._adopt(src)
        return [] if s is None else [s]

    def _target_slot(self, t: Tensor) -> int | None:
        """The slot a target seeds, or None if the tape did not compute or watch it.

        A watched tensor or a variable the tape read is found by identity, like a source: an
        engine may have given its array's place to another one while recording (torch: a leaf
        that requires grad) and given the original back since, so the target can be the source
        itself (TensorFlow: a source that is a target contributes its seed)."""
        s = self._ids.get(id(t._n))
        if s is not None:
            return s
        if isinstance(t, Variable):
            entry = self._var_slots.get(id(t))
            if entry is not None:
                return entry[1][-1]  # its latest read (its slots sum up as a source)
        w = self._watched.get(id(t))
        if w is not None:
            return w[1]
        return self._adopt(t)

    def _adopt(self, t: Tensor) -> int | None:
        """The slot of ``t`` if this tape computed it though it does not track it itself (an
        engine whose library records, like torch.autograd, can tell); else None."""
        root = t._b.root
        if self._keeps.get(root) is not False:
            return None
        return self._engines[root].adopt(self, t)

    def _check_use(self, what: str) -> None:
        if self._used and not self._persistent:
            raise TapeError(
                f"a non-persistent GradientTape can compute only one set of gradients (or "
                f"jacobians); {what} was called again. Use GradientTape(persistent=True)")

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = "none") -> Any:
        """d(target)/d(sources), in the structure of ``sources``.

        ``target`` is a tensor or a nested structure of them (summed); a non-scalar target is
        seeded with ones (``output_gradients`` gives other seeds, one per target tensor).
        Sources the target does not depend on give None, or zeros with
        ``unconnected_gradients='zero'``; integer-dtype sources give None.
        """
        self._check_use("gradient")
        if target is None:
            raise ArgumentError("gradient: target is None; pass the tensor (or nested "
                                "structure of tensors) to differentiate")
        if sources is None:
            raise ArgumentError("gradient: sources is None; pass the tensors or variables to "
                                "differentiate with respect to")
        zero = _unconnected(unconnected_gradients)
        if self._recording and not self._persistent:
            self._pop()  # TensorFlow: computing gradients ends a non-persistent tape
        src_leaves, tree = flatten(sources)
        slots = [self._source_slots(s) for s in src_leaves]
        targets = self._seeds(target, output_gradients)
        grads = self._compute(targets, slots)
        self._used = True
        out = []
        for s, g in zip(src_leaves, grads):
            if g is None or not s.dtype.is_inexact:
                g = _zeros(s) if zero and s.dtype.is_inexact else None
            out.append(g)
        if not self._persistent:
            self._release()
        return unflatten(tree, out)

    def _seeds(self, target: Any, output_gradients: Any) -> list[tuple[int, Tensor, Tensor]]:
        from ..ops._creation import asarray, astype

        t_leaves, _ = flatten(target)
        for t in t_leaves:
            if not isinstance(t, Tensor):
                raise ArgumentError(f"gradient: target must hold tensors, got "
                                    f"{type(t).__name__}: {t!r:.60}")
        if output_gradients is None:
            seeds: list[Any] = [None] * len(t_leaves)
        else:
            seeds = flatten(output_gradients)[0]
            if len(seeds) != len(t_leaves):
                raise ArgumentError(f"gradient: {len(seeds)} output_gradients for "
                                    f"{len(t_leaves)} target tensors")
        out = []
        for t, g in zip(t_leaves, seeds):
            s = self._target_slot(t)
            if s is None or not t.dtype.is_inexact:
                continue
            root = t._b.root
            if g is None:
                g = self._engine(root).ones(t)
            else:
                g = g if isinstance(g, Tensor) else asarray(g, backend=root)
                if g.shape != t.shape:
                    raise ShapeError(f"gradient: output_gradients of shape {g.shape} for a "
                                     f"target of shape {t.shape}; they must match")
                if g.dtype is not t.dtype:
                    g = astype(g, t.dtype)
            out.append((s, g, t))
        return out

    def _compute(self, targets: list[tuple[int, Tensor, Tensor]], slots: list[list[int]],
                 *, batched: bool = False) -> list[Any]:
        grads: list[Any] = [None] * len(slots)
        by_root: dict[Backend, list[tuple[int, Tensor, Tensor]]] = {}
        for s, g, t in targets:
            by_root.setdefault(t._b.root, []).append((s, g, t))
        for root, tg in by_root.items():
            engine = self._engine(root)
            if batched:
                res = engine.batched_gradient(self, tg, slots)
                if res is None:
                    return [NotImplemented]
            else:
                res = engine.gradient(self, tg, slots)
            for i, r in enumerate(res):
                if r is not None:
                    grads[i] = r if grads[i] is None else grads[i] + r
        return grads

    def _release(self) -> None:
        for engine in self._engines.values():
            engine.release(self)
        self._clear()

    def jacobian(self, target: Any, sources: Any, unconnected_gradients: str = "none",
                 parallel_iterations: int | None = None, experimental_use_pfor: bool = True) -> Any:
        """d(target)/d(source) of shape target.shape + source.shape, for each source."""
        from ._jacobian import jacobian

        return jacobian(self, target, sources, unconnected_gradients)

    def batch_jacobian(self, target: Any, source: Any, unconnected_gradients: str = "none",
                       parallel_iterations: int | None = None,
                       experimental_use_pfor: bool = True) -> Any:
        """Per-example jacobians: target [b, y...] and source [b, x...] give [b, y..., x...];
        target[i] must depend on source[i] only."""
        from ._jacobian import batch_jacobian

        return batch_jacobian(self, target, source, unconnected_gradients)

    def __repr__(self) -> str:
        state = "recording" if self._recording else ("used" if self._used else "idle")
        return (f"<ember.GradientTape {state}, persistent={self._persistent}, "
                f"{len(self._values)} tracked arrays, {len(self._records)} recorded calls>")


def _unconnected(value: Any) -> bool:
    v = getattr(value, "value", value)  # also an enum with .value, like tf.UnconnectedGradients
    if v not in _UNCONNECTED:
        raise ArgumentError(f"unknown value for unconnected_gradients: {value!r}; "
                            f"use 'none' or 'zero'")
    return v == "zero"


def _zeros(s: Tensor) -> Tensor:
    from ..ops._creation import zeros_like

    return zeros_like(Tensor(s._n, s._b.root, s._d))


def _reading_now() -> bool:
    from ._variables import _reading

    return _reading[0] > 0
