"""What a gradient tape tracks, and the recording kernels that tell it.

A tape's :class:`Tracker` holds the native arrays the tape tracks, each in a *slot* (an index,
found from the identity of the native object: ``id``; the tracker keeps the arrays alive, so
ids stay unique), and the kernel calls recorded on them (:class:`~._engine.Record`). The
recording twin's kernels (:func:`recording_kernel`) look their array arguments up in the
trackers of the tapes recording in the context (``RECORDING``) and record the call on a hit.

Only this module reads or writes a tracker's fields: the tape uses its methods, an engine gets
a :class:`~._engine.GradientRequest` built from it.

The kernels are closures with the tracker's lookups inlined (recording cost is benchmarked:
``benchmarks/tape.py``): for one array argument to check and for two, each with the kernel's
own parameters for ``(x)`` and ``(x1, x2)`` (88 element-wise kernels) and with ``*args`` for
the others. Other numbers of array arguments, lists of arrays and several tapes recording
at once take :func:`_general`. On torch (torch.autograd records) they only look for reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._engine import GradientRequest, Record, Target
from ._record import RECORDING, KernelInfo
from ._variables import _by_native

if TYPE_CHECKING:
    from .._backend import Backend

__all__ = ["Tracker", "recording_kernel"]

# kernels that return a tuple of arrays
_MULTI = frozenset({"linalg_eigh", "linalg_qr", "linalg_svd", "linalg_slogdet", "unique_all",
                    "nonzero", "unstack"})


class Tracker:
    """The arrays one tape tracks (by slot) and the calls recorded on them.

    ``auto``: trainable variables read by a kernel are watched. ``tape_ref``: a weak reference
    to the tape, whose ``_read(a)`` watches a variable read as array ``a`` (giving its slot and
    array) and ``_engine_keeps(root)`` says whether its engine for a backend keeps records
    (asked once per backend). Weak: the tape holds its tracker, and a tracker holding the tape
    would make every tape a reference cycle, freed only by the cyclic garbage collector (whose
    runs cost a training step tens of µs; ``benchmarks/tape.py``, problem ``vars``). A tracker
    outlives its tape only on a stack of a tape entered and dropped without exit: it then
    watches nothing. The kernels call the tape's method themselves (no closure in between:
    one call less per variable read)."""

    __slots__ = ("_aliases", "_ids", "_keeps", "_plain_root", "_records", "_tape_ref", "_values",
                 "_watch_reads")

    def __init__(self, auto: bool, tape_ref: Callable[[], Any]) -> None:
        self._watch_reads = auto
        self._tape_ref = tape_ref
        self._ids: dict[int, int] = {}  # id(native) -> slot
        self._values: list[Any] = []  # slot -> native
        self._aliases: list[Any] = []  # other arrays of a slot's values (kept alive too)
        self._records: list[Record] = []
        self._keeps: dict[Backend, bool] = {}  # per backend: does its engine keep records
        self._plain_root: Backend | None = None  # a backend whose engine keeps none (torch)

    # -- for the tape ------------------------------------------------------------------------
    def slot(self, native: Any) -> int:
        """A new slot for ``native``."""
        s = len(self._values)
        self._values.append(native)
        self._ids[id(native)] = s
        return s

    def find(self, native: Any) -> int | None:
        """The slot of ``native`` (by identity), or None."""
        return self._ids.get(id(native))

    def track(self, native: Any) -> None:
        """Track ``native`` if it is not yet (a gradient computed outside ember's recording
        from arrays this tape tracks: torch.autograd's, with ``create_graph``)."""
        if id(native) not in self._ids:
            self.slot(native)

    def alias(self, native: Any, slot: int) -> None:
        """``native`` holds the values of ``slot`` too (an engine's recomputed target)."""
        self._ids[id(native)] = slot
        self._aliases.append(native)

    def _on_read(self, a: Any) -> tuple[int, Any]:
        """The tape's ``_read(a)``: (slot, array) of a variable read as ``a``; (-1, a) for
        another array or once the tape is gone."""
        tape = self._tape_ref()
        return (-1, a) if tape is None else tape._read(a)

    def _keeps_of(self, root: Backend) -> bool:
        """Whether the tape's engine for ``root`` keeps records (True once the tape is gone)."""
        tape = self._tape_ref()
        return True if tape is None else tape._engine_keeps(root)

    def keeps(self, root: Backend, keeps: bool) -> None:
        """The tape's engine for ``root`` keeps records (or not)."""
        self._keeps[root] = keeps
        if not keeps:
            self._plain_root = root

    def request(self, targets: tuple[Target, ...], sources: tuple[tuple[int, ...], ...],
                persistent: bool) -> GradientRequest:
        """What the engine gets: the targets and sources, and a snapshot of the tracker."""
        return GradientRequest(targets, sources, tuple(self._records), tuple(self._values),
                               persistent)

    def sizes(self) -> tuple[int, int]:
        """(arrays tracked, calls recorded)."""
        return len(self._values), len(self._records)

    # -- for the recording kernels ------------------------------------------------------------
    def _scan(self, info: KernelInfo, args: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]] | None:
        """Slots of the tracked arrays among ``args`` (None if there is none). A trainable
        variable read here is watched first (its array may be swapped, hence new args)."""
        ids = self._ids
        auto = self._watch_reads
        if info.many:
            items = list(args[0])
            slots = []
            swaps: dict[int, Any] = {}
            hit = False
            for i, a in enumerate(items):
                if id(a) in swaps:
                    a = items[i] = swaps[id(a)]
                s = ids.get(id(a), -1)
                if s < 0 and auto:
                    s, items[i] = self._on_read(a)
                    if items[i] is not a:
                        swaps[id(a)] = items[i]
                hit = hit or s >= 0
                slots.append(s)
            if not hit:
                return None
            if any(x is not y for x, y in zip(items, args[0])):
                args = (items, *args[1:])
            return (tuple(slots),), args
        hit = False
        slots = []
        for p in info.arrays:
            a = args[p]
            s = ids.get(id(a), -1)
            if s < 0 and auto and id(a) in _by_native:
                s, new = self._on_read(a)
                if new is not a:  # swapped (torch: a leaf that requires grad), everywhere
                    args = tuple(new if x is a else x for x in args)
            if s >= 0:
                hit = True
            slots.append(s)
        return (tuple(slots), args) if hit else None

    def _add(self, root: Backend, inexact: frozenset[Any], info: KernelInfo, fn: Any,
             args: tuple[Any, ...], ins: Any, out: Any) -> None:
        """Record a call whose inputs ``ins`` (slots) include a tracked one."""
        keeps = self._keeps.get(root)
        if keeps is None:
            keeps = self._keeps[root] = self._keeps_of(root)
        if not keeps:  # the engine's own library records (torch.autograd): nothing to track
            return
        ids = self._ids
        outs: Any
        if isinstance(out, tuple):
            outs = tuple(self.slot(o) if o.dtype in inexact and id(o) not in ids else -1
                         for o in out)
            if max(outs, default=-1) < 0:
                return
        else:
            if out.dtype not in inexact or id(out) in ids:
                return
            outs = self.slot(out)
        if info.many:
            ins = ins[0]
        self._records.append(Record(info, fn, args, ins, out, outs, root))


# -- the recording kernels ---------------------------------------------------------------------
def recording_kernel(info: KernelInfo, fn: Callable[..., Any], root: Backend,
                     inexact: frozenset[Any]) -> Callable[..., Any]:
    """``fn`` (a kernel of ``root``) as the recording twin runs it: called as ``fn``, and
    reported to the recording tapes that track one of its array arguments. ``inexact``: the
    native dtypes of the outputs worth tracking (floating-point and complex)."""
    general = _general(info, fn, root, inexact)
    n = len(info.arrays)
    if info.many or n not in (1, 2):
        get = RECORDING.get

        def kernel(*args: Any) -> Any:
            trackers = get()
            if not trackers:
                return fn(*args)
            return general(trackers, args)
    elif info.arrays == (0,) and info.nargs == 1:
        kernel = _unary(info, fn, root, inexact, general)
    elif info.arrays == (0, 1) and info.nargs == 2:
        kernel = _binary(info, fn, root, inexact, general)
    elif n == 1:
        kernel = _one(info, fn, root, inexact, general)
    else:
        kernel = _two(info, fn, root, inexact, general)
    kernel.__name__ = kernel.__qualname__ = f"recording_{info.name}"
    kernel.__wrapped__ = fn  # type: ignore[attr-defined]
    return kernel


def _general(info: KernelInfo, fn: Callable[..., Any], root: Backend,
             inexact: frozenset[Any]) -> Callable[..., Any]:
    """The recording path for any number of tapes and arguments (variables read, lists)."""

    def call(trackers: tuple[Tracker, ...], args: tuple[Any, ...]) -> Any:
        hits = None
        for t in trackers:
            found = t._scan(info, args)
            if found is not None:
                slots, args = found
                if hits is None:
                    hits = [(t, slots)]
                else:
                    hits.append((t, slots))
        out = fn(*args)
        if hits is not None:
            for t, slots in hits:
                t._add(root, inexact, info, fn, args, slots, out)
        return out

    return call


def _read(t: Tracker, args: tuple[Any, ...], a: Any) -> tuple[Any, ...]:
    """A kernel's ``args`` after the tape of ``t`` (whose engine keeps no records) watched the
    variable read as ``a``: its array, if the engine swapped it, in every place of ``a``."""
    tape = t._tape_ref()
    new = a if tape is None else tape._read(a)[1]
    return args if new is a else tuple(new if x is a else x for x in args)


def _one(info: KernelInfo, fn: Callable[..., Any], root: Backend, inexact: frozenset[Any],
         general: Callable[..., Any]) -> Callable[..., Any]:
    """One tape recording and one array argument to check (at ``info.arrays[0]``)."""
    get = RECORDING.get
    (p,) = info.arrays
    multi = info.name in _MULTI
    variables = _by_native

    def kernel(*args: Any) -> Any:
        trackers = get()
        if len(trackers) != 1:
            return general(trackers, args) if trackers else fn(*args)
        t = trackers[0]
        plain = t._plain_root is root  # torch.autograd records: only a variable read matters
        if not plain and (keeps := t._keeps.get(root)) is not True:  # None: the first call
            plain = (t._keeps_of(root) if keeps is None else keeps) is False
        a = id(args[p])
        if plain:
            if a in variables and t._watch_reads and a not in t._ids:
                args = _read(t, args, args[p])
            return fn(*args)
        ids = t._ids
        s = ids.get(a, -1)
        if s < 0:
            if t._watch_reads and a in variables:
                return general(trackers, args)
            return fn(*args)
        out = fn(*args)
        if multi:
            t._add(root, inexact, info, fn, args, (s,), out)
        elif out.dtype in inexact and id(out) not in ids:
            values = t._values
            o = len(values)
            values.append(out)
            ids[id(out)] = o
            t._records.append(Record(info, fn, args, (s,), out, o, root))
        return out

    return kernel


def _two(info: KernelInfo, fn: Callable[..., Any], root: Backend, inexact: frozenset[Any],
         general: Callable[..., Any]) -> Callable[..., Any]:
    """One tape recording and two array arguments to check (at ``info.arrays``)."""
    get = RECORDING.get
    p0, p1 = info.arrays
    multi = info.name in _MULTI
    variables = _by_native

    def kernel(*args: Any) -> Any:
        trackers = get()
        if len(trackers) != 1:
            return general(trackers, args) if trackers else fn(*args)
        t = trackers[0]
        plain = t._plain_root is root  # torch.autograd records: only a variable read matters
        if not plain and (keeps := t._keeps.get(root)) is not True:  # None: the first call
            plain = (t._keeps_of(root) if keeps is None else keeps) is False
        a0 = id(args[p0])
        a1 = id(args[p1])
        ids = t._ids
        if plain:  # (a variable read before, in this tape: tracked already)
            if ((a0 in variables and a0 not in ids) or (a1 in variables and a1 not in ids)) \
                    and t._watch_reads:
                if a0 in variables and a0 not in ids:
                    args = _read(t, args, args[p0])
                    a1 = id(args[p1])
                if a1 in variables and a1 not in ids:
                    args = _read(t, args, args[p1])
            return fn(*args)
        s0 = ids.get(a0, -1)
        s1 = ids.get(a1, -1)
        if s0 < 0 or s1 < 0:
            if t._watch_reads and ((s0 < 0 and a0 in variables) or (s1 < 0 and a1 in variables)):
                return general(trackers, args)
            if s0 < 0 and s1 < 0:
                return fn(*args)
        out = fn(*args)
        if multi:
            t._add(root, inexact, info, fn, args, (s0, s1), out)
        elif out.dtype in inexact and id(out) not in ids:
            values = t._values
            o = len(values)
            values.append(out)
            ids[id(out)] = o
            t._records.append(Record(info, fn, args, (s0, s1), out, o, root))
        return out

    return kernel


def _unary(info: KernelInfo, fn: Callable[..., Any], root: Backend, inexact: frozenset[Any],
           general: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`_one` for a kernel ``(x)``."""
    get = RECORDING.get
    multi = info.name in _MULTI
    variables = _by_native

    def kernel(x: Any) -> Any:
        trackers = get()
        if len(trackers) != 1:
            return general(trackers, (x,)) if trackers else fn(x)
        t = trackers[0]
        plain = t._plain_root is root  # torch.autograd records: only a variable read matters
        if not plain and (keeps := t._keeps.get(root)) is not True:  # None: the first call
            plain = (t._keeps_of(root) if keeps is None else keeps) is False
        a = id(x)
        if plain:
            if a in variables and t._watch_reads and a not in t._ids \
                    and (tape := t._tape_ref()) is not None:
                x = tape._read(x)[1]
            return fn(x)
        ids = t._ids
        s = ids.get(a, -1)
        if s < 0:
            if t._watch_reads and a in variables:
                return general(trackers, (x,))
            return fn(x)
        out = fn(x)
        if multi:
            t._add(root, inexact, info, fn, (x,), (s,), out)
        elif out.dtype in inexact and id(out) not in ids:
            values = t._values
            o = len(values)
            values.append(out)
            ids[id(out)] = o
            t._records.append(Record(info, fn, (x,), (s,), out, o, root))
        return out

    return kernel


def _binary(info: KernelInfo, fn: Callable[..., Any], root: Backend, inexact: frozenset[Any],
            general: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`_two` for a kernel ``(x1, x2)``."""
    get = RECORDING.get
    multi = info.name in _MULTI
    variables = _by_native

    def kernel(x1: Any, x2: Any) -> Any:
        trackers = get()
        if len(trackers) != 1:
            return general(trackers, (x1, x2)) if trackers else fn(x1, x2)
        t = trackers[0]
        plain = t._plain_root is root  # torch.autograd records: only a variable read matters
        if not plain and (keeps := t._keeps.get(root)) is not True:  # None: the first call
            plain = (t._keeps_of(root) if keeps is None else keeps) is False
        a0 = id(x1)
        a1 = id(x2)
        ids = t._ids
        if plain:  # (a variable read before, in this tape: tracked already)
            if ((a0 in variables and a0 not in ids) or (a1 in variables and a1 not in ids)) \
                    and t._watch_reads and (tape := t._tape_ref()) is not None:
                if a0 in variables and a0 not in ids:
                    new = tape._read(x1)[1]
                    if x2 is x1:  # the same variable twice (v * v): one read, both swapped
                        x2 = new
                    x1 = new
                    a1 = id(x2)
                if a1 in variables and a1 not in ids:
                    x2 = tape._read(x2)[1]
            return fn(x1, x2)
        s0 = ids.get(a0, -1)
        s1 = ids.get(a1, -1)
        if s0 < 0 or s1 < 0:
            if t._watch_reads and ((s0 < 0 and a0 in variables) or (s1 < 0 and a1 in variables)):
                return general(trackers, (x1, x2))
            if s0 < 0 and s1 < 0:
                return fn(x1, x2)
        out = fn(x1, x2)
        if multi:
            t._add(root, inexact, info, fn, (x1, x2), (s0, s1), out)
        elif out.dtype in inexact and id(out) not in ids:
            values = t._values
            o = len(values)
            values.append(out)
            ids[id(out)] = o
            t._records.append(Record(info, fn, (x1, x2), (s0, s1), out, o, root))
        return out

    return kernel
