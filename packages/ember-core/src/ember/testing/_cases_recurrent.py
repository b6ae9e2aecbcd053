"""Cases of the recurrent layers (``nn.rnn``, ``nn.lstm``, ``nn.gru``): each backend's kernel
(torch's fused ``torch.lstm``/``torch.gru``/``torch.rnn_*``) against the composite the NumPy
reference runs, with and without biases, an LSTM projection, variable lengths (zero included),
a mask, and both directions."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import Call, call, case

E = ember
F = (E.float32, E.float64)
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def recurrent_inputs(data: Any, d: Any, op: str, *, proj: bool = False
                     ) -> tuple[list[np.ndarray], dict[str, Any]]:
    """(positional arrays, keyword arguments) of one call of ``nn.<op>``: small random sizes,
    a time-major x, initial states, weights (biases and projection drawn), lengths or a mask
    or neither, and a direction. Shared with the gradient cases."""
    steps = data.draw(st.integers(0, 4), label="T")
    batch = data.draw(st.integers(1, 3), label="B")
    feat = data.draw(st.integers(1, 3), label="F")
    hidden = data.draw(st.integers(2, 4), label="H")
    out = data.draw(st.integers(1, hidden - 1), label="P") if proj else hidden
    g = _GATES[op] * hidden

    def a(*shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
        return S.arr(data, d, shape, lo, hi)

    x = a(steps, batch, feat, lo=-2.0, hi=2.0)
    states = [a(batch, out)] + ([a(batch, hidden)] if op == "lstm" else [])
    bias = data.draw(st.booleans(), label="bias")
    weights: list[Any] = [a(g, feat), a(g, out), a(g) if bias else None, a(g) if bias else None]
    if op == "lstm":
        weights.append(a(out, hidden) if proj else None)
    kw: dict[str, Any] = {"reverse": data.draw(st.booleans(), label="reverse")}
    how = data.draw(st.sampled_from(["all", "lengths", "mask"]), label="steps")
    if how == "lengths":
        kw["lengths"] = np.array(data.draw(st.lists(st.integers(0, steps), min_size=batch,
                                                    max_size=batch), label="lengths"), np.int64)
    elif how == "mask":
        kw["mask"] = S.arr(data, E.bool, (steps, batch))
    return [x, *states, *weights], kw


@case("nn.rnn", "tanh and relu", F, tol=10, examples=40)
def _rnn(data: Any, d: Any) -> Call:
    args, kw = recurrent_inputs(data, d, "rnn")
    kw["nonlinearity"] = data.draw(st.sampled_from(["tanh", "relu"]), label="nonlinearity")
    return call(*args, **kw)


@case("nn.lstm", "plain", F, tol=10, examples=40)
def _lstm(data: Any, d: Any) -> Call:
    args, kw = recurrent_inputs(data, d, "lstm")
    return call(*args, **kw)


@case("nn.lstm", "projection", F, tol=10, examples=30)
def _lstm_proj(data: Any, d: Any) -> Call:
    args, kw = recurrent_inputs(data, d, "lstm", proj=True)
    return call(*args, **kw)


@case("nn.gru", "plain", F, tol=10, examples=40)
def _gru(data: Any, d: Any) -> Call:
    args, kw = recurrent_inputs(data, d, "gru")
    return call(*args, **kw)
