"""``Cell``: what a recurrent cell is to the ``RNN`` driver.

A cell is a module with a pure ``step(x_t, state, *, timespan=None) -> (y_t, state)``: one
step of a batch, ``x_t`` of shape ``(batch, input_size)``, ``state`` a tuple of tensors of the
shapes ``state_shapes(batch)`` declares, ``y_t`` of shape ``(batch, output_size)``. ``step``
changes nothing on the module, so a driver may call it in any order (backwards, twice, under a
tape). ``timespan`` is the elapsed time of the step for continuous-time cells: a number or a
``(batch, 1)`` tensor; a discrete-time cell refuses one.

A cell may also offer ``sequence(x, state, *, lengths, mask, reverse)`` over a whole time-major
sequence (one fused call, e.g. ``ember.nn.lstm``) that the driver uses when no timespans are
given; it must give what the step loop gives.
"""

from __future__ import annotations

from typing import Any

import ember

from .._core._module import Module

__all__ = ["Cell", "State"]

State = tuple[ember.Tensor, ...]


class Cell(Module):
    """Base of recurrent cells: subclasses set ``input_size``, ``output_size`` and
    ``state_sizes`` (one feature size per state tensor) and define ``step``.

    ``cell(x_t, state=None, *, timespan=None)`` is one step (a zero state when None), like
    ``step``; it returns ``(y_t, state)`` with ``state`` a tuple.
    """

    config_name = "_Cell"  # a base: not built from configs
    input_size: int
    output_size: int
    state_sizes: tuple[int, ...]

    def state_shapes(self, batch: int) -> tuple[tuple[int, int], ...]:
        """The shape of each state tensor for a batch of ``batch`` samples."""
        return tuple((batch, n) for n in self.state_sizes)

    def initial_state(self, batch: int, *, like: ember.Tensor) -> State:
        """Zeros of the declared shapes, of ``like``'s dtype, backend and device."""
        return tuple(ember.zeros(s, dtype=like.dtype, device=like.device, backend=like.backend)
                     for s in self.state_shapes(batch))

    def step(self, x_t: ember.Tensor, state: State, *, timespan: Any = None
             ) -> tuple[ember.Tensor, State]:
        raise NotImplementedError(f"{type(self).__name__} defines no step()")

    def sequence(self, x: ember.Tensor, state: State, *, lengths: Any, mask: Any,
                 reverse: bool) -> tuple[ember.Tensor, State] | None:
        """The whole time-major sequence in one call, or None (the driver loops ``step``)."""
        return None

    def check_state(self, state: Any, x_t: ember.Tensor) -> State:
        """``state`` (a tensor or a tuple/list of them) as a tuple of the declared shapes for
        the batch of ``x_t``; a ``ShapeError`` naming the shapes otherwise."""
        if isinstance(state, ember.Tensor):
            state = (state,)
        want = self.state_shapes(x_t.shape[0])
        if not isinstance(state, tuple | list) or len(state) != len(want):
            raise ember.ShapeError(
                f"{type(self).__name__}: the state must be {len(want)} tensor(s) of shapes "
                f"{list(want)}, got {_describe(state)}")
        out = []
        for s, w in zip(state, want, strict=True):
            t = s if isinstance(s, ember.Tensor) else ember.asarray(
                s, backend=x_t.backend, device=x_t.device)
            if tuple(t.shape) != w:
                raise ember.ShapeError(
                    f"{type(self).__name__}: the state must have shapes {list(want)} for an "
                    f"input step of shape {x_t.shape}, got {_describe(state)}")
            out.append(t if t.dtype == x_t.dtype else ember.astype(t, x_t.dtype))
        return tuple(out)

    def check_input(self, x_t: Any) -> ember.Tensor:
        x_t = x_t if isinstance(x_t, ember.Tensor) else ember.asarray(x_t)
        if x_t.ndim != 2 or x_t.shape[1] != self.input_size:
            raise ember.ShapeError(
                f"{type(self).__name__}: an input step must be (batch, input_size) = (batch, "
                f"{self.input_size}), got shape {x_t.shape}")
        return x_t

    def forward(self, x_t: Any, state: Any = None, *, timespan: Any = None
                ) -> tuple[ember.Tensor, State]:
        x_t = self.check_input(x_t)
        st = (self.initial_state(x_t.shape[0], like=x_t) if state is None
              else self.check_state(state, x_t))
        return self.step(x_t, st, timespan=timespan)


def _describe(state: Any) -> str:
    if isinstance(state, tuple | list):
        return "[" + ", ".join(str(getattr(s, "shape", type(s).__name__)) for s in state) + "]"
    return f"{type(state).__name__} {getattr(state, 'shape', '')}".strip()
