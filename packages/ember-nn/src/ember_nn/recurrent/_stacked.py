"""What ``SimpleRNN``/``LSTM``/``GRU`` and their cells share: torch.nn's parameter names,
shapes and initialisation (every weight and bias uniform in ``[-1/sqrt(H), 1/sqrt(H)]``), the
argument checks, and the multi-layer, bidirectional forward over ``ember.nn.rnn``/``lstm``/
``gru`` (one catalogue call per layer and direction: torch runs its fused kernels there).

Each subclass names its op (``_op``: "rnn", "lstm", "gru") and its gate count (``_gates``)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import ember

from .._core._errors import ConfigError
from .._core._module import Module
from .._core._random import next_key
from ..layers._support import brief_repr, layer_dtype, new_variable, positive_int
from ._cell import Cell, State

__all__ = ["_TorchCell", "_TorchLayer"]

_NONLINEARITIES = ("tanh", "relu")


def _uniform(bound: float) -> Any:
    def init(key: Any, shape: tuple[int, ...], dtype: ember.DType) -> ember.Tensor:
        return ember.random.uniform(key, shape, dtype, -bound, bound)
    return init


def _run(op: str, x: ember.Tensor, state: State, w: list[Any], nonlinearity: str,
         lengths: Any, mask: Any, reverse: bool) -> tuple[ember.Tensor, State]:
    """One layer in one direction over a time-major sequence: (outputs, final state)."""
    if op == "lstm":
        y, h, c = ember.nn.lstm(x, state[0], state[1], *w, lengths=lengths, mask=mask,
                                reverse=reverse)
        return y, (h, c)
    if op == "gru":
        y, h = ember.nn.gru(x, state[0], *w, lengths=lengths, mask=mask, reverse=reverse)
    else:
        y, h = ember.nn.rnn(x, state[0], *w, nonlinearity=nonlinearity, lengths=lengths,
                            mask=mask, reverse=reverse)
    return y, (h,)


class _TorchCell(Cell):
    """A one-step cell with torch.nn's ``RNNCell``/``LSTMCell``/``GRUCell`` parameters:
    ``weight_ih`` ``(G * hidden, input)``, ``weight_hh`` ``(G * hidden, hidden)``, ``bias_ih``
    and ``bias_hh`` ``(G * hidden,)``. Discrete-time: a timespan is refused."""

    _op: ClassVar[str]
    _gates: ClassVar[int]
    nonlinearity: str = "tanh"

    def __init__(self, input_size: int, hidden_size: int, *, bias: bool = True,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        self._build(input_size, hidden_size, bias, dtype, key)

    def extra_repr(self) -> str:
        return brief_repr(self)

    def _build(self, input_size: int, hidden_size: int, bias: bool, dtype: Any,
               key: Any) -> None:
        name = type(self).__name__
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.output_size = hidden_size
        self.state_sizes = (hidden_size,) * (2 if self._op == "lstm" else 1)
        d = layer_dtype(name, dtype)
        init = _uniform(1.0 / math.sqrt(hidden_size))
        keys = ember.random.split(next_key(key), 4)
        g = self._gates * hidden_size
        self.weight_ih = new_variable(name, init, keys[0], (g, input_size), d, "weight_ih")
        self.weight_hh = new_variable(name, init, keys[1], (g, hidden_size), d, "weight_hh")
        self.bias_ih = new_variable(name, init, keys[2], (g,), d, "bias_ih") if bias else None
        self.bias_hh = new_variable(name, init, keys[3], (g,), d, "bias_hh") if bias else None

    def _weights(self) -> list[Any]:
        w = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        return w + [None] if self._op == "lstm" else w

    def step(self, x_t: ember.Tensor, state: State, *, timespan: Any = None
             ) -> tuple[ember.Tensor, State]:
        if timespan is not None:
            raise ember.ArgumentError(f"{type(self).__name__} is a discrete-time cell: it takes "
                                      f"no timespan (got {timespan!r}); use a CfC or LTC cell "
                                      f"for irregularly sampled sequences")
        y, new = _run(self._op, ember.expand_dims(x_t, 0), state, self._weights(),
                      self.nonlinearity, None, None, False)
        return y[0], new

    def sequence(self, x: ember.Tensor, state: State, *, lengths: Any, mask: Any,
                 reverse: bool) -> tuple[ember.Tensor, State]:
        return _run(self._op, x, state, self._weights(), self.nonlinearity, lengths, mask,
                    reverse)


class _TorchLayer(Module):
    """A multi-layer recurrent layer with torch.nn's ``RNN``/``LSTM``/``GRU`` arguments,
    parameter names (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``,
    ``weight_hr_l{k}`` with a projection, ``..._reverse`` for the backward direction) and
    call: ``layer(x, hx=None, *, lengths=None, mask=None) -> (output, h_n)`` (``(output,
    (h_n, c_n))`` for the LSTM)."""

    _op: ClassVar[str]
    _gates: ClassVar[int]

    def _build(self, input_size: int, hidden_size: int, num_layers: int, nonlinearity: str,
               bias: bool, batch_first: bool, dropout: float, bidirectional: bool,
               proj_size: int, dtype: Any, key: Any) -> None:
        name = type(self).__name__
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.num_layers = positive_int(name, "num_layers", num_layers)
        if nonlinearity not in _NONLINEARITIES:
            raise ConfigError(f"{name}: nonlinearity must be 'tanh' or 'relu', got "
                              f"{nonlinearity!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not (
                0.0 <= dropout < 1.0):
            raise ConfigError(f"{name}: dropout must be a number in [0, 1), got {dropout!r} "
                              f"(the rate of the dropout between layers)")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or not (
                0 <= proj_size < hidden_size):
            raise ConfigError(f"{name}: proj_size must be an int in [0, hidden_size) = "
                              f"[0, {hidden_size}), got {proj_size!r}")
        self.nonlinearity = nonlinearity
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = proj_size
        d = layer_dtype(name, dtype)
        init = _uniform(1.0 / math.sqrt(hidden_size))
        out = proj_size or hidden_size
        dirs = 2 if bidirectional else 1
        g = self._gates * hidden_size
        keys = iter(ember.random.split(next_key(key), num_layers * dirs * 5 + 1))
        for layer in range(num_layers):
            width = input_size if layer == 0 else out * dirs
            for direction in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                shapes: list[tuple[str, tuple[int, ...]]] = [("weight_ih", (g, width)),
                                                             ("weight_hh", (g, out))]
                if bias:
                    shapes += [("bias_ih", (g,)), ("bias_hh", (g,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for base, shape in shapes:
                    setattr(self, base + sfx, new_variable(name, init, next(keys), shape, d,
                                                           base + sfx))
        self.dropout_key = next(keys)
        self.calls = 0

    def _layer_weights(self, layer: int, direction: int) -> list[Any]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        get = self.__dict__.get
        w = [get("weight_ih" + sfx), get("weight_hh" + sfx), get("bias_ih" + sfx),
             get("bias_hh" + sfx)]
        return w + [get("weight_hr" + sfx)] if self._op == "lstm" else w

    def forward(self, x: Any, hx: Any = None, *, lengths: Any = None, mask: Any = None) -> Any:
        name = type(self).__name__
        x = x if isinstance(x, ember.Tensor) else ember.asarray(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            lead = "(batch, steps, " if self.batch_first else "(steps, batch, "
            raise ember.ShapeError(
                f"{name}: input of shape {x.shape}; expected {lead}{self.input_size}) or "
                f"unbatched (steps, {self.input_size}) (input_size={self.input_size})")
        batched = x.ndim == 3
        if not batched and (lengths is not None or mask is not None):
            raise ember.ArgumentError(f"{name}: lengths and mask need a batched (3-d) input, "
                                      f"got shape {x.shape}")
        if not batched:
            x_tm = ember.expand_dims(x, 1)
        else:
            x_tm = ember.permute_dims(x, (1, 0, 2)) if self.batch_first else x
        steps, batch = x_tm.shape[0], x_tm.shape[1]
        if mask is not None:
            m = mask if isinstance(mask, ember.Tensor) else ember.asarray(
                mask, backend=x.backend, device=x.device)
            want = (batch, steps) if self.batch_first else (steps, batch)
            if m.dtype != ember.bool or m.shape != want:
                raise ember.ShapeError(f"{name}: mask must be booleans of shape {want} (the "
                                       f"input's first two axes), got shape {m.shape} of dtype "
                                       f"{m.dtype}")
            mask = ember.matrix_transpose(m) if self.batch_first else m
        states = self._initial(hx, x_tm, batched)
        dirs = 2 if self.bidirectional else 1
        finals: list[list[ember.Tensor]] = [[] for _ in states]
        inp = x_tm
        for layer in range(self.num_layers):
            ys = []
            for direction in range(dirs):
                k = layer * dirs + direction
                y, new = _run(self._op, inp, tuple(s[k] for s in states),
                              self._layer_weights(layer, direction), self.nonlinearity, lengths,
                              mask, bool(direction))
                ys.append(y)
                for f, s in zip(finals, new, strict=True):
                    f.append(s)
            inp = ys[0] if dirs == 1 else ember.concat(ys, axis=-1)
            if layer < self.num_layers - 1 and self.training and self.dropout > 0:
                inp = ember.nn.dropout(inp, self.dropout,
                                       ember.random.fold_in(self.dropout_key, self.calls))
                self.calls += 1
        out = inp
        if not batched:
            out = out[:, 0]
        elif self.batch_first:
            out = ember.permute_dims(out, (1, 0, 2))
        hn = [ember.stack(f) if batched else ember.stack(f)[:, 0] for f in finals]
        return (out, (hn[0], hn[1])) if self._op == "lstm" else (out, hn[0])

    def _initial(self, hx: Any, x_tm: ember.Tensor, batched: bool) -> list[ember.Tensor]:
        """The initial states, each (num_layers * directions, batch, size)."""
        name = type(self).__name__
        n = self.num_layers * (2 if self.bidirectional else 1)
        batch = x_tm.shape[1]
        sizes = [self.proj_size or self.hidden_size]
        if self._op == "lstm":
            sizes.append(self.hidden_size)
        if hx is None:
            return [ember.zeros((n, batch, s), dtype=x_tm.dtype, backend=x_tm.backend,
                                device=x_tm.device) for s in sizes]
        given = list(hx) if self._op == "lstm" and isinstance(hx, tuple | list) else [hx]
        wants = [(n, batch, s) if batched else (n, s) for s in sizes]
        if len(given) != len(sizes):
            raise ember.ArgumentError(f"{name}: hx must be {'(h_0, c_0)' if len(sizes) == 2 else 'one tensor'} "
                                      f"of shapes {wants}, got {type(hx).__name__}")
        out = []
        for g, want in zip(given, wants, strict=True):
            t = g if isinstance(g, ember.Tensor) else ember.asarray(
                g, backend=x_tm.backend, device=x_tm.device)
            if tuple(t.shape) != want:
                raise ember.ShapeError(f"{name}: hx must have shapes {wants} for an input of "
                                       f"{'batch ' + str(batch) if batched else 'no batch'}, got "
                                       f"{[tuple(getattr(v, 'shape', ())) for v in given]}")
            t = t if t.dtype == x_tm.dtype else ember.astype(t, x_tm.dtype)
            out.append(t if batched else ember.expand_dims(t, 1))
        return out
