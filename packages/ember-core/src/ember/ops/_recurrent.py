"""Recurrent layers over a sequence: ``nn.rnn``, ``nn.lstm``, ``nn.gru``, one layer in one
direction each, with ``torch.nn``'s formulas and weight layouts.

The sequence loop below, written once in ember ops, is the reference and what a backend
without a kernel runs (the tapes differentiate it through its primitives); torch runs its fused
kernels (``torch.lstm``/``torch.gru``/``torch.rnn_tanh``/``torch.rnn_relu``, cuDNN on GPU),
which the conformance kit checks against it, forward and gradient.

Inputs are time-major: ``x`` is ``(T, B, F)``, the states ``(B, H)`` (``(B, P)`` for the
LSTM's ``h`` with a projection). Weights are laid out as torch's: ``w_ih`` ``(G * H, F)``,
``w_hh`` ``(G * H, H or P)``, biases ``(G * H,)``, with the gates stacked in torch's order
(LSTM ``i, f, g, o``; GRU ``r, z, n``; G = 4, 3, 1), and the LSTM projection ``w_hr``
``(P, H)``.

Variable lengths: ``lengths`` (``(B,)`` integers in ``[0, T]``, the valid steps of each
sequence, at its start) or ``mask`` (``(T, B)`` booleans, True where a step is valid). A
padded step leaves the state unchanged and gives a zero output, so the final states are those
after each sequence's last valid step: torch's ``pack_padded_sequence`` semantics. With
``reverse`` the steps run from ``T - 1`` down to 0 (the padded tail first, which changes
nothing), and ``outputs[t]`` is still the output at step ``t``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _dtypes as dt
from .._compile import compiling
from .._dispatch import backend_of, rebase
from .._errors import ArgumentError, DTypeError, ShapeError
from .._tensor import Tensor
from . import _elementwise as ew
from ._activations import _float, relu, sigmoid
from ._creation import arange, asarray, zeros
from ._dtypes import astype
from ._linalg import matmul, matrix_transpose
from ._manipulation import expand_dims, stack, unstack
from ._searching import where

__all__ = ["gru", "lstm", "rnn"]

T = Tensor
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


# -- argument checks -----------------------------------------------------------------------------
def _prepare(op: str, x: Any, states: list[Any], weights: list[Any], lengths: Any, mask: Any
             ) -> tuple[Any, Tensor, list[Tensor], list[Tensor | None], Tensor | None,
                        Tensor | None]:
    """The backend and the tensors of one call, checked and cast to x's floating dtype."""
    on = backend_of(op, x, *states, *weights, lengths, mask)
    x = rebase(on, _float(x))
    if x.ndim != 3:
        raise ShapeError(f"{op}: x must be a time-major (T, B, F) sequence, got shape {x.shape}")

    def floating(t: Any, what: str) -> Tensor | None:
        if t is None:
            return None
        t = rebase(on, t if isinstance(t, T) else asarray(t, backend=x._b, device=x.device))
        if t.dtype is not x.dtype:
            if t.dtype.kind not in "fiub":
                raise DTypeError(f"{op}: {what} has dtype {t.dtype}, x {x.dtype}: give real "
                                 f"floating tensors")
            t = astype(t, x.dtype)
        return t

    st = [floating(s, f"state {i}") for i, s in enumerate(states)]
    ws = [floating(w, f"weight {i}") for i, w in enumerate(weights)]
    if lengths is not None and mask is not None:
        raise ArgumentError(f"{op}: give lengths or mask, not both")
    steps, batch = x.shape[0], x.shape[1]
    lens = None
    if lengths is not None:
        lens = rebase(on, lengths if isinstance(lengths, T)
                      else asarray(lengths, backend=x._b, device=x.device))
        if lens.dtype.kind not in "iu" or lens.shape != (batch,):
            raise ShapeError(f"{op}: lengths must be (B,) = ({batch},) integers, got shape "
                             f"{lens.shape} of dtype {lens.dtype}")
        if not compiling():  # (one host read; a trace cannot read values)
            values = [int(v) for v in lens.tolist()]
            bad = [v for v in values if not 0 <= v <= steps]
            if bad:
                raise ArgumentError(f"{op}: lengths {values} must lie in [0, T] = [0, {steps}] "
                                    f"(the sequence has {steps} steps); out of range: {bad}")
    m = None
    if mask is not None:
        m = rebase(on, mask if isinstance(mask, T)
                   else asarray(mask, backend=x._b, device=x.device))
        if m.dtype is not dt.bool or m.shape != (steps, batch):
            raise ShapeError(f"{op}: mask must be (T, B) = ({steps}, {batch}) booleans, got "
                             f"shape {m.shape} of dtype {m.dtype}")
    return on, x, st, ws, lens, m  # type: ignore[return-value]


def _check(op: str, x: Tensor, states: list[Tensor], w_ih: Tensor, w_hh: Tensor,
           b_ih: Tensor | None, b_hh: Tensor | None, hidden: int, out: int,
           state_sizes: list[int]) -> None:
    """Shapes of the weights, biases and states against x and each other."""
    g = _GATES[op] * hidden
    feat, batch = x.shape[2], x.shape[1]
    if w_ih.shape != (g, feat):
        raise ShapeError(f"{op}: w_ih must be ({g}, F) = ({g}, {feat}) for x of shape {x.shape} "
                         f"and w_hh of shape {w_hh.shape}, got {w_ih.shape}")
    if w_hh.ndim != 2 or w_hh.shape != (g, out):
        raise ShapeError(f"{op}: w_hh must be ({g}, {out}) ({_GATES[op]} gates of {hidden} "
                         f"units), got {w_hh.shape}")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and b.shape != (g,):
            raise ShapeError(f"{op}: {name} must be ({g},), got {b.shape}")
    for i, (s, n) in enumerate(zip(states, state_sizes, strict=True)):
        if s.shape != (batch, n):
            raise ShapeError(f"{op}: initial state {i} must be (B, {n}) = ({batch}, {n}) for x "
                             f"of shape {x.shape}, got {s.shape}")


# -- the loop ------------------------------------------------------------------------------------
def _step_masks(x: Tensor, lengths: Tensor | None, mask: Tensor | None) -> list[Tensor] | None:
    """Per step, a (B, 1) boolean: True where the step is valid (None: all are)."""
    if lengths is None and mask is None:
        return None
    if mask is None:
        assert lengths is not None
        t = expand_dims(arange(x.shape[0], backend=x._b.root, device=x.device), axis=-1)
        mask = ew.less(t, expand_dims(astype(lengths, t.dtype), axis=0))
    return [expand_dims(m, axis=-1) for m in unstack(mask, axis=0)]


def _scan(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, state: list[Tensor],
          cell: Callable[[Tensor, list[Tensor]], tuple[Tensor, list[Tensor]]],
          masks: list[Tensor] | None, reverse: bool) -> tuple[Tensor, list[Tensor]]:
    """Run ``cell(x_t @ w_ih^T + b_ih, state) -> (y_t, state)`` over the steps; padded steps
    keep the state and give zeros. Returns the stacked outputs (T, B, *) and the last state."""
    steps = x.shape[0]
    if steps == 0:
        return zeros((0, x.shape[1], state[0].shape[1]), dtype=x.dtype, device=x.device,
                     backend=x._b.root), state
    proj = matmul(x, matrix_transpose(w_ih))
    if b_ih is not None:
        proj = ew.add(proj, b_ih)
    xs = unstack(proj, axis=0)
    ys: list[Tensor | None] = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        y, new = cell(xs[t], state)
        if masks is not None:
            m = masks[t]
            new = [where(m, n, s) for n, s in zip(new, state, strict=True)]
            y = where(m, y, 0.0)
        ys[t], state = y, new
    return stack(ys, axis=0), state


def _hh(h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    r = matmul(h, matrix_transpose(w_hh))
    return r if b_hh is None else ew.add(r, b_hh)


def _fused(on: Any, name: str) -> Any:
    return getattr(on.kernels, name)


def _none(t: Tensor | None) -> Any:
    return None if t is None else t._n


# -- the ops -------------------------------------------------------------------------------------
def rnn(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None, *,
        nonlinearity: str = "tanh", lengths: Any = None, mask: Any = None,
        reverse: bool = False) -> tuple[Tensor, Tensor]:
    """One layer of an Elman RNN (``torch.nn.RNN``'s layer): ``h_t = act(x_t w_ih^T + b_ih +
    h_{t-1} w_hh^T + b_hh)`` with ``act`` ``tanh`` or ``relu``. Returns ``(outputs (T, B, H),
    h_n (B, H))``. See the module docstring for lengths, mask and reverse.

    >>> x, h0 = ember.ones((5, 2, 3)), ember.zeros((2, 4))
    >>> y, h = ember.nn.rnn(x, h0, ember.ones((4, 3)) * 0.1, ember.ones((4, 4)) * 0.1)
    >>> y.shape, h.shape
    ((5, 2, 4), (2, 4))
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ArgumentError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    on, x, (h,), (wi, wh, bi, bh), lens, m = _prepare("rnn", x, [h0], [w_ih, w_hh, b_ih, b_hh],
                                                      lengths, mask)
    assert wi is not None and wh is not None
    hidden = wh.shape[0] if wh.ndim == 2 else -1
    _check("rnn", x, [h], wi, wh, bi, bh, hidden, hidden, [hidden])
    f = _fused(on, "nn_rnn")
    if f is not None and m is None and not (lens is not None and compiling()):
        y, hn = f(x._n, h._n, wi._n, wh._n, _none(bi), _none(bh), _none(lens), nonlinearity,
                  bool(reverse))
        return T(y, x._b), T(hn, x._b)
    return rnn_composite(x, h, wi, wh, bi, bh, lens, m, nonlinearity, reverse)


def lstm(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
         w_hr: Any = None, *, lengths: Any = None, mask: Any = None, reverse: bool = False
         ) -> tuple[Tensor, Tensor, Tensor]:
    """One layer of an LSTM (``torch.nn.LSTM``'s layer): gates ``i, f, g, o`` from
    ``x_t w_ih^T + b_ih + h_{t-1} w_hh^T + b_hh`` (sigmoid, sigmoid, tanh, sigmoid),
    ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``, then ``h_t w_hr^T`` with a projection.
    Returns ``(outputs (T, B, P or H), h_n, c_n (B, H))``.

    >>> x, h0, c0 = ember.ones((5, 2, 3)), ember.zeros((2, 4)), ember.zeros((2, 4))
    >>> y, h, c = ember.nn.lstm(x, h0, c0, ember.ones((16, 3)) * 0.1, ember.ones((16, 4)) * 0.1)
    >>> y.shape, h.shape, c.shape
    ((5, 2, 4), (2, 4), (2, 4))
    """
    on, x, (h, c), (wi, wh, bi, bh, wr), lens, m = _prepare(
        "lstm", x, [h0, c0], [w_ih, w_hh, b_ih, b_hh, w_hr], lengths, mask)
    assert wi is not None and wh is not None
    hidden = wi.shape[0] // 4 if wi.ndim == 2 else -1
    out = hidden
    if wr is not None:
        if wr.ndim != 2 or wr.shape[1] != hidden or not 0 < wr.shape[0] < hidden:
            raise ShapeError(f"lstm: w_hr must be (P, H) = (P, {hidden}) with 0 < P < H, got "
                             f"{wr.shape}")
        out = wr.shape[0]
    _check("lstm", x, [h, c], wi, wh, bi, bh, hidden, out, [out, hidden])
    f = _fused(on, "nn_lstm")
    # inside a trace the composite: torch's CPU LSTM kernel (aten.mkldnn_rnn_layer) has no
    # fake-tensor implementation, so a compiled step would fall back to eager
    if f is not None and m is None and not compiling():
        y, hn, cn = f(x._n, h._n, c._n, wi._n, wh._n, _none(bi), _none(bh), _none(wr),
                      _none(lens), bool(reverse))
        return T(y, x._b), T(hn, x._b), T(cn, x._b)
    return lstm_composite(x, h, c, wi, wh, bi, bh, wr, lens, m, reverse)


def gru(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None, *,
        lengths: Any = None, mask: Any = None, reverse: bool = False) -> tuple[Tensor, Tensor]:
    """One layer of a GRU (``torch.nn.GRU``'s layer): with ``a = x_t w_ih^T + b_ih`` and
    ``b = h_{t-1} w_hh^T + b_hh`` split into ``r, z, n`` parts, ``r = sigmoid(a_r + b_r)``,
    ``z = sigmoid(a_z + b_z)``, ``n = tanh(a_n + r b_n)``, ``h_t = (1 - z) n + z h_{t-1}``.
    Returns ``(outputs (T, B, H), h_n (B, H))``.

    >>> x, h0 = ember.ones((5, 2, 3)), ember.zeros((2, 4))
    >>> y, h = ember.nn.gru(x, h0, ember.ones((12, 3)) * 0.1, ember.ones((12, 4)) * 0.1)
    >>> y.shape, h.shape
    ((5, 2, 4), (2, 4))
    """
    on, x, (h,), (wi, wh, bi, bh), lens, m = _prepare("gru", x, [h0], [w_ih, w_hh, b_ih, b_hh],
                                                      lengths, mask)
    assert wi is not None and wh is not None
    hidden = wh.shape[1] if wh.ndim == 2 else -1
    _check("gru", x, [h], wi, wh, bi, bh, hidden, hidden, [hidden])
    f = _fused(on, "nn_gru")
    if f is not None and m is None and not (lens is not None and compiling()):
        y, hn = f(x._n, h._n, wi._n, wh._n, _none(bi), _none(bh), _none(lens), bool(reverse))
        return T(y, x._b), T(hn, x._b)
    return gru_composite(x, h, wi, wh, bi, bh, lens, m, reverse)


# -- the composites (also the VJP rules of the fused kernels: rules/recurrent.py) ---------------
def rnn_composite(x: Tensor, h: Tensor, wi: Tensor, wh: Tensor, bi: Tensor | None,
                  bh: Tensor | None, lengths: Tensor | None, mask: Tensor | None,
                  nonlinearity: str, reverse: bool) -> tuple[Tensor, Tensor]:
    """``nn.rnn`` on checked tensors, from primitives."""
    act = ew.tanh if nonlinearity == "tanh" else relu

    def cell(xt: Tensor, s: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        hn = act(ew.add(xt, _hh(s[0], wh, bh)))
        return hn, [hn]

    ys, (hn,) = _scan(x, wi, bi, [h], cell, _step_masks(x, lengths, mask), reverse)
    return ys, hn


def lstm_composite(x: Tensor, h: Tensor, c: Tensor, wi: Tensor, wh: Tensor, bi: Tensor | None,
                   bh: Tensor | None, wr: Tensor | None, lengths: Tensor | None,
                   mask: Tensor | None, reverse: bool) -> tuple[Tensor, Tensor, Tensor]:
    """``nn.lstm`` on checked tensors, from primitives."""
    H = wi.shape[0] // 4

    def cell(xt: Tensor, s: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        g = ew.add(xt, _hh(s[0], wh, bh))
        i, f = sigmoid(g[:, :H]), sigmoid(g[:, H:2 * H])
        gg, o = ew.tanh(g[:, 2 * H:3 * H]), sigmoid(g[:, 3 * H:])
        cn = ew.add(ew.multiply(f, s[1]), ew.multiply(i, gg))
        hn = ew.multiply(o, ew.tanh(cn))
        if wr is not None:
            hn = matmul(hn, matrix_transpose(wr))
        return hn, [hn, cn]

    ys, (hn, cn) = _scan(x, wi, bi, [h, c], cell, _step_masks(x, lengths, mask), reverse)
    return ys, hn, cn


def gru_composite(x: Tensor, h: Tensor, wi: Tensor, wh: Tensor, bi: Tensor | None,
                  bh: Tensor | None, lengths: Tensor | None, mask: Tensor | None,
                  reverse: bool) -> tuple[Tensor, Tensor]:
    """``nn.gru`` on checked tensors, from primitives."""
    H = wh.shape[1]

    def cell(xt: Tensor, s: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        hh = _hh(s[0], wh, bh)
        r = sigmoid(ew.add(xt[:, :H], hh[:, :H]))
        z = sigmoid(ew.add(xt[:, H:2 * H], hh[:, H:2 * H]))
        n = ew.tanh(ew.add(xt[:, 2 * H:], ew.multiply(r, hh[:, 2 * H:])))
        hn = ew.add(n, ew.multiply(z, ew.subtract(s[0], n)))  # (1 - z) n + z h
        return hn, [hn]

    ys, (hn,) = _scan(x, wi, bi, [h], cell, _step_masks(x, lengths, mask), reverse)
    return ys, hn
