"""Cases of the optimiser updates (``nn.sgd_update``, ``nn.adam_update``,
``nn.rmsprop_update``): each backend's kernel (torch's fused/foreach kernels, MLX's compiled
function) against the composite the NumPy reference runs, over groups of 1-3 variables, every
structural variant (weight decay, momentum, Nesterov, dampening, decoupled decay, centring)
and lr/step given as numbers or as 0-d tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._cases import call, case

E = ember
FLOATS = (E.float16, E.float32, E.float64)


def _group(data: Any, d: Any, slots: int, positive: tuple[int, ...] = ()) -> list[list[Any]]:
    """[params, grads, slot lists...] of 1-3 variables of random shapes. A matrix's gradient
    may be laid out column-major (a transposed view, as a weight used through its transpose
    gets its gradient): a kernel must read it by its strides."""
    shapes = [S.shape(data, 0, 2, 1, 4) for _ in range(data.draw(st.integers(1, 3)))]
    lists: list[list[Any]] = []
    for k in range(2 + slots):
        lo = 0.0 if k - 2 in positive else -1.0
        lists.append([S.arr(data, d, s, lo, 1.0) for s in shapes])
    lists[1] = [np.ascontiguousarray(g.T).T
                if g.ndim == 2 and data.draw(st.booleans(), label="gradient column-major")
                else g for g in lists[1]]
    return lists


def _scalar(data: Any, value: float, name: str) -> Any:
    """``value`` as a number or as a 0-d float32 array (a tensor in the call)."""
    if data.draw(st.booleans(), label=f"{name} as a tensor"):
        return np.asarray(value, np.float32)
    return value


@case("nn.sgd_update", "variants", FLOATS, tol=10, examples=40)
def _sgd(data: Any, d: Any) -> Any:
    ps, gs, bufs = _group(data, d, 1)
    momentum = data.draw(st.sampled_from([0.0, 0.9]))
    nesterov = momentum != 0 and data.draw(st.booleans(), label="nesterov")
    dampening = 0.0 if nesterov else data.draw(st.sampled_from([0.0, 0.25]))
    slots: list[Any] | None = bufs
    if momentum == 0:
        slots = None
    elif data.draw(st.booleans(), label="first step"):
        slots = [None] * len(ps)
    return call(ps, gs, slots, lr=_scalar(data, 0.1, "lr"), momentum=momentum,
                dampening=dampening, nesterov=nesterov,
                weight_decay=data.draw(st.sampled_from([0.0, 0.01])))


@case("nn.adam_update", "variants", FLOATS, tol=10, examples=40)
def _adam(data: Any, d: Any) -> Any:
    ps, gs, ms, vs = _group(data, d, 2, positive=(1,))
    vs = [np.asarray(m * m + v, m.dtype) for m, v in zip(ms, vs)]  # v >= m * m, as in training
    step = data.draw(st.integers(1, 20), label="step")
    return call(ps, gs, ms, vs, lr=_scalar(data, 0.01, "lr"), step=_scalar(data, step, "step"),
                beta1=0.9, beta2=0.999, eps=1e-3 if d is E.float16 else 1e-8,
                weight_decay=data.draw(st.sampled_from([0.0, 0.1])),
                decoupled_weight_decay=data.draw(st.booleans(), label="decoupled"))


@case("nn.rmsprop_update", "variants", FLOATS, tol=10, examples=40)
def _rmsprop(data: Any, d: Any) -> Any:
    ps, gs, sqs, bufs, gas = _group(data, d, 3, positive=(0,))
    centered = data.draw(st.booleans(), label="centered")
    momentum = data.draw(st.sampled_from([0.0, 0.5]))
    if centered:  # sq >= ga * ga, as the update keeps it
        gas = [np.asarray(np.sqrt(s) * 0.5, s.dtype) for s in sqs]
    return call(ps, gs, sqs, bufs if momentum else None, gas if centered else None,
                lr=_scalar(data, 0.01, "lr"), alpha=0.99, eps=1e-2 if d is E.float16 else 1e-8,
                weight_decay=data.draw(st.sampled_from([0.0, 0.1])), momentum=momentum,
                centered=centered)
