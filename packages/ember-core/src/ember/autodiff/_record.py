"""Recording: how gradient tapes see the ops run while they record.

A backend has a *recording twin* (``Backend.recording``): a copy whose kernels first ask the
tapes recording in the current context whether any argument is a tensor they track, and if so
report the call to them. A tape moves the tensors it watches (and the trainable variables it
may read) onto the twin; results of ops on twin tensors are twin tensors, so tracking spreads
along the computation by itself. Ops on untracked tensors never reach the twin: recording
costs nothing where nothing is recorded, and the dispatch fast path is unchanged.

Tapes identify arrays by the identity of the native object (``id``); a tape keeps every array
it tracks alive, so ids stay unique while it may use them.
"""

from __future__ import annotations

import contextvars
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._catalogue import CATALOGUE
from .._kernels import Kernels

if TYPE_CHECKING:
    from .._backend import Backend
    from ._tape import GradientTape

__all__ = ["KERNELS", "RECORDING", "KernelInfo", "make_recording"]

#: The tapes recording in this context (thread, task), innermost last.
RECORDING: contextvars.ContextVar[tuple[GradientTape, ...]] = contextvars.ContextVar(
    "ember_recording", default=())


@dataclass(frozen=True, slots=True)
class KernelInfo:
    """What recording needs to know about one kernel."""

    name: str  # the kernel's attribute name ("add", "linalg_solve", "nn_softmax", "basic_index")
    arrays: tuple[int, ...]  # positions of the arguments checked for tracked arrays
    many: bool  # position 0 is a list of arrays (concat, stack)
    nargs: int  # how many arguments the kernel takes


def _infos() -> dict[str, KernelInfo]:
    """Per kernel: the arguments a tape checks for tracked arrays. The catalogue marks which
    parameters take arrays; where a VJP rule exists, its differentiable ones (a subset: the
    rule's cotangents line up with them) are checked, the others cannot carry a gradient."""
    from .rules import RULES

    out: dict[str, KernelInfo] = {}
    for spec in CATALOGUE:
        kname = spec.kernel_name
        rule = RULES.get(kname)
        arrays = rule.diff if rule is not None else spec.arrays
        out[kname] = KernelInfo(kname, arrays, spec.array_list, len(spec.params))
    out["basic_index"] = KernelInfo("getitem", (0,), False, 2)
    return out


KERNELS: dict[str, KernelInfo] = {}


def _general(info: KernelInfo, fn: Callable[..., Any], root: Backend,
             inexact: frozenset[Any]) -> Callable[..., Any]:
    """The recording path for any number of tapes and arguments (variables read, lists)."""

    def call(tapes: tuple[GradientTape, ...], args: tuple[Any, ...]) -> Any:
        hits = None
        for tape in tapes:
            found = tape._scan(info, args)
            if found is not None:
                slots, args = found
                if hits is None:
                    hits = [(tape, slots)]
                else:
                    hits.append((tape, slots))
        out = fn(*args)
        if hits is not None:
            for tape, slots in hits:
                tape._add(root, inexact, info, fn, args, slots, out)
        return out

    return call


# One tape recording and one or two array arguments (nearly every call): the scan and the
# bookkeeping inlined, generated per kernel with its own parameters (no *args packing), like the
# dispatch fast paths (benchmarked).
_FAST = """
def kernel({params}):
    tapes = get()
    if not tapes:
        return fn({params})
    if len(tapes) != 1:
        return general(tapes, ({params},))
    tape = tapes[0]
    if tape._keeps.get(root) is False:  # torch.autograd records; only variable reads matter
        if tape._auto and {unseen}:
            return general(tapes, ({params},))
        return fn({params})
    ids = tape._ids
{scan}
    args = ({params},)
    out = fn({params})
    if MULTI or tape._keeps.get(root) is None:
        tape._add(root, inexact, info, fn, args, {ins}, out)
    elif out.dtype in inexact and id(out) not in ids:
        values = tape._values
        s = len(values)
        values.append(out)
        ids[id(out)] = s
        tape._records.append(Record(info, fn, args, {ins}, out, s, root))
    return out
"""
_SCAN1 = """
    s0 = ids.get(id(a{p0}), -1)
    if s0 < 0:
        if tape._auto and id(a{p0}) in VARS:
            return general(tapes, ({params},))
        return fn({params})
"""
_SCAN2 = """
    s0 = ids.get(id(a{p0}), -1)
    s1 = ids.get(id(a{p1}), -1)
    if s0 < 0 or s1 < 0:
        if tape._auto and ((s0 < 0 and id(a{p0}) in VARS) or (s1 < 0 and id(a{p1}) in VARS)):
            return general(tapes, ({params},))
        if s0 < 0 and s1 < 0:
            return fn({params})
"""
# kernels that return a tuple of arrays
_MULTI = frozenset({"linalg_eigh", "linalg_qr", "linalg_svd", "linalg_slogdet", "unique_all",
                    "nonzero"})


def _wrap(info: KernelInfo, fn: Callable[..., Any], root: Backend,
          inexact: frozenset[Any]) -> Callable[..., Any]:
    from ._engine import Record
    from ._variables import _by_native

    general = _general(info, fn, root, inexact)
    n = len(info.arrays)
    if info.many or n not in (1, 2):
        get = RECORDING.get

        def kernel(*args: Any) -> Any:
            tapes = get()
            if not tapes:
                return fn(*args)
            return general(tapes, args)
    else:
        p0, p1 = info.arrays[0], info.arrays[-1]
        params = ", ".join(f"a{i}" for i in range(info.nargs))
        # a variable this tape has not watched yet (its array is not among the tape's ids)
        unseen = "(id(a{p}) in VARS and id(a{p}) not in tape._ids)"
        light = unseen.format(p=p0) if n == 1 else \
            f"({unseen.format(p=p0)} or {unseen.format(p=p1)})"
        scan = (_SCAN1 if n == 1 else _SCAN2).format(p0=p0, p1=p1, params=params)
        ns: dict[str, Any] = {"get": RECORDING.get, "fn": fn, "general": general, "root": root,
                              "inexact": inexact, "info": info, "Record": Record,
                              "VARS": _by_native, "MULTI": info.name in _MULTI}
        exec(_FAST.format(params=params, unseen=light, scan=scan,
                          ins="(s0,)" if n == 1 else "(s0, s1)"), ns)
        kernel = ns["kernel"]
    kernel.__name__ = kernel.__qualname__ = f"recording_{info.name}"
    kernel.__wrapped__ = fn  # type: ignore[attr-defined]
    return kernel


def make_recording(root: Backend) -> Backend:
    """The recording twin of ``root`` (built once per backend; see ``Backend.recording``): a
    copy whose kernel table holds each kernel wrapped to report its calls. A fused kernel
    ember has no VJP rule for is left out (None), so the composite runs and is recorded,
    unless the backend's own engine differentiates it."""
    from .rules import RULES

    if not KERNELS:
        KERNELS.update(_infos())
    twin = copy.copy(root)
    twin.root = root
    # native dtypes of floating-point and complex arrays: only those outputs are tracked
    inexact = frozenset(n for d, n in root.to_native_dtype.items() if d.is_inexact)
    native_engine = root.hooks.tape_engine is not None
    composite = {s.kernel_name for s in CATALOGUE if not s.primitive}
    wrapped: dict[str, Callable[..., Any]] = {}
    for kname, fn in zip(Kernels._fields, root.kernels, strict=True):
        if fn is None:
            continue
        if kname not in composite or native_engine or kname in RULES:
            wrapped[kname] = _wrap(KERNELS[kname], fn, root, inexact)
    twin.kernels = Kernels._make(wrapped.get(k) for k in Kernels._fields)
    return twin
