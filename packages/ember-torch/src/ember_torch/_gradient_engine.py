"""The torch gradient engine: ember's tapes on top of torch.autograd.

A tensor a tape watches (or a trainable variable it reads) gets a leaf array that requires grad
in its place; torch records every op on it, and ``gradient`` is ``torch.autograd.grad``. The
tape's own bookkeeping (which arrays it tracks) decides what counts as connected, so the
results follow TensorFlow's rules (a target computed after the tape stopped gives None). When
another tape records, the gradient graph is built (``create_graph``) for higher derivatives.

The backward pass is the C++ engine call that ``torch.autograd.grad`` makes, without the checks
``grad`` runs on explicit seeds first: the tape made the seeds (the targets' shapes and dtypes),
and those checks import ``torch.fx.experimental.symbolic_shapes`` and with it sympy, which cost
the first gradient of a process ~1.5 s (issue 12).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from typing import Any

import torch
from ember import EmberError, Tensor
from ember._compile import _tracing
from ember.autodiff import Engine, GradientRequest, Gradients
from ember.autodiff._functional import native_vmap
from ember.autodiff._record import RECORDING
from torch.overrides import has_torch_function

try:  # torch >= 2.4; torch.autograd.grad calls it after checking its arguments
    from torch.autograd.graph import _engine_run_backward
except ImportError:  # pragma: no cover - older torch: torch.autograd.grad itself
    _engine_run_backward = None  # type: ignore[assignment]

__all__ = ["TorchEngine"]

_PROBE = torch.zeros((), requires_grad=True)

# id(array) -> (weak reference to it, the leaf that requires grad made for it): a variable read
# by every training step's tape gets the same leaf each time instead of a new detach() (ember
# never changes an array in place, so the leaf, which shares its storage, stays equal to it).
# The entry goes when the array does (a variable's assign gives it a new array: a new leaf).
# Not while a dispatch mode or ember.compile traces: a leaf made there is the trace's own.
_leaves: dict[int, tuple[weakref.ref[Any], Any]] = {}
_dispatch_modes = torch._C._len_torch_dispatch_stack
_compiling = _tracing.get  # ember.compiling(), without its frame (asked once per source)


def _forget(key: int) -> Any:
    def gone(ref: weakref.ref[Any]) -> None:
        hit = _leaves.get(key)
        if hit is not None and hit[0] is ref:
            del _leaves[key]

    return gone


def _probe_sequence_nr() -> int:
    """The next autograd node's sequence number, from a node made for the purpose (torch
    without ``_get_sequence_nr``)."""
    try:
        return _node_after(_PROBE)
    except Exception:  # tracing under fake tensors (ember.compile): a real probe is refused
        return _node_after(torch.zeros((), requires_grad=True))


def _node_after(probe: Any) -> int:
    if torch.is_grad_enabled():  # a view is the cheapest op that makes a node
        return int(probe.view_as(probe).grad_fn._sequence_nr()) + 1
    with torch.enable_grad():
        return int(probe.view_as(probe).grad_fn._sequence_nr()) + 1


#: The next autograd node's sequence number (torch numbers them in order, per thread): read
#: from torch's counter (0.03 µs) where torch has the accessor, else probed (~2 µs, a node).
_sequence_nr: Callable[[], int] = getattr(torch._C._autograd, "_get_sequence_nr", None) or _probe_sequence_nr


def _autograd(outs: tuple[Any, ...], seeds: tuple[Any, ...], inputs: tuple[Any, ...], *,
              retain: bool, create: bool, batched: bool) -> tuple[Any, ...]:
    """``torch.autograd.grad(outs, inputs, grad_outputs=seeds, allow_unused=True, ...)``: the
    same engine call, less the seed checks (see the module's docstring). Tensor subclasses
    with ``__torch_function__`` go through ``torch.autograd.grad`` itself."""
    if _engine_run_backward is None or has_torch_function(outs + inputs):
        return torch.autograd.grad(outs, inputs, grad_outputs=seeds, allow_unused=True,
                                   create_graph=create, retain_graph=retain,
                                   is_grads_batched=batched)

    if not batched:
        return _engine_run_backward(outs, seeds, retain, create, inputs, True,
                                    accumulate_grad=False)

    def vjp(gs: tuple[Any, ...]) -> tuple[Any, ...]:
        return _engine_run_backward(outs, gs, retain, create, inputs, True,
                                    accumulate_grad=False)

    # as torch.autograd.grad does for is_grads_batched
    return torch._vmap_internals._vmap(vjp, 0, 0, allow_none_pass_through=True)(seeds)


class TorchEngine(Engine):
    name = "torch"
    records = False  # torch.autograd keeps the graph
    vmap = staticmethod(native_vmap(lambda f, axes: torch.func.vmap(f, in_dims=axes)))

    def __init__(self) -> None:
        # autograd nodes the tape's recording windows created: sequence numbers [start, end)
        self._windows: list[list[Any]] = [[_sequence_nr(), None]]

    def resume(self) -> None:
        self._windows.append([_sequence_nr(), None])

    def computed(self, native: Any) -> bool:
        """The tape tracks no results itself (torch records them): an array counts as computed
        by the tape if its autograd node was made while the tape recorded."""
        node = getattr(native, "grad_fn", None)
        if node is None:
            return False
        seq = node._sequence_nr()
        windows = self._windows
        if len(windows) == 1:  # recorded once (the usual tape)
            start, end = windows[0]
            return start <= seq and (end is None or seq < end)
        return any(start <= seq and (end is None or seq < end) for start, end in windows)

    def source(self, native: Any) -> Any:
        hit = _leaves.get(id(native))  # checked first: a variable read again, by a new tape
        if (hit is not None and not native.requires_grad and hit[0]() is native
                and not _dispatch_modes() and not _compiling()):
            return hit[1]
        if native.requires_grad or not (native.is_floating_point() or native.is_complex()):
            return native
        if type(native) is not torch.Tensor or _dispatch_modes() or _compiling():
            return native.detach().requires_grad_(True)
        key = id(native)
        leaf = native.detach().requires_grad_(True)
        _leaves[key] = (weakref.ref(native, _forget(key)), leaf)
        return leaf

    def ones(self, target: Tensor) -> Tensor:
        return Tensor(torch.ones_like(target._n), self.root)

    def release(self) -> None:
        if self._windows[-1][1] is None:
            self._windows[-1][1] = _sequence_nr()

    def paused(self) -> contextlib.AbstractContextManager[Any]:
        # ops under stop_recording() are constants to this tape; with no other tape recording,
        # torch must not record them either
        return torch.no_grad() if not RECORDING.get() else contextlib.nullcontext()

    def _grad(self, request: GradientRequest, batched: bool) -> Gradients | None:
        values = request.values
        outs, seeds = [], []
        for slot, g, _ in request.targets:
            y = values[slot]
            if y.requires_grad:
                outs.append(y)
                seeds.append(g._n)
        sources = request.sources
        # (source index, array) per slot whose array requires grad; a comprehension, not a
        # loop of appends: this runs for every variable of every training step
        owned = [(i, x) for i, slots in enumerate(sources) for s in slots
                 if (x := values[s]).requires_grad]
        result: list[Tensor | None] = [None] * len(sources)
        if not outs or not owned:
            return Gradients(result)
        inputs = tuple([x for _, x in owned])
        higher = bool(RECORDING.get())
        try:
            grads = _autograd(tuple(outs), tuple(seeds), inputs, create=higher,
                              retain=request.persistent or higher or batched, batched=batched)
        except (RuntimeError, NotImplementedError) as exc:
            if batched:
                return None  # some op has no batched backward: jacobian loops instead
            raise EmberError(
                f"torch.autograd cannot differentiate this recording: {exc} (an op with no "
                f"derivative lies between the target and a source; compute its input under "
                f"ember.stop_gradient if no gradient should flow through it)") from exc
        # with create_graph the gradients are functions of tracked arrays: on the twin (the
        # tapes recording now track them: see GradientTape, engines that keep no records)
        b = self.root.recording if higher else self.root
        for (i, _), gr in zip(owned, grads):
            if gr is not None:
                if gr._is_zerotensor():  # torch's symbolic zeros cannot leave torch (to NumPy)
                    gr = torch.zeros(gr.shape, dtype=gr.dtype, device=gr.device)
                r = result[i]  # a source read several times: its slots' gradients summed
                result[i] = Tensor(gr if r is None else r._n + gr, b)
        return Gradients(result)

    def gradient(self, request: GradientRequest) -> Gradients:
        out = self._grad(request, batched=False)
        assert out is not None
        return out

    def batched_gradient(self, request: GradientRequest) -> Gradients | None:
        return self._grad(request, batched=True)
