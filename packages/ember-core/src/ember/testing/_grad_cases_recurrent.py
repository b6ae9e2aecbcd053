"""Gradient cases of the recurrent layers (``nn.rnn``, ``nn.lstm``, ``nn.gru``): the input,
the initial states and every weight are differentiated (through torch's fused kernel on torch,
the composite elsewhere; tanh RNNs: relu's kink at 0 is no place for finite
differences), with lengths, masks, projections and both directions."""

from __future__ import annotations

from typing import Any

import ember

from ._cases_recurrent import recurrent_inputs
from ._grad_cases import GradCall, grad_case, on

E = ember
N = E.nn


def _build(data: Any, op: str, proj: bool = False) -> GradCall:
    args, kw = recurrent_inputs(data, E.float64, op, proj=proj)
    if op == "rnn":  # (relu's kink at 0 is where hypothesis looks first: tanh only)
        kw["nonlinearity"] = "tanh"
    present = [i for i, a in enumerate(args) if a is not None]
    fn = getattr(N, op)
    consts = {k: v for k, v in kw.items() if k in ("lengths", "mask")}
    flags = {k: v for k, v in kw.items() if k not in consts}

    def run(*ts: Any) -> Any:
        full: list[Any] = [None] * len(args)
        for i, t in zip(present, ts, strict=True):
            full[i] = t
        extra = {k: on(ts[0], v) for k, v in consts.items()}
        return fn(*full, **extra, **flags)

    note = ", ".join(f"{k}={v.tolist() if hasattr(v, 'tolist') else v}" for k, v in kw.items())
    return GradCall(run, tuple(args[i] for i in present), note=note)


@grad_case("nn.rnn", examples=15)
def _rnn(data: Any) -> GradCall:
    return _build(data, "rnn")


@grad_case("nn.lstm", "plain", examples=15)
def _lstm(data: Any) -> GradCall:
    return _build(data, "lstm")


@grad_case("nn.lstm", "projection", examples=10)
def _lstm_proj(data: Any) -> GradCall:
    return _build(data, "lstm", proj=True)


@grad_case("nn.gru", examples=15)
def _gru(data: Any) -> GradCall:
    return _build(data, "gru")
