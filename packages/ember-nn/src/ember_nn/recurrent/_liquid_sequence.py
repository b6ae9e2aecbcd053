"""The sequence loop of ``CfC`` and ``LTC`` (ncps's ``forward``): inputs batched or not, batch
or time first, an initial state (a pair with ``mixed_memory``), and timespans per sample or per
sample and step, which ncps 1.0.1 mis-broadcasts (ncps issues #81, #82, #83) and ember does not.

Each cell gives a *plan* for a sequence: what depends on the weights only (masked weights,
transposes, softplus of LTC's positive parameters) is computed once per call, and the plan's
``step(x_t, state, ts)`` does one step. Inputs are sliced per step rather than projected for the
whole sequence at once: the gradient of a per-step slice of a tensor that needs one is a
full-size scatter on some backends (torch's ``select``), quadratic in the sequence length.
"""

from __future__ import annotations

from typing import Any, Protocol

import ember

__all__ = ["Timespan", "cell_timespan", "run_sequence", "step_timespans"]

#: a step's elapsed time: a number, or a tensor of shape (batch, 1) or (1, 1)
Timespan = float | ember.Tensor


class _Plan(Protocol):
    def step(self, x_t: ember.Tensor, state: Any, ts: Timespan) -> tuple[ember.Tensor, Any]: ...


class _Liquid(Protocol):
    input_size: int
    state_size: int
    batch_first: bool
    return_sequences: bool
    use_mixed: bool

    def _cell_plan(self) -> _Plan: ...

    def _memory_plan(self) -> _Plan: ...

    def _readout(self, y: ember.Tensor) -> ember.Tensor: ...


def _shape_hint(layer: str, batched: bool, batch_first: bool) -> str:
    if not batched:
        return "a number, or one span per step: shape (steps,) or (steps, 1)"
    per_step = "(batch, steps)" if batch_first else "(steps, batch)"
    per_step3 = "(batch, steps, 1)" if batch_first else "(steps, batch, 1)"
    return (f"a number, one span per sample (shape (batch,)), or one per sample and step "
            f"(shape {per_step} or {per_step3}; a 1 in place of batch or steps broadcasts)")


def step_timespans(layer: str, timespans: Any, x_shape: tuple[int, ...], batch_first: bool,
                   like: ember.Tensor) -> list[Timespan]:
    """One elapsed time per step for an input of shape ``x_shape`` (batched when 3-D): a
    number, or a tensor of shape (batch, 1) or (1, 1) that broadcasts against (batch, units).

    Raises ``ember.ShapeError`` naming both shapes where ``timespans`` does not fit."""
    batched = len(x_shape) == 3
    steps = x_shape[1 if batch_first else 0] if batched else x_shape[0]
    batch = x_shape[0 if batch_first else 1] if batched else 1
    if timespans is None:
        return [1.0] * steps
    if isinstance(timespans, int | float) and not isinstance(timespans, bool):
        return [float(timespans)] * steps
    t = timespans if isinstance(timespans, ember.Tensor) else ember.asarray(
        timespans, backend=like.backend, device=like.device)
    if t.dtype != like.dtype:
        t = ember.astype(t, like.dtype)
    shape = tuple(t.shape)

    def bad() -> ember.ShapeError:
        return ember.ShapeError(
            f"{layer}: timespans of shape {shape} do not fit the input of shape {x_shape} "
            f"(batch_first={batch_first}); pass {_shape_hint(layer, batched, batch_first)}")

    if t.ndim == 0:
        return [ember.reshape(t, (1, 1))] * steps
    if t.ndim == 3:
        if shape[2] != 1:
            raise bad()
        t = ember.reshape(t, shape[:2])
    if not batched:
        if t.ndim == 2 and shape[1] != 1:
            raise bad()
        if t.ndim > 2 or (t.shape[0] not in (1, steps)):
            raise bad()
        t = ember.reshape(t, (1, t.shape[0]))  # (1 sample, steps)
    elif t.ndim == 1:
        if shape[0] not in (1, batch):
            raise bad()
        return [ember.reshape(t, (shape[0], 1))] * steps
    elif t.ndim == 2:
        if not batch_first:
            t = ember.matrix_transpose(t)
        b, s = t.shape
        if b not in (1, batch) or s not in (1, steps):
            raise bad()
    else:
        raise bad()
    if t.shape[1] == 1:
        return [t] * steps
    return list(ember.unstack(ember.expand_dims(t, -1), axis=1))


def cell_timespan(layer: str, timespan: Any, like: ember.Tensor) -> Timespan:
    """A single step's elapsed time (``step(x_t, state, timespan=...)``): None (1.0), a number,
    or a tensor of shape (), (batch,) or (batch, 1)."""
    if timespan is None:
        return 1.0
    if isinstance(timespan, int | float) and not isinstance(timespan, bool):
        return float(timespan)
    t = timespan if isinstance(timespan, ember.Tensor) else ember.asarray(
        timespan, backend=like.backend, device=like.device)
    if t.dtype != like.dtype:
        t = ember.astype(t, like.dtype)
    batch = like.shape[0]
    if t.ndim == 0:
        return ember.reshape(t, (1, 1))
    if t.ndim == 1 and t.shape[0] in (1, batch):
        return ember.reshape(t, (t.shape[0], 1))
    if t.ndim == 2 and t.shape[1] == 1 and t.shape[0] in (1, batch):
        return t
    raise ember.ShapeError(f"{layer}.step: a timespan of shape {tuple(t.shape)} does not fit "
                           f"an input of shape {tuple(like.shape)}; pass a number or a tensor "
                           f"of shape (), (batch,) or (batch, 1)")


def _state(layer: str, value: Any, what: str, want: tuple[int, ...], batched: bool,
           like: ember.Tensor) -> ember.Tensor:
    t = value if isinstance(value, ember.Tensor) else ember.asarray(
        value, backend=like.backend, device=like.device)
    need = want if batched else want[1:]
    if tuple(t.shape) != need:
        raise ember.ShapeError(
            f"{layer}: {what} of shape {tuple(t.shape)} does not fit the input: "
            f"{'batched' if batched else 'unbatched'} input of shape {tuple(like.shape)} needs "
            f"{what} of shape {need}")
    return t if batched else ember.expand_dims(t, 0)


def _initial_state(layer: str, model: _Liquid, hx: Any, batch: int, batched: bool,
                   x: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor | None]:
    want = (batch, model.state_size)
    if hx is None:
        zeros = ember.zeros(want, dtype=x.dtype, backend=x.backend, device=x.device)
        return zeros, (zeros if model.use_mixed else None)
    if model.use_mixed:
        if not (isinstance(hx, tuple | list) and len(hx) == 2):
            raise ember.ArgumentError(
                f"{layer} with mixed_memory=True takes hx=(h0, c0), a pair of tensors of shape "
                f"{want if batched else want[1:]}; got {type(hx).__name__}")
        return (_state(layer, hx[0], "h0", want, batched, x),
                _state(layer, hx[1], "c0", want, batched, x))
    if isinstance(hx, tuple | list):
        raise ember.ArgumentError(f"{layer} with mixed_memory=False takes hx as one tensor of "
                                  f"shape {want if batched else want[1:]}, got a "
                                  f"{type(hx).__name__} of {len(hx)}")
    return _state(layer, hx, "hx", want, batched, x), None


def run_sequence(layer: str, model: _Liquid, x: Any, hx: Any,
                 timespans: Any) -> tuple[ember.Tensor, Any]:
    """ncps's ``forward`` of ``CfC``/``LTC``: ``(readout, final state)``."""
    x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
    if x.ndim not in (2, 3) or x.shape[-1] != model.input_size:
        raise ember.ShapeError(
            f"{layer}: input of shape {tuple(x.shape)}; expected "
            f"{'(batch, steps, ' if model.batch_first else '(steps, batch, '}"
            f"{model.input_size}) or unbatched (steps, {model.input_size}) (input_size="
            f"{model.input_size})")
    batched = x.ndim == 3
    spans = step_timespans(layer, timespans, tuple(x.shape), model.batch_first, x)
    if not batched:
        x_tm = ember.expand_dims(x, 1)
    elif model.batch_first:
        x_tm = ember.permute_dims(x, (1, 0, 2))
    else:
        x_tm = x
    steps, batch = x_tm.shape[0], x_tm.shape[1]
    if steps == 0:
        raise ember.ShapeError(f"{layer}: the input of shape {tuple(x.shape)} has no steps")
    h, c = _initial_state(layer, model, hx, batch, batched, x)
    cell = model._cell_plan()
    memory = model._memory_plan() if model.use_mixed else None
    xs = ember.unstack(x_tm, axis=0)
    outs = []
    out = h
    for t in range(steps):
        if memory is not None:
            h, c = memory.step(xs[t], (h, c), 1.0)
        out, h = cell.step(xs[t], h, spans[t])
        if model.return_sequences:
            outs.append(out)
    if model.return_sequences:
        y = model._readout(ember.stack(outs, axis=1 if (batched and model.batch_first) else 0))
        if not batched:
            y = ember.reshape(y, (y.shape[0], y.shape[-1]))
    else:
        y = model._readout(out)
        if not batched:
            y = y[0]
    if not batched:
        h = h[0]
        c = None if c is None else c[0]
    return y, ((h, c) if model.use_mixed else h)
