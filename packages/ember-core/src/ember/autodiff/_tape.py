"""``ember.GradientTape``: TensorFlow's GradientTape, on every backend.

The tape is the front end: what it watches, when it records, and turning ``gradient`` calls
into requests to its engines (one per backend, through the protocol in ``_engine.py``). What
it tracks and records lives in its :class:`~._tracker.Tracker`; nothing outside this module
reads or writes a tape's fields.
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._errors import ArgumentError, TapeError
from .._tensor import Tensor
from ._engine import Engine, Gradients, Target, chosen_engine, engine_for
from ._gradient_args import (
    INEXACT,
    finish,
    flat,
    given_seed,
    rebuild,
    target_leaves,
    unconnected,
)
from ._record import RECORDING
from ._tracker import Tracker
from ._variables import Variable, _by_native, _reading, start_reading, stop_reading

if TYPE_CHECKING:
    from .._backend import Backend
    from ._jacobian import VJPs

__all__ = ["GradientTape"]

_NONE = "none"  # unconnected_gradients's default

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
        self._is_recording = False
        self._entered = False
        self._used = False
        self._reading = False  # between start_reading() and stop_reading()
        # id -> variable, in the order watched; kept after gradient(), as TensorFlow does
        self._variables: dict[int, Variable] = {}
        self._ref = weakref.ref(self)  # the tracker's owner (weak: see Tracker)
        self._clear()

    def _clear(self) -> None:
        self._tracker = Tracker(self._auto, self._ref)
        self._watched: dict[int, tuple[Tensor, int]] = {}  # id(tensor) -> (tensor, slot)
        self._var_slots: dict[int, tuple[Variable, list[int]]] = {}  # id(variable) -> reads
        self._engines: dict[Backend, Engine] = {}
        self._swaps: list[tuple[Tensor, Any, Any]] = []  # (tensor, its array, the tracked one)
        self._pinned: dict[int, Variable] = {}  # id -> variable watched explicitly

    # -- context -------------------------------------------------------------------------------
    def __enter__(self) -> GradientTape:
        if self._is_recording:
            raise TapeError("this GradientTape is already recording; a tape cannot be entered "
                            "while it is active (use a new tape, or nest a second one)")
        self._push()
        self._entered = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._is_recording:  # gradient() inside the block may have ended it already
            self._pop()

    def _push(self) -> None:
        self._is_recording = True
        RECORDING.set((*RECORDING.get(), self._tracker))
        for engine in self._engines.values():  # entered again: recording resumes
            engine.resume()
        if self._auto and not self._reading:
            self._reading = True
            start_reading()

    def _pop(self) -> None:
        if not self._is_recording:
            raise TapeError("this GradientTape is not recording")
        self._is_recording = False
        stack = RECORDING.get()
        tracker = self._tracker
        RECORDING.set(() if stack == (tracker,) else tuple(t for t in stack if t is not tracker))
        self._release_engines()  # first: the variables' own arrays are back
        if self._reading:
            self._reading = False
            stop_reading()
        if self._pinned:  # (none for a tape that watches what it reads)
            for v in self._pinned.values():
                v._pins -= 1
                if v._pins == 0 and not _reading[0] and v._b is not v._b.root:
                    v._b = v._b.root
            self._pinned = {}

    @contextlib.contextmanager
    def stop_recording(self) -> Iterator[None]:
        """Inside the block, this tape records nothing (ops on its tensors are constants to it)."""
        if not self._is_recording:
            raise TapeError("stop_recording() needs a tape that is recording (inside its `with`)")
        stack = RECORDING.get()
        RECORDING.set(tuple(t for t in stack if t is not self._tracker))
        self._is_recording = False
        try:
            with contextlib.ExitStack() as pauses:
                for engine in self._engines.values():
                    pauses.enter_context(engine.paused())
                yield
        finally:
            self._is_recording = True
            RECORDING.set((*RECORDING.get(), self._tracker))

    def reset(self) -> None:
        """Forget everything recorded so far and keep recording (like a fresh tape)."""
        if not self._is_recording:
            raise TapeError("reset() needs a tape that is recording (inside its `with`)")
        self._pop()
        self._clear()
        self._variables = {}
        self._used = False
        self._push()

    # -- watching ------------------------------------------------------------------------------
    def watch(self, tensor: Any) -> None:
        """Track ``tensor`` (or every tensor in a nested list/tuple/dict of them)."""
        if not self._entered:
            raise TapeError("watch() needs a tape that has been entered: call it inside "
                            "`with tape:`")
        for t in flat(tensor)[0]:
            if not isinstance(t, Tensor):
                raise ArgumentError(
                    f"GradientTape.watch takes tensors (or nested lists/tuples/dicts of them), "
                    f"got {type(t).__name__}: {t!r:.60}")
            if (t._d or t.dtype) not in INEXACT:
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
            self._tracker.keeps(root, engine.records)
        return engine

    def _engine_keeps(self, root: Backend) -> bool:
        """Whether the engine for ``root`` keeps records (the tracker asks, once a backend)."""
        return self._engine(root).records

    def _source(self, t: Tensor) -> int:
        """The slot of a new source: the array the engine tracks in place of t's (swapped in
        until the tape stops recording)."""
        original = t._n
        native = self._engine(t._b.root).source(original)
        if native is not original:
            if isinstance(t, Variable):
                t._swap(native)
            else:
                t._set_native(native)
            self._swaps.append((t, original, native))
        return self._tracker.slot(native)

    def _watch_tensor(self, t: Tensor) -> None:
        if id(t) in self._watched:
            return
        root = t._b.root
        s = self._tracker.find(t._n)
        if s is None:
            s = self._source(t)
        self._watched[id(t)] = (t, s)
        if t._b is root:
            t._b = root.recording

    def _watch_variable(self, v: Variable, *, pin: bool, untracked: bool = False) -> int:
        """Watch ``v`` (``pin``: explicitly, keeping it on the recording twin); its slot.
        ``untracked``: the caller knows the tracker has no slot for ``v``'s array (a kernel's
        read of an array it did not find): the lookup is skipped."""
        tracker = self._tracker
        original = v._n
        s = None if untracked else tracker.find(original)
        if s is None:  # _source(v), inlined (every variable of every training step)
            root = v._b.root
            native = (self._engines.get(root) or self._engine(root)).source(original)
            if native is not original:
                v._swap(native)
                self._swaps.append((v, original, native))
            s = tracker.slot(native)
        key = id(v)
        entry = self._var_slots.get(key)
        if entry is None:
            self._var_slots[key] = (v, [s])
            if key not in self._variables:
                self._variables[key] = v
        elif s not in entry[1]:
            entry[1].append(s)
        if pin and key not in self._pinned:
            v._pins += 1
            self._pinned[key] = v
            root = v._b.root
            if v._b is root:
                v._b = root.recording
        return s

    def watched_variables(self) -> tuple[Variable, ...]:
        """The variables this tape watches (explicitly or because they were read), in order."""
        return tuple(self._variables.values())

    def _read(self, a: Any) -> tuple[int, Any]:
        """The tracker's callback for an array a kernel reads that may be a trainable
        variable's: watch it (slot, its array now; -1 and ``a`` for any other array)."""
        r = _by_native.get(id(a))  # variable_of(a), inlined: once per variable and tape
        v = None if r is None else r()
        if v is None or not v._trainable:
            return -1, a
        if v._n is a:  # (the kernels ask only about arrays they did not find in the tracker)
            return self._watch_variable(v, pin=False, untracked=True), v._n
        if v._orig is not a:
            return -1, a
        return self._watch_variable(v, pin=False), v._n

    # -- gradients -----------------------------------------------------------------------------
    def _source_slots(self, src: Any) -> tuple[int, ...]:
        if not isinstance(src, Tensor):
            raise ArgumentError(
                f"gradient sources must be tensors or variables (or nested lists/tuples/dicts "
                f"of them), got {type(src).__name__}: {src!r:.60}")
        if isinstance(src, Variable):
            entry = self._var_slots.get(id(src))
            if entry is not None:
                return tuple(entry[1])
        w = self._watched.get(id(src))
        if w is not None:
            return (w[1],)
        s = self._tracker.find(src._n)
        if s is None:
            s = self._adopt(src)
        return () if s is None else (s,)

    def _target_slot(self, t: Tensor) -> int | None:
        """The slot a target seeds, or None if the tape did not compute or watch it.

        A watched tensor or a variable the tape read is found by identity, like a source: an
        engine may have given its array's place to another one while recording (torch: a leaf
        that requires grad) and given the original back since, so the target can be the source
        itself (TensorFlow: a source that is a target contributes its seed)."""
        s = self._tracker.find(t._n)
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
        engine = self._engines.get(t._b.root)
        if engine is None or engine.records or not engine.computed(t._n):
            return None
        return self._tracker.slot(t._n)

    def _check_use(self, what: str) -> None:
        if self._used and not self._persistent:
            raise TapeError(
                f"a non-persistent GradientTape can compute only one set of gradients (or "
                f"jacobians); {what} was called again. Use GradientTape(persistent=True)")

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = _NONE) -> Any:
        """d(target)/d(sources), in the structure of ``sources``.

        ``target`` is a tensor or a nested structure of them (summed); a non-scalar target is
        seeded with ones (``output_gradients`` gives other seeds, one per target tensor).
        Sources the target does not depend on give None, or zeros with
        ``unconnected_gradients='zero'``; integer-dtype sources give None.
        """
        if self._used and not self._persistent:
            self._check_use("gradient")
        if target is None:
            raise ArgumentError("gradient: target is None; pass the tensor (or nested "
                                "structure of tensors) to differentiate")
        if sources is None:
            raise ArgumentError("gradient: sources is None; pass the tensors or variables to "
                                "differentiate with respect to")
        # the default, by identity (any other value, an equal string too, is checked)
        zero = False if unconnected_gradients is _NONE else unconnected(unconnected_gradients)
        if self._is_recording and not self._persistent:
            self._pop()  # TensorFlow: computing gradients ends a non-persistent tape
        src_leaves, tree = flat(sources)
        var_slots = self._var_slots  # a variable read here: its slots (the usual source)
        slots = tuple([tuple(e[1]) if (e := var_slots.get(id(x))) is not None
                       else self._source_slots(x) for x in src_leaves])
        targets = self._seeds(target, output_gradients)
        grads = self._compute(targets, slots)
        assert grads is not None  # only a batched request can go unanswered
        self._used = True
        finish(grads, src_leaves, zero)
        if not self._persistent:
            self._release()
        return rebuild(sources, tree, grads)

    def _seeds(self, target: Any, output_gradients: Any) -> list[Target]:
        if output_gradients is None and isinstance(target, Tensor):  # the usual: one loss
            s = self._target_slot(target)
            if s is None or (target._d or target.dtype) not in INEXACT:
                return []
            root = target._b.root
            engine = self._engines.get(root) or self._engine(root)
            return [Target(s, engine.ones(target), target)]
        out = []
        for t, g in target_leaves(target, output_gradients):
            s = self._target_slot(t)
            if s is None or not t.dtype.is_inexact:
                continue
            g = self._engine(t._b.root).ones(t) if g is None else given_seed(g, t)
            out.append(Target(s, g, t))
        return out

    def _compute(self, targets: list[Target], sources: tuple[tuple[int, ...], ...], *,
                 batched: bool = False) -> list[Any] | None:
        """Per source, the sum of its gradients from every backend's engine (None where it is
        unconnected); None if ``batched`` and an engine has no batched form."""
        if len(targets) == 1:
            if not batched:  # the common case: one answer, taken as it is
                root = targets[0].tensor._b.root
                engine = self._engines.get(root) or self._engine(root)
                one = engine.gradient(self._tracker.request(tuple(targets), sources,
                                                            self._persistent))
                # (_take has nothing to do in the usual step: no recomputed target, no other
                # tape recording)
                if one.recomputed or (not engine.records and RECORDING.get()):
                    self._take(engine, targets, one)
                return list(one.grads)
            by_root = {targets[0].tensor._b.root: targets}
        else:
            by_root = {}
            for t in targets:
                by_root.setdefault(t.tensor._b.root, []).append(t)
        grads: list[Any] = [None] * len(sources)
        for root, tg in by_root.items():
            engine = self._engine(root)
            request = self._tracker.request(tuple(tg), sources, self._persistent)
            res = engine.batched_gradient(request) if batched else engine.gradient(request)
            if res is None:
                return None
            self._take(engine, tg, res)
            for i, r in enumerate(res.grads):
                if r is not None:
                    grads[i] = r if grads[i] is None else grads[i] + r
        return grads

    def _take(self, engine: Engine, targets: list[Target], res: Gradients) -> None:
        """What an engine's answer asks of the tapes: recomputed targets take the place of
        theirs (plain tensors: a variable keeps its array), and the gradients of an engine
        that keeps no records are tracked by the tapes recording now (higher derivatives)."""
        if res.recomputed:
            for slot, _, t in targets:
                new = res.recomputed.get(slot)
                if new is None or type(t) is not Tensor or t._n is new:
                    continue
                t._set_native(new)
                self._tracker.alias(new, slot)
        recording = RECORDING.get()
        if recording and not engine.records:
            for g in res.grads:
                if g is not None:
                    for tracker in recording:
                        tracker.track(g._n)

    def _release_engines(self) -> None:
        """Tell the engines the tape stopped recording; give watched tensors their arrays
        back (those an engine's ``source`` swapped, unless reassigned since)."""
        for engine in self._engines.values():
            engine.release()
        for t, original, native in self._swaps:
            if isinstance(t, Variable):
                t._unswap(native)
            elif t._n is native:
                t._set_native(original)
        self._swaps = []

    def _release(self) -> None:
        if self._swaps:  # (the engines were released when the tape stopped recording)
            self._release_engines()
        self._clear()

    def jacobian(self, target: Any, sources: Any, unconnected_gradients: str = "none",
                 parallel_iterations: int | None = None, experimental_use_pfor: bool = True) -> Any:
        """d(target)/d(source) of shape target.shape + source.shape, for each source."""
        from ._jacobian import jacobian

        zero = unconnected(unconnected_gradients)
        self._begin("jacobian", target)
        out = jacobian(target, sources, zero, self._vjps())
        self._finish()
        return out

    def batch_jacobian(self, target: Any, source: Any, unconnected_gradients: str = "none",
                       parallel_iterations: int | None = None,
                       experimental_use_pfor: bool = True) -> Any:
        """Per-example jacobians: target [b, y...] and source [b, x...] give [b, y..., x...];
        target[i] must depend on source[i] only."""
        from ._jacobian import batch_jacobian, check_batch_jacobian

        zero = unconnected(unconnected_gradients)
        check_batch_jacobian(target, source)
        self._begin("batch_jacobian", target)
        out = batch_jacobian(target, source, zero, self._vjps())
        self._finish()
        return out

    def _begin(self, what: str, target: Any) -> None:
        self._check_use(what)
        if target is None:
            raise ArgumentError(f"{what}: target is None; pass the tensor to differentiate")
        if not isinstance(target, Tensor):
            raise ArgumentError(f"{what}: target must be one tensor, got {type(target).__name__}")
        if self._is_recording and not self._persistent:
            self._pop()

    def _finish(self) -> None:
        self._used = True
        if not self._persistent:
            self._release()

    def _vjps(self) -> VJPs:
        """The tape's VJPs for its jacobians."""
        from ._jacobian import vjps

        return vjps(self._source_slots, self._target_slot, self._compute)

    def __repr__(self) -> str:
        state = "recording" if self._is_recording else ("used" if self._used else "idle")
        arrays, calls = self._tracker.sizes()
        return (f"<ember.GradientTape {state}, persistent={self._persistent}, "
                f"{arrays} tracked arrays, {calls} recorded calls>")

