"""``RNN``: any cell over a sequence, and ``Bidirectional``: a forward and a backward ``RNN``.

Variable lengths: ``lengths`` (``(batch,)`` integers in ``[0, steps]``: the valid steps of each
sequence, at its start) or ``mask`` (booleans shaped like the input's first two axes, True where
a step is valid). A padded step leaves the state unchanged and gives a zero output; the last
output (``return_sequences=False``) is each sample's output at its last valid step (zeros for a
sample with none). ``go_backwards`` runs the steps from last to first and the outputs stay at
their steps' positions (``outputs[:, t]`` is the output at step t, as in torch's reverse
direction; Keras reverses them).
"""

from __future__ import annotations

from typing import Any

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from ._cell import Cell, State
from ._liquid_sequence import step_timespans

__all__ = ["RNN", "Bidirectional"]

_MERGES = ("concat", "sum", "mul", "ave", None)


class RNN(Module):
    """``cell`` over a sequence: ``rnn(x, initial_state=None, *, lengths=None, mask=None,
    timespans=None)``.

    ``x`` is ``(batch, steps, features)`` (``batch_first``) or ``(steps, batch, features)``.
    Returns the outputs of every step (``return_sequences``, shaped like ``x`` with the cell's
    output size) or of the last one ``(batch, output_size)``; with ``return_state`` the pair
    ``(output, state)``, ``state`` the tuple of the cell's final state tensors.
    ``initial_state`` is a tensor or a tuple of them (the cell's ``state_shapes``); zeros by
    default. ``timespans`` (for continuous-time cells): a number, one span per sample
    ``(batch,)`` or one per sample and step (shaped like ``x``'s first two axes); each step gets
    a ``(batch, 1)`` tensor (or the number). Cells with a ``sequence`` fast path (``LSTMCell``,
    ``GRUCell``, ``SimpleRNNCell``) run one fused ``ember.nn`` call when no timespans are given.

    >>> rnn = ember_nn.RNN(ember_nn.GRUCell(3, 4, key=0), return_sequences=True)
    >>> rnn(ember.ones((2, 5, 3)), lengths=[5, 2]).shape
    (2, 5, 4)
    """

    def __init__(self, cell: Cell, *, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, batch_first: bool = True) -> None:
        super().__init__()
        if not isinstance(cell, Cell):
            raise ConfigError(f"RNN: cell must be an ember_nn recurrent cell (a subclass of "
                              f"ember_nn.recurrent.Cell with a step method), got "
                              f"{type(cell).__name__}")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.batch_first = bool(batch_first)

    def forward(self, x: Any, initial_state: Any = None, *, lengths: Any = None,
                mask: Any = None, timespans: Any = None) -> Any:
        name = type(self.cell).__name__
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        if x.ndim != 3 or x.shape[-1] != self.cell.input_size:
            lead = "(batch, steps, " if self.batch_first else "(steps, batch, "
            raise ember.ShapeError(
                f"RNN({name}): input of shape {x.shape}; expected {lead}"
                f"{self.cell.input_size}) (the cell's input_size={self.cell.input_size})")
        x_tm = ember.permute_dims(x, (1, 0, 2)) if self.batch_first else x
        steps, batch = x_tm.shape[0], x_tm.shape[1]
        state = (self.cell.initial_state(batch, like=x) if initial_state is None
                 else self.cell.check_state(initial_state, x_tm[0] if steps else
                                            ember.zeros((batch, self.cell.input_size),
                                                        dtype=x.dtype, backend=x.backend)))
        valid = self._valid(x, lengths, mask, steps, batch)
        ys: ember.Tensor | None = None
        if timespans is None:
            fast = self.cell.sequence(x_tm, state, lengths=lengths, mask=valid if lengths is None
                                      else None, reverse=self.go_backwards)
            if fast is not None:
                ys, state = fast
        if ys is None:
            spans = (step_timespans(f"RNN({name})", timespans, tuple(x.shape), self.batch_first,
                                    x) if timespans is not None else [None] * steps)
            masks = None if valid is None else ember.unstack(ember.expand_dims(valid, -1))
            xs = ember.unstack(x_tm) if steps else ()
            outs: list[ember.Tensor | None] = [None] * steps
            for t in (range(steps - 1, -1, -1) if self.go_backwards else range(steps)):
                y, new = self.cell.step(xs[t], state, timespan=spans[t])
                if masks is not None:
                    new = tuple(ember.where(masks[t], n, s) for n, s in zip(new, state,
                                                                            strict=True))
                    y = ember.where(masks[t], y, 0.0)
                outs[t], state = y, new
            ys = (ember.stack(outs) if steps else
                  ember.zeros((0, batch, self.cell.output_size), dtype=x.dtype,
                              backend=x.backend, device=x.device))
        out = self._output(ys, valid, steps, batch)
        return (out, state) if self.return_state else out

    def _valid(self, x: ember.Tensor, lengths: Any, mask: Any, steps: int,
               batch: int) -> ember.Tensor | None:
        """The (steps, batch) validity of each step, or None when every step is valid."""
        if lengths is not None and mask is not None:
            raise ember.ArgumentError("RNN: give lengths or mask, not both")
        if lengths is not None:
            lens = lengths if isinstance(lengths, ember.Tensor) else ember.asarray(
                lengths, backend=x.backend, device=x.device)
            if lens.dtype.kind not in "iu" or lens.shape != (batch,):
                raise ember.ShapeError(f"RNN: lengths must be (batch,) = ({batch},) integers, "
                                       f"got shape {lens.shape} of dtype {lens.dtype}")
            values = [int(v) for v in lens.tolist()]
            if any(not 0 <= v <= steps for v in values):
                raise ember.ArgumentError(
                    f"RNN: lengths {values} must lie in [0, steps] = [0, {steps}] for an input "
                    f"of shape {x.shape}")
            t = ember.expand_dims(ember.arange(steps, backend=x.backend, device=x.device), -1)
            return ember.less(t, ember.astype(lens, t.dtype))
        if mask is None:
            return None
        m = mask if isinstance(mask, ember.Tensor) else ember.asarray(
            mask, backend=x.backend, device=x.device)
        want = (batch, steps) if self.batch_first else (steps, batch)
        if m.dtype != ember.bool or m.shape != want:
            raise ember.ShapeError(f"RNN: mask must be booleans of shape {want} (the input's "
                                   f"first two axes), got shape {m.shape} of dtype {m.dtype}")
        return ember.matrix_transpose(m) if self.batch_first else m

    def _output(self, ys: ember.Tensor, valid: ember.Tensor | None, steps: int,
                batch: int) -> ember.Tensor:
        if self.return_sequences:
            return ember.permute_dims(ys, (1, 0, 2)) if self.batch_first else ys
        if steps == 0:
            return ember.zeros((batch, ys.shape[-1]), dtype=ys.dtype, backend=ys.backend,
                               device=ys.device)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        if valid is None:
            return ys[list(order)[-1]]
        last = ember.zeros_like(ys[0])
        per_step = ember.unstack(ember.expand_dims(valid, -1))
        for t in order:
            last = ember.where(per_step[t], ys[t], last)
        return last


class Bidirectional(Module):
    """A forward and a backward ``RNN`` over the same sequence, their outputs merged
    (``merge_mode`` ``"concat"`` on the feature axis, ``"sum"``, ``"mul"``, ``"ave"``, or None:
    the pair). The backward layer is ``backward_layer`` or a copy of ``layer``'s configuration
    with ``go_backwards`` flipped and fresh weights. ``initial_state`` is None or the pair
    ``(forward state, backward state)``; with ``return_state`` the result is
    ``(output, (forward state, backward state))``. Lengths and masks apply to both directions.

    >>> bi = ember_nn.Bidirectional(ember_nn.RNN(ember_nn.LSTMCell(3, 4), return_sequences=True))
    >>> bi(ember.ones((2, 5, 3))).shape
    (2, 5, 8)
    """

    def __init__(self, layer: RNN, *, merge_mode: str | None = "concat",
                 backward_layer: RNN | None = None) -> None:
        super().__init__()
        if not isinstance(layer, RNN):
            raise ConfigError(f"Bidirectional: layer must be an ember_nn.RNN, got "
                              f"{type(layer).__name__}")
        if merge_mode not in _MERGES:
            raise ConfigError(f"Bidirectional: merge_mode must be one of {list(_MERGES)}, got "
                              f"{merge_mode!r}")
        if backward_layer is None:
            cell_cfg = {k: v for k, v in layer.cell._config.items() if k != "key"}
            cell = type(layer.cell)(**cell_cfg)
            backward_layer = RNN(cell, return_sequences=layer.return_sequences,
                                 return_state=layer.return_state,
                                 go_backwards=not layer.go_backwards,
                                 batch_first=layer.batch_first)
        elif not isinstance(backward_layer, RNN):
            raise ConfigError(f"Bidirectional: backward_layer must be an ember_nn.RNN, got "
                              f"{type(backward_layer).__name__}")
        mine = (layer.return_sequences, layer.return_state, layer.batch_first)
        theirs = (backward_layer.return_sequences, backward_layer.return_state,
                  backward_layer.batch_first)
        if mine != theirs or layer.go_backwards == backward_layer.go_backwards:
            raise ConfigError(
                f"Bidirectional: the layers must agree on (return_sequences, return_state, "
                f"batch_first) and differ in go_backwards; got {mine} and {theirs}, "
                f"go_backwards {layer.go_backwards} and {backward_layer.go_backwards}")
        self.forward_layer = layer
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode

    def forward(self, x: Any, initial_state: Any = None, *, lengths: Any = None,
                mask: Any = None, timespans: Any = None) -> Any:
        fw_state: Any = None
        bw_state: Any = None
        if initial_state is not None:
            if not isinstance(initial_state, tuple | list) or len(initial_state) != 2:
                raise ember.ArgumentError(
                    "Bidirectional: initial_state must be None or the pair (forward state, "
                    f"backward state), got {type(initial_state).__name__}")
            fw_state, bw_state = initial_state
        kw = {"lengths": lengths, "mask": mask, "timespans": timespans}
        fw = self.forward_layer(x, fw_state, **kw)
        bw = self.backward_layer(x, bw_state, **kw)
        states: tuple[State, State] | None = None
        if self.forward_layer.return_state:
            (fw, sf), (bw, sb) = fw, bw
            states = (sf, sb)
        out: Any
        if self.merge_mode == "concat":
            out = ember.concat([fw, bw], axis=-1)
        elif self.merge_mode == "sum":
            out = fw + bw
        elif self.merge_mode == "mul":
            out = fw * bw
        elif self.merge_mode == "ave":
            out = (fw + bw) * 0.5
        else:
            out = (fw, bw)
        return (out, states) if states is not None else out
