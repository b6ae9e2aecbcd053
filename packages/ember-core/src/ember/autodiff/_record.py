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

if TYPE_CHECKING:
    from .._backend import Backend
    from ._tape import GradientTape

__all__ = ["KERNELS", "RECORDING", "KernelInfo", "make_recording"]

#: The tapes recording in this context (thread, task), innermost last.
RECORDING: contextvars.ContextVar[tuple[GradientTape, ...]] = contextvars.ContextVar(
    "ember_recording", default=())

# kernel parameters that take arrays (or a Python scalar in their place)
_ARRAY_PARAMS = frozenset({"x", "x1", "x2", "condition", "weight", "bias", "q", "k", "v", "mask",
                           "values", "indices", "sorter", "min", "max", "repeats", "obj"})


@dataclass(frozen=True, slots=True)
class KernelInfo:
    """What recording needs to know about one kernel."""

    name: str  # the kernel's attribute name ("add", "linalg_solve", "nn_softmax", "basic_index")
    arrays: tuple[int, ...]  # positions of the arguments checked for tracked arrays
    many: bool  # position 0 is a list of arrays (concat, stack)


def _infos() -> dict[str, KernelInfo]:
    from .rules import RULES

    out: dict[str, KernelInfo] = {}
    for spec in CATALOGUE:
        params = [p.strip() for p in spec.kernel.strip("()").split(",") if p.strip()]
        kname = spec.kernel_name
        rule = RULES.get(kname)
        many = bool(params) and params[0] == "arrays"
        if rule is not None:
            arrays = rule.diff
        else:
            arrays = tuple(i for i, p in enumerate(params) if p in _ARRAY_PARAMS or p == "arrays")
        out[kname] = KernelInfo(kname, arrays, many)
    out["basic_index"] = KernelInfo("getitem", (0,), False)
    return out


KERNELS: dict[str, KernelInfo] = {}


def _wrap(info: KernelInfo, fn: Callable[..., Any], root: Backend,
          inexact: frozenset[Any]) -> Callable[..., Any]:
    get = RECORDING.get

    def kernel(*args: Any) -> Any:
        tapes = get()
        if not tapes:
            return fn(*args)
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

    kernel.__name__ = kernel.__qualname__ = f"recording_{info.name}"
    kernel.__wrapped__ = fn  # type: ignore[attr-defined]
    return kernel


def make_recording(root: Backend) -> Backend:
    """The recording twin of ``root`` (built once per backend; see ``Backend.recording``)."""
    from .rules import RULES

    if not KERNELS:
        KERNELS.update(_infos())
    twin = copy.copy(root)
    twin.root = root
    # native dtypes of floating-point and complex arrays: only those outputs are tracked
    inexact = frozenset(n for d, n in root.to_native_dtype.items() if d.is_inexact)
    native_engine = root.tape_engine is not None
    fused = {}
    for spec in CATALOGUE:
        kname = spec.kernel_name
        fn = root.__dict__.get(kname)
        if fn is None:
            continue
        wrapped = _wrap(KERNELS[kname], fn, root, inexact)
        setattr(twin, kname, wrapped)
        if spec.name in root.fused and (native_engine or kname in RULES):
            # a fused kernel ember has no VJP rule for is left out: the composite runs instead
            fused[spec.name] = wrapped
    twin.fused = fused
    twin.basic_index = _wrap(KERNELS["basic_index"], root.basic_index, root, inexact)
    return twin
