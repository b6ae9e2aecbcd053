"""VJP rules of the fused recurrent kernels (``nn_rnn``, ``nn_lstm``, ``nn_gru``).

A fused kernel (torch's ``torch.lstm`` & co.) computes what ember-core's composite computes, so
its VJP is the composite's: each rule runs the composite again on the kernel's inputs under a
tape of the generic engine and returns that tape's cotangents (backpropagation through time,
step by step, with every primitive's own rule). It is itself recorded by any tape around it,
so higher derivatives work. Only the generic engine calls these rules: torch's own engine
differentiates its kernels natively.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...ops._creation import zeros_like
from ...ops._recurrent import gru_composite, lstm_composite, rnn_composite
from . import vjp


def _through(composite: Callable[..., Any], needs: Any, g: Any, out: Any,
             args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The cotangents of ``args`` (None for absent ones and those not needed) of
    ``composite(*args)`` with output cotangents ``g`` (None: zero)."""
    from .._engine import use_tape_engine
    from .._functional import vjp as _vjp

    wanted = [i for i, a in enumerate(args) if a is not None and needs[i]]
    if not wanted:
        return (None,) * len(args)

    def fn(*ts: Any) -> Any:
        full = list(args)
        for i, t in zip(wanted, ts, strict=True):
            full[i] = t
        return composite(*full)

    seeds = tuple(zeros_like(o) if c is None else c for c, o in zip(g, out, strict=True))
    with use_tape_engine("generic"):
        _, back = _vjp(fn, *(args[i] for i in wanted))
        grads = back(seeds)
    result: list[Any] = [None] * len(args)
    for i, gi in zip(wanted, grads, strict=True):
        result[i] = gi
    return tuple(result)


@vjp("nn_rnn", diff=(0, 1, 2, 3, 4, 5))
def _rnn(needs: Any, g: Any, out: Any, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any,
         b_hh: Any, lengths: Any, nonlinearity: str, reverse: bool) -> tuple[Any, ...]:
    return _through(lambda x, h, wi, wh, bi, bh: rnn_composite(
        x, h, wi, wh, bi, bh, lengths, None, nonlinearity, reverse), needs,
                    g, out, (x, h0, w_ih, w_hh, b_ih, b_hh))


@vjp("nn_lstm", diff=(0, 1, 2, 3, 4, 5, 6, 7))
def _lstm(needs: Any, g: Any, out: Any, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any,
          b_ih: Any, b_hh: Any, w_hr: Any, lengths: Any, reverse: bool) -> tuple[Any, ...]:
    return _through(lambda x, h, c, wi, wh, bi, bh, wr: lstm_composite(
        x, h, c, wi, wh, bi, bh, wr, lengths, None, reverse), needs, g, out,
                    (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr))


@vjp("nn_gru", diff=(0, 1, 2, 3, 4, 5))
def _gru(needs: Any, g: Any, out: Any, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any,
         b_hh: Any, lengths: Any, reverse: bool) -> tuple[Any, ...]:
    return _through(lambda x, h, wi, wh, bi, bh: gru_composite(
        x, h, wi, wh, bi, bh, lengths, None, reverse), needs, g, out,
                    (x, h0, w_ih, w_hh, b_ih, b_hh))
