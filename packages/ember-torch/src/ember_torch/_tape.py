"""The torch gradient engine: ember's tapes on top of torch.autograd.

A tensor a tape watches (or a trainable variable it reads) gets a leaf array that requires grad
in its place; torch records every op on it, and ``gradient`` is ``torch.autograd.grad``. The
tape's own bookkeeping (which arrays it tracks) decides what counts as connected, so the
results follow TensorFlow's rules (a target computed after the tape stopped gives None). When
another tape records, the gradient graph is built (``create_graph``) for higher derivatives.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from ember import EmberError, Tensor
from ember.autodiff import Engine
from ember.autodiff._functional import native_vmap
from ember.autodiff._record import RECORDING

__all__ = ["TorchEngine"]

_PROBE = torch.zeros((), requires_grad=True)


def _sequence_nr() -> int:
    """The next autograd node's sequence number (torch numbers them in order, per thread)."""
    if torch.is_grad_enabled():  # a view is the cheapest op that makes a node
        return int(_PROBE.view_as(_PROBE).grad_fn._sequence_nr()) + 1
    with torch.enable_grad():
        return int(_PROBE.view_as(_PROBE).grad_fn._sequence_nr()) + 1


class TorchEngine(Engine):
    name = "torch"
    records = False  # torch.autograd keeps the graph
    vmap = staticmethod(native_vmap(lambda f, axes: torch.func.vmap(f, in_dims=axes)))

    def __init__(self) -> None:
        self._swaps: list[tuple[Tensor, Any, Any]] = []
        # autograd nodes the tape's recording windows created: sequence numbers [start, end)
        self._windows: list[list[Any]] = [[_sequence_nr(), None]]

    def resume(self, tape: Any) -> None:
        self._windows.append([_sequence_nr(), None])

    def adopt(self, tape: Any, tensor: Tensor) -> int | None:
        """The tape tracks no results itself (torch records them): a tensor counts as computed
        by the tape if its autograd node was made while the tape recorded."""
        n = tensor._n
        node = getattr(n, "grad_fn", None)
        if node is None:
            return None
        seq = node._sequence_nr()
        for start, end in self._windows:
            if start <= seq and (end is None or seq < end):
                return tape._slot(n)
        return None

    def source(self, tape: Any, native: Any) -> Any:
        if native.requires_grad or not (native.is_floating_point() or native.is_complex()):
            return native
        return native.detach().requires_grad_(True)

    def ones(self, target: Tensor) -> Tensor:
        return Tensor(torch.ones_like(target._n), self.root)

    def swapped(self, tape: Any, tensor: Tensor, original: Any, native: Any) -> None:
        self._swaps.append((tensor, original, native))

    def release(self, tape: Any) -> None:
        if self._windows[-1][1] is None:
            self._windows[-1][1] = _sequence_nr()
        for tensor, original, leaf in self._swaps:
            if tensor._n is leaf:  # not reassigned meanwhile: give back the plain array
                setter = getattr(tensor, "_set_native", None)
                if setter is not None:
                    setter(original)
                else:
                    tensor._n = original
        self._swaps = []

    def paused(self, tape: Any) -> contextlib.AbstractContextManager[Any]:
        # ops under stop_recording() are constants to this tape; with no other tape recording,
        # torch must not record them either
        return torch.no_grad() if not RECORDING.get() else contextlib.nullcontext()

    def _grad(self, tape: Any, targets: list[tuple[int, Tensor, Tensor]], sources: list[list[int]],
              batched: bool) -> list[Tensor | None] | None:
        outs, seeds = [], []
        for slot, g, t in targets:
            y = tape._values[slot]
            if y is None:  # tracked by id only (see GradientTape._add): the target's array
                y = t._n
            if y.requires_grad:
                outs.append(y)
                seeds.append(g._n)
        inputs, owner = [], []
        for i, slots in enumerate(sources):
            for s in slots:
                x = tape._values[s]
                if x is not None and x.requires_grad:
                    inputs.append(x)
                    owner.append(i)
        result: list[Tensor | None] = [None] * len(sources)
        if not outs or not inputs:
            return result
        recording = RECORDING.get()
        higher = bool(recording)
        try:
            grads = torch.autograd.grad(
                outs, inputs, grad_outputs=seeds, allow_unused=True, create_graph=higher,
                retain_graph=tape._persistent or higher or batched, is_grads_batched=batched)
        except (RuntimeError, NotImplementedError) as exc:
            if batched:
                return None  # some op has no batched backward: jacobian loops instead
            raise EmberError(
                f"torch.autograd cannot differentiate this recording: {exc} (an op with no "
                f"derivative lies between the target and a source; compute its input under "
                f"ember.stop_gradient if no gradient should flow through it)") from exc
        natives: list[Any] = [None] * len(sources)
        for i, gr in zip(owner, grads):
            if gr is not None:
                if gr._is_zerotensor():  # torch's symbolic zeros cannot leave torch (to NumPy)
                    gr = torch.zeros(gr.shape, dtype=gr.dtype, device=gr.device)
                natives[i] = gr if natives[i] is None else natives[i] + gr
        b = self.root.recording if higher else self.root
        for i, n in enumerate(natives):
            if n is None:
                continue
            if higher:  # the gradient is a function of tracked arrays: the recording tapes track it
                for t in recording:
                    t._slot(n)
            result[i] = Tensor(n, b)
        return result

    def gradient(self, tape: Any, targets: list[tuple[int, Tensor, Tensor]],
                 sources: list[list[int]]) -> list[Tensor | None]:
        out = self._grad(tape, targets, sources, batched=False)
        assert out is not None
        return out

    def batched_gradient(self, tape: Any, targets: list[tuple[int, Tensor, Tensor]],
                         sources: list[list[int]]) -> list[Tensor | None] | None:
        return self._grad(tape, targets, sources, batched=True)
