"""The MLX gradient engine: a tape's recording replayed as a pure function under ``mx.vjp``.

MLX differentiates functions, not graphs after the fact, so the tape keeps every MLX kernel
call made on tracked arrays (the generic engine's records) and, at ``gradient`` time:

* **plan** (the WatchedTensorTracker role of the original design): keep the calls that lie
  between the sources and the targets, and note which sources are connected — MLX would give
  zeros for the others, TensorFlow gives None;
* **replay** (GradientComputer): re-run those calls as a function of the sources, with every
  other array passed in as an argument, under ``mx.vjp``; the function is compiled
  (``mx.compile``) once its structure has been seen twice, and kept in a cache keyed by that
  structure, so a training loop pays for compilation once;
* **synchronise** (AsyncGraphManager): the replay's outputs are returned as the targets'
  recomputed values (``Gradients.recomputed``: the tape puts them in the targets' place, so
  evaluating the loss does not run the forward pass a second time) and the results are
  scheduled with ``mx.async_eval``.

Calls that go through the host (NumPy) in ember-mlx cannot be traced by MLX; a recording with
one of those on the path to a source is differentiated by the generic engine instead, as are
gradients taken while another tape records (higher derivatives).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any

import mlx.core as mx
from ember import Tensor
from ember.autodiff import Engine, GenericEngine, GradientRequest, Gradients
from ember.autodiff._functional import native_vmap
from ember.autodiff._record import RECORDING

from ._replay_plan import _cached_plan, _consts, _differentiate, _Plan, _plans, _replay_fn

__all__ = ["MLXEngine", "clear_compiled"]

_CACHE_SIZE = 64
_FAILED = object()
_compiled: OrderedDict[Any, list[Any]] = OrderedDict()  # key -> [times seen, compiled or None]


def clear_compiled() -> None:
    """Forget every compiled replay and cached plan (they are rebuilt on demand)."""
    _compiled.clear()
    _plans.clear()


class MLXEngine(Engine):
    name = "mlx"
    records = True
    vmap = staticmethod(native_vmap(lambda f, axes: mx.vmap(f, in_axes=axes)))

    def ones(self, target: Tensor) -> Tensor:
        return Tensor(mx.ones_like(target.native), self.root)

    def _prepare(self, request: GradientRequest
                 ) -> tuple[_Plan, list[int], list[Any], list[Any], list[Any]] | None:
        merged: dict[int, Any] = {}
        for slot, g, _ in request.targets:
            merged[slot] = merged[slot] + g.native if slot in merged else g.native
        t_slots = list(merged)
        p = _cached_plan(request, self.root, t_slots,
                         [s for slots in request.sources for s in slots])
        if p.host == "data":
            return None
        values = request.values
        inputs = [values[s] if i < p.n_leaf else mx.zeros_like(values[s])
                  for i, s in enumerate(p.inputs)]
        return p, t_slots, inputs, [merged[s] for s in t_slots], _consts(p, request)

    def gradient(self, request: GradientRequest) -> Gradients:
        if RECORDING.get():  # another tape records: the backward pass must be ember ops
            return GenericEngine().gradient(request)
        prepared = self._prepare(request)
        if prepared is None:
            return GenericEngine().gradient(request)
        p, t_slots, inputs, seeds, consts = prepared
        if not p.connected:
            return Gradients([None] * len(request.sources))
        fn = self._function(p)
        if fn is None:  # MLX cannot differentiate some call of this structure
            return GenericEngine().gradient(request)
        try:
            outs, grads = fn(inputs, consts, seeds)
        except Exception:
            # MLX lacks a VJP for one of the calls (e.g. scatter with multiply): remember it
            # for this structure and let the generic engine's rules do it
            self._failed(p)
            return GenericEngine().gradient(request)
        # start computing while Python goes on; inside an MLX transformation (mx.vmap of a
        # gradient) that is not allowed, and the results stay lazy
        with contextlib.suppress(ValueError):
            mx.async_eval(*grads, *outs)
        # the targets' values as the replay computed them (the same numbers): evaluating a
        # target then shares the gradient's graph instead of running the forward pass again
        recomputed = {s: o for s, o, sp in zip(t_slots, outs, p.outputs) if sp[0] == "v"}
        return Gradients(self._collect(p, request.sources, grads), recomputed)

    def _function(self, p: _Plan) -> Any:
        """The vjp of the replay: compiled once this structure has been seen before (a
        constant index read on the host: never compiled); None if MLX failed on it before."""
        try:
            entry = _compiled.get(p.key)
        except TypeError:  # an unhashable static argument: no caching
            return _differentiate(_replay_fn(p))
        if entry is None:
            _compiled[p.key] = [1, None]
            if len(_compiled) > _CACHE_SIZE:
                _compiled.popitem(last=False)
            return _differentiate(_replay_fn(p))
        _compiled.move_to_end(p.key)
        if entry[1] is _FAILED:
            return None
        entry[0] += 1
        if entry[1] is None:
            run = _differentiate(_replay_fn(p))
            if p.host:
                return run
            entry[1] = _Compiled(mx.compile(run), run)
        return entry[1]

    def _failed(self, p: _Plan) -> None:
        with contextlib.suppress(TypeError):
            _compiled[p.key] = [0, _FAILED]

    def _collect(self, p: _Plan, sources: tuple[tuple[int, ...], ...],
                 grads: list[Any]) -> list[Tensor | None]:
        out: list[Tensor | None] = []
        for slots in sources:
            total = None
            for s in slots:
                i = p.source_input[s]
                if i in p.connected:
                    total = grads[i] if total is None else total + grads[i]
            out.append(None if total is None else Tensor(total, self.root))
        return out

    def batched_gradient(self, request: GradientRequest) -> Gradients | None:
        if RECORDING.get():
            return None
        prepared = self._prepare(request)
        if prepared is None:
            return None
        p, _, inputs, seeds, consts = prepared
        if not p.connected:
            return Gradients([None] * len(request.sources))
        replay = _replay_fn(p)

        def one(*row: Any) -> Any:
            return mx.vjp(lambda *xs: replay(list(xs), consts), inputs, list(row))[1]

        try:
            grads = mx.vmap(one)(*seeds)
        except Exception:
            return None
        return Gradients(self._collect(p, request.sources, list(grads)))


class _Compiled:
    """A compiled replay; falls back to the plain one for good if compilation fails. MLX
    compiles lazily (its errors would surface when the results are evaluated), so the first
    call evaluates its results here."""

    __slots__ = ("compiled", "plain", "verified")

    def __init__(self, compiled: Any, plain: Any) -> None:
        self.compiled, self.plain, self.verified = compiled, plain, False

    def __call__(self, inputs: list[Any], consts: list[Any], seeds: list[Any]) -> Any:
        if self.compiled is not None:
            try:
                out = self.compiled(inputs, consts, seeds)
                if not self.verified:
                    mx.eval(out)
                    self.verified = True
                return out
            except Exception:
                self.compiled = None
        return self.plain(inputs, consts, seeds)
