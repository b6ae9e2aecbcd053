"""``compile_step``: forward, gradient and optimiser update of one batch as one compiled program.

The step is a pure function of the model's variables, the optimiser's slots and the per-step
scalars (learning rate, bias corrections), all passed in and returned as tensors, the way MLX
users write fast loops (``mx.compile`` with the state captured). ``ember.compile`` hands it to
the backend's compiler: ``mx.compile`` on MLX; on torch a trace of the ATen ops (backward
included) that inductor compiles; NumPy runs it as it is. Inside, the model's variables are
bound to the traced values, a ``GradientTape`` takes the gradients and the optimiser's own
update (``Optimizer.functional_update``: the fused ``ember.nn.*_update`` ops, torch.optim's
formulas) makes the new values, so the numbers are those of the eager step
(``ember_nn.value_and_grad`` + ``Optimizer.apply``).

What makes a new compilation: new batch shapes or dtypes, a change of the model's structure (a
layer added, a variable replaced, ``model.to(...)``), a hyperparameter of the optimiser changed
(``opt.momentum = 0.8``; a learning-rate schedule does not: the rate is an input), or a switch
between train and eval mode. ``step.stats`` counts them; each is logged at DEBUG level on the
``ember.compile`` logger. What cannot be compiled runs as the eager step with a
``CompileWarning`` naming the reason: a Dropout layer in training mode (its masks come from a
host-side counter, so a compiled step would repeat one mask), a backend that cannot trace the
loss (a value read on the host), an optimiser without the functional hooks.

With a ``gradient_hook`` (``Trainer(distributed=True, compile=True)`` sets one: the data-parallel
gradient average) the program stops at the gradients: the collectives of ``ember.distributed``
run eagerly (MLX evaluates each at once to bound it with a timeout; torch.distributed's calls are
not in the traced ATen graph), so the hook runs between the compiled forward/backward program and
the optimiser's update (``Optimizer.apply``, its update arithmetic compiled with
``compile_updates``).
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import ember

from .._core._aux_losses import collect_losses
from .._core._errors import ConfigError
from .._core._module import Module
from ..optim._base import Optimizer
from ..optim._clip import clip_list
from ._precision import MixedPrecision
from ._value_and_grad import _triples, with_aux_losses

__all__ = ["CompiledStep", "compile_step"]



def _log() -> Any:
    import logging

    return logging.getLogger("ember.compile")


def compile_step(model: Module, loss_fn: Callable[..., Any], optimizer: Optimizer, *,
                 has_aux: bool = False,
                 mixed_precision: MixedPrecision | None = None) -> CompiledStep:
    """``step(*batch) -> loss`` (``(loss, aux)`` with ``has_aux``): one optimisation step of
    ``model`` as one compiled program, with the results of the eager step.

    ``loss_fn(*batch)`` computes a scalar loss with ``model``, as for ``ember_nn.value_and_grad``;
    as there, the auxiliary losses the layers add (``ember_nn.add_loss``) are added to it inside
    the compiled program, and the loss returned is that total.
    The variables and the optimiser are updated in place, as ``Optimizer.update`` does.

    With ``mixed_precision`` (a ``MixedPrecision(model, optimizer, "bf16-mixed")``) the whole
    mixed-precision step is the program: ``loss_fn`` computes with
    ``mixed_precision.compute_model``, whose variables are the float32 masters cast down inside
    the program; its gradients are cast up and the update made on the masters, as
    ``MixedPrecision.step`` does. ``"fp16-mixed"`` is refused (its loss scaling skips steps on
    an overflow, a branch the program would have to take): use ``MixedPrecision.step``.

    >>> model = ember_nn.Dense(3, 1, key=0)
    >>> opt = ember_nn.SGD(0.1)
    >>> step = ember_nn.compile_step(model, lambda x, y: ember.mean((model(x) - y) ** 2), opt)
    >>> x, y = ember.ones((4, 3)), ember.zeros((4, 1))
    >>> losses = [round(step(x, y).item(), 4) for _ in range(3)]
    >>> losses[0] > losses[1] > losses[2], opt.step
    (True, 3)
    """
    if not isinstance(model, Module):
        raise ember.ArgumentError(f"compile_step: the first argument must be an ember_nn.Module, "
                                  f"got {type(model).__name__}")
    if not callable(loss_fn):
        raise ember.ArgumentError(f"compile_step: loss_fn must be a function of the batch "
                                  f"returning a scalar loss, got {type(loss_fn).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise ember.ArgumentError(f"compile_step: optimizer must be an ember_nn optimiser "
                                  f"(ember_nn.Adam(...) ...), got {type(optimizer).__name__}")
    if mixed_precision is not None:
        if not isinstance(mixed_precision, MixedPrecision) \
                or mixed_precision.master_model is not model:
            raise ember.ArgumentError(
                "compile_step: mixed_precision must be the MixedPrecision of this model "
                "(MixedPrecision(model, optimizer, 'bf16-mixed')), got "
                f"{type(mixed_precision).__name__}")
        if mixed_precision.scaler is not None:
            raise ConfigError(
                "compile_step: fp16-mixed's dynamic loss scaling skips the steps whose gradients "
                "overflow, a branch a compiled program does not take; train fp16-mixed with "
                "MixedPrecision.step (Trainer(precision='fp16-mixed') does), or use bf16-mixed")
        if mixed_precision.compute_model is model:  # precision "32": nothing to cast
            mixed_precision = None
    return CompiledStep(model, loss_fn, optimizer, has_aux=bool(has_aux), mixed=mixed_precision)


_STRUCTURES = 16  # structures (and their programs) kept


class _Structure:
    """One state of the model's module tree: its variables split into trainable ones and
    buffers, its Dropout layers, and the compiled program for it. ``walk`` (the module walk it
    was made from) keeps every object the key names alive, so no id in the key is reused."""

    __slots__ = ("backend", "buffers", "compiles", "compute", "compute_buffers", "dropouts", "live",
                 "program", "trainable", "used", "walk")

    def __init__(self, walk: Any, step: CompiledStep) -> None:
        named = walk.named
        self.walk = walk
        self.trainable = [(p, v) for p, v in named if v.trainable]
        self.buffers = [v for _, v in named if not v.trainable]
        self.backend = named[0][1].backend if named else ember.get_backend()
        self.compiles = ember.load_backend(self.backend).hooks.compiler is not None
        self.dropouts = [(name, m) for name, m in step.model.named_modules()
                         if type(m).__name__ == "Dropout"]
        self.used = False  # whether a step has run with it
        self.live: list[int] = []  # the variables with a gradient (a gradient-hook program)
        #: with mixed precision: the compute copy's variable of each trainable one and buffer
        self.compute, self.compute_buffers = step._compute_variables(self)
        pure, pure_gradients = step._pure, step._pure_gradients

        def program(flat: list[Any], hyper: Any) -> Any:
            if hyper[0] == "gradients":
                return pure_gradients(self, flat)
            return pure(self, flat, hyper)

        program.__qualname__ = "compile_step"
        self.program = ember.compile(program)


class CompiledStep:
    """What ``compile_step`` returns: call it with a batch. ``stats`` is the ``ember.compile``
    record of the current compiled program (``traces``: compilations, ``fallback``: why it could
    not be compiled); ``recompiles`` counts programs built for a changed structure."""

    def __init__(self, model: Module, loss_fn: Callable[..., Any], optimizer: Optimizer, *,
                 has_aux: bool, mixed: MixedPrecision | None = None) -> None:
        self.model, self.loss_fn, self.optimizer, self.has_aux = model, loss_fn, optimizer, has_aux
        #: the MixedPrecision whose whole step is compiled (None: a float32 step)
        self.mixed = mixed
        self.recompiles = 0
        self.fallback: str | None = None  # why this step runs eagerly, when it does
        self._walk: Any = None
        self._now: _Structure | None = None
        #: the structures seen last (a Dropout layer's call counter makes a new one at every
        #: eager step: the oldest are dropped)
        self._structures: OrderedDict[Any, _Structure] = OrderedDict()
        self._programs = 0  # structures whose program has run
        #: None, or a function of the list of gradients (None entries left out) returning the
        #: ones to apply, run outside the compiled program (see the module's note)
        self.gradient_hook: Callable[[list[Any]], list[Any]] | None = None
        #: the learning rate's and the step number's last input tensors, with their values
        self._scalars: dict[Any, tuple[float, ember.Tensor]] = {}

    @property
    def stats(self) -> ember.CompileStats:
        stats = getattr(self._now.program if self._now else None, "stats", None)
        return stats if stats is not None else ember.CompileStats()

    # -- the step ------------------------------------------------------------------------------
    def __call__(self, *batch: Any) -> Any:
        now = self._prepare()
        if not now.compiles:  # NumPy: the plain step (no warning: nothing to compile with)
            self._first_use(now)
            return self._plain(batch)
        reason = self.fallback or self._eager_reason(now)
        if reason is not None:
            return self._eager(batch, reason)
        self._first_use(now)
        batch = tuple(self._tensor(x, now.backend) for x in batch)
        opt = self.optimizer
        pairs = now.trainable
        params = [ember.stop_gradient(v) for _, v in pairs]
        buffers = [ember.stop_gradient(v) for v in now.buffers]
        if self.gradient_hook is not None:
            if self.mixed is not None:  # the hook runs between backward and update: eagerly
                self.mixed.gradient_hook = self.gradient_hook
                return self._plain(batch)
            return self._gradients_then_update(now, params, buffers, batch)
        slots = opt.read_slots(pairs)
        # the rate and the step number are inputs, so a schedule does not recompile
        device = params[0].device if params else None
        lr = self._scalar("lr", opt.learning_rate, now.backend, device)
        step = self._scalar("step", opt.step + 1, now.backend, device)
        hyper = (tuple(getattr(opt, n) for n in opt._names), opt.clip_norm, opt.slot_names(),
                 len(batch))
        computes = now.compute + now.compute_buffers
        before = [ember.stop_gradient(c) for c in computes]
        try:
            out, new_params, new_buffers, new_slots, *new_computes = now.program(
                [*params, *buffers, *slots, lr, step, *batch], hyper)
        except BaseException:
            _bind([v for _, v in pairs] + now.buffers + computes, params + buffers + before)
            raise
        if computes:  # the compute copy: the new masters, cast down in the program
            _bind(computes, new_computes[0])
        if self.stats.fallback is not None and self.fallback is None:
            self.fallback = self.stats.fallback
        for (_, v), p in zip(pairs, new_params, strict=True):
            v.assign(p)
        for v, b in zip(now.buffers, new_buffers, strict=True):
            v.assign(b)
        opt.write_slots(pairs, new_slots, step=opt.step + 1)
        return out

    def _scalar(self, name: str, value: float, backend: str, device: Any) -> ember.Tensor:
        """``value`` as a float32 tensor input of the program: the last one again while the
        value holds (a constant rate, a schedule between its changes), the last step plus one
        computed on the device for the next step, else made from the host value. A GPU then
        reads no new host array at each step (on MLX's CUDA backend, a host array read by a
        kernel is a transfer; on torch, a fill launch)."""
        key = (name, backend, device)
        last = self._scalars.get(key)
        if last is not None and last[0] == value:
            return last[1]
        if name == "step" and last is not None and last[0] + 1 == value:
            t = last[1] + 1.0
        else:
            t = ember.asarray(value, dtype=ember.float32, device=device, backend=backend)
        self._scalars[key] = (value, t)
        return t

    def _first_use(self, now: _Structure) -> None:
        """Count a structure's first step as a new program (its own, or the plain step's on a
        backend without a compiler); the eager fallback of a Dropout model counts none."""
        if not now.used:
            now.used = True
            self._programs += 1
            if self._programs > 1:
                self.recompiles += 1
                _log().debug("compile_step: the model's structure changed; a new program "
                             "(program %d)", self._programs)

    @staticmethod
    def _tensor(x: Any, backend: str) -> Any:
        """Array data of the batch as tensors on the model's backend (inputs of the program, not
        constants compiled into it)."""
        if isinstance(x, ember.Tensor) or not (isinstance(x, list | tuple) or hasattr(x, "shape")):
            return x
        return ember.asarray(x, backend=backend)

    def _eager(self, batch: Sequence[Any], reason: str) -> Any:
        if self.fallback is None:
            self.fallback = reason
            warnings.warn(f"compile_step: running the eager step: {reason}", ember.CompileWarning,
                          stacklevel=3)
        return self._plain(batch)

    def _plain(self, batch: Sequence[Any]) -> Any:
        if self.mixed is not None:  # the eager mixed-precision step (no gradient hook here)
            return self.mixed.step(lambda _m, *b: self.loss_fn(*b), *batch, has_aux=self.has_aux)
        out, triples = _triples(self.model, self.loss_fn, self.has_aux, tuple(batch), {})
        if self.gradient_hook is not None:
            live = [t for t in triples if t[2] is not None]
            triples = [(p, v, g) for (p, v, _), g in
                       zip(live, self.gradient_hook([g for _, _, g in live]), strict=True)]
        self.optimizer.apply(triples)
        return out

    def _gradients_then_update(self, now: _Structure, params: list[Any], buffers: list[Any],
                               batch: tuple[Any, ...]) -> Any:
        """The compiled forward/backward program, the hook on its gradients, the update."""
        pairs = now.trainable
        try:
            out, grads, new_buffers = now.program([*params, *buffers, *batch],
                                                  ("gradients", len(batch)))
        finally:  # the variables were bound to the program's values: their own again
            _bind([v for _, v in pairs] + now.buffers, params + buffers)
        if self.stats.fallback is not None and self.fallback is None:
            self.fallback = self.stats.fallback
        for v, b in zip(now.buffers, new_buffers, strict=True):
            v.assign(b)
        live = now.live
        reduced = self.gradient_hook(list(grads)) if self.gradient_hook else list(grads)
        self.optimizer.apply([(pairs[i][0], pairs[i][1], g)
                              for i, g in zip(live, reduced, strict=True)])
        return out

    def _pure_gradients(self, now: _Structure, flat: list[Any]) -> Any:
        """The program of a step with a gradient hook: ``(out, live gradients, buffers)``;
        which variables have a gradient is kept in ``now.live`` (found while tracing)."""
        n, nb = len(now.trainable), len(now.buffers)
        params, buffers, batch = flat[:n], flat[n:n + nb], flat[n + nb:]
        variables = [v for _, v in now.trainable]
        _bind(variables + now.buffers, params + buffers)
        out, grads = self._loss_and_gradients(batch, variables)
        now.live = [i for i, g in enumerate(grads) if g is not None]
        return (out, [ember.stop_gradient(grads[i]) for i in now.live],
                [ember.stop_gradient(v) for v in now.buffers])

    def _compute_variables(self, now: _Structure) -> tuple[list[Any], list[Any]]:
        """The compute copy's variable of each trainable variable and buffer of ``now`` (empty
        lists without mixed precision)."""
        mp = self.mixed
        if mp is None:
            return [], []
        mp.sync()  # pairs the variables by path again (a StateError if the structure changed)
        copy_of = {id(m): c for _, m, c in mp._pairs + mp._state}
        return ([copy_of[id(v)] for _, v in now.trainable],
                [copy_of[id(v)] for v in now.buffers])

    @staticmethod
    def _eager_reason(now: _Structure) -> str | None:
        for name, m in now.dropouts:
            if m.training and getattr(m, "rate", 0.0) > 0:
                return (f"{name or 'the model'} is a Dropout layer in training mode; its masks "
                        f"come from a host-side call counter, so a compiled step would repeat "
                        f"one mask (call model.eval() or remove it to compile)")
        return None

    # -- structure -----------------------------------------------------------------------------
    def _prepare(self) -> _Structure:
        """The structure of the model now. The module walk (cached on the model, rebuilt when
        anything in the tree changes: a layer, a variable, an attribute, train/eval) names it;
        a structure seen before (train, eval, train again) keeps its compiled program."""
        walk = self.model._walked()
        if walk is self._walk and self._now is not None:
            return self._now
        key = tuple((None if keys is None else tuple(keys), tuple(ids))
                    for _, keys, ids in walk.snapshot)
        now = self._structures.get(key)
        if now is None:
            now = self._structures[key] = _Structure(walk, self)
            if len(self._structures) > _STRUCTURES:
                self._structures.popitem(last=False)
        else:
            self._structures.move_to_end(key)
        self._walk, self._now = walk, now
        return now

    # -- the pure function the backend compiles ------------------------------------------------
    def _loss_and_gradients(self, batch: Sequence[Any], watched: list[Any]) -> tuple[Any, Any]:
        """``loss_fn(*batch)`` (with the layers' auxiliary losses added) and the gradients of
        the loss with respect to ``watched``."""
        with ember.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(watched)
            with collect_losses() as extra:
                out = self.loss_fn(*batch)
            loss = out[0] if self.has_aux else out
            if not isinstance(loss, ember.Tensor) or loss.size != 1:
                raise ember.ShapeError(
                    f"compile_step: loss_fn must return a scalar loss"
                    f"{' (as the first of a pair, has_aux=True)' if self.has_aux else ''}, got "
                    f"{type(loss).__name__} of shape {getattr(loss, 'shape', None)}")
            out, loss = with_aux_losses(out, loss, self.has_aux, extra)
        return out, tape.gradient(loss, watched)

    def _pure(self, now: _Structure, flat: list[Any], hyper: Any) -> Any:
        opt = self.optimizer
        n, nb, kinds = len(now.trainable), len(now.buffers), len(opt.slot_names())
        params, buffers = flat[:n], flat[n:n + nb]
        slots = flat[n + nb:n + nb + n * kinds]
        lr, step = flat[n + nb + n * kinds:n + nb + n * kinds + 2]
        batch = flat[n + nb + n * kinds + 2:]
        variables = [v for _, v in now.trainable]
        _bind(variables + now.buffers, params + buffers)
        watched, state = variables, now.buffers
        if now.compute:  # mixed precision: the compute copy holds the masters cast down
            watched, state = now.compute, now.compute_buffers
            _bind(watched + state, [_cast(t, c) for t, c in zip(params + buffers, watched + state,
                                                                strict=True)])
        out, grads = self._loss_and_gradients(batch, watched)
        if now.compute:  # the gradients of the compute copy, cast up to the masters' dtypes
            grads = [None if g is None else _cast(g, p) for g, p in zip(grads, params,
                                                                        strict=True)]
        new_buffers = [_cast(ember.stop_gradient(v), b) for v, b in zip(state, buffers,
                                                                        strict=True)]
        live = [i for i, g in enumerate(grads) if g is not None]  # None: left as it is
        gs = [ember.stop_gradient(grads[i]) for i in live]
        if opt.clip_norm is not None and gs:  # one global norm over every group, as apply does
            gs, _ = clip_list(gs, float(opt.clip_norm), [now.trainable[i][0] for i in live])
        new_params, new_slots = list(params), list(slots)
        by_dtype: dict[Any, list[tuple[int, ember.Tensor]]] = {}
        for i, g in zip(live, gs, strict=True):
            by_dtype.setdefault(params[i].dtype, []).append((i, g))
        for group in by_dtype.values():  # functional_update takes one dtype at a time
            idx = [i for i, _ in group]
            sub = [slots[k * n + i] for k in range(kinds) for i in idx]
            ps, ss = opt.functional_update([params[i] for i in idx], [g for _, g in group],
                                           sub, step, lr)
            for j, i in enumerate(idx):
                new_params[i] = ps[j]
                for k in range(kinds):
                    new_slots[k * n + i] = ss[k * len(idx) + j]
        if now.compute:  # and the compute copy's new values, cast down here
            computes = [_cast(t, c) for t, c in zip(new_params + new_buffers,
                                                    now.compute + now.compute_buffers,
                                                    strict=True)]
            return out, new_params, new_buffers, new_slots, computes
        return out, new_params, new_buffers, new_slots


def _cast(t: ember.Tensor, like: ember.Tensor) -> ember.Tensor:
    """``t`` in ``like``'s dtype (itself if it is already)."""
    return t if t.dtype == like.dtype else ember.astype(t, like.dtype)


def _bind(variables: list[ember.Variable], values: list[ember.Tensor]) -> None:
    """The variables hold ``values`` (traced ones, under a compiler). Nothing restores them
    inside the traced function (a real array there would be a constant of the program): the
    caller assigns the step's results, or the old values when the step fails."""
    for v, t in zip(variables, values, strict=True):
        v.assign(t)


def check_compile(flag: Any, where: str) -> bool:
    if not isinstance(flag, bool):
        raise ConfigError(f"{where}: compile must be True or False, got {flag!r}")
    return flag
