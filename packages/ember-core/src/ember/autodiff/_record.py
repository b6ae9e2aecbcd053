"""Recording: how gradient tapes see the ops run while they record.

A backend has a *recording twin* (``Backend.recording``): a copy whose kernels first ask the
tapes recording in the current context whether any argument is a tensor they track, and if so
report the call to them. A tape moves the tensors it watches (and the trainable variables it
may read) onto the twin; results of ops on twin tensors are twin tensors, so tracking spreads
along the computation by itself. Ops on untracked tensors never reach the twin: recording
costs nothing where nothing is recorded, and the dispatch fast path is unchanged.

Which arguments a kernel's twin checks comes from the catalogue (the parameters it marks as
arrays) or, for a kernel with a VJP rule, the rule's differentiable arguments (``KERNELS``).
What a tape tracks and the twin's kernels themselves are in ``_tracker.py``.
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
    from ._tracker import Tracker

__all__ = ["KERNELS", "RECORDING", "KernelInfo", "make_recording"]

#: The trackers of the tapes recording in this context (thread, task), innermost last.
RECORDING: contextvars.ContextVar[tuple[Tracker, ...]] = contextvars.ContextVar(
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


def _wrap(info: KernelInfo, fn: Callable[..., Any], root: Backend,
          inexact: frozenset[Any]) -> Callable[..., Any]:
    """``fn`` as the recording twin runs it (see ``_tracker.recording_kernel``)."""
    from ._tracker import recording_kernel

    return recording_kernel(info, fn, root, inexact)


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
