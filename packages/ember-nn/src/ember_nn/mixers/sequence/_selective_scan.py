"""Mamba's selective scan (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective
State Spaces", Algorithm 2), as a plain function over ember ops: the zero-order-hold
discretisation of a diagonal state space model whose step ``dt``, input matrix ``B`` and output
matrix ``C`` depend on the input, run over the whole sequence with ``ember.nn.associative_scan``
(log depth), and its one-position form for decoding."""

from __future__ import annotations

from typing import Any

import ember

__all__ = ["selective_scan", "selective_step"]


def _combine(first: tuple[ember.Tensor, ember.Tensor],
             second: tuple[ember.Tensor, ember.Tensor]) -> tuple[ember.Tensor, ember.Tensor]:
    """Composition of two steps ``h -> a h + b`` (first, then second): the associative operator
    of a linear recurrence."""
    a1, b1 = first
    a2, b2 = second
    return a1 * a2, a2 * b1 + b2


def _check(x: ember.Tensor, dt: ember.Tensor, A: ember.Tensor, B: ember.Tensor,
           C: ember.Tensor) -> None:
    if x.ndim != 3 or dt.shape != x.shape:
        raise ember.ShapeError(f"selective_scan: x {x.shape} and dt {dt.shape} must both be "
                               f"(batch, length, d_inner)")
    d = x.shape[-1]
    if A.ndim != 2 or A.shape[0] != d:
        raise ember.ShapeError(f"selective_scan: A {A.shape} must be (d_inner, d_state) with "
                               f"d_inner = {d}")
    want = (*x.shape[:2], A.shape[1])
    if B.shape != want or C.shape != want:
        raise ember.ShapeError(f"selective_scan: B {B.shape} and C {C.shape} must both be "
                               f"(batch, length, d_state) = {want}")


def selective_scan(x: Any, dt: Any, A: Any, B: Any, C: Any, D: Any = None, z: Any = None, *,
                   initial_state: Any = None, return_state: bool = False) -> Any:
    """The selective scan ``y = SSM(A, B, C, dt)(x)`` of Mamba, over a whole sequence.

    With ``x``, ``dt`` ``(batch, length, d_inner)`` (``dt`` positive: Mamba passes
    ``softplus(dt_proj(...))``), ``A`` ``(d_inner, d_state)`` (negative), ``B``, ``C``
    ``(batch, length, d_state)``, per channel ``d`` and state ``n``::

        dA_t = exp(dt_t A)                    (zero-order hold of A)
        dBx_t = dt_t B_t x_t                  (Mamba's simplified hold of B)
        h_t = dA_t * h_{t-1} + dBx_t          (h_{-1} = initial_state, else 0)
        y_t = C_t . h_t + D x_t               (the skip D optional)
        y_t = y_t * silu(z_t)                 (the gate, where z is given)

    The recurrence runs as ``ember.nn.associative_scan`` of the pairs ``(dA_t, dBx_t)`` under
    ``(a1, b1), (a2, b2) -> (a1 a2, a2 b1 + b2)``: O(length · d_inner · d_state) work and
    memory, O(log length) depth, every factor ``dA`` in (0, 1] so nothing overflows. Returns
    ``y`` ``(batch, length, d_inner)``, and with ``return_state`` also the last state ``h``
    ``(batch, d_inner, d_state)``.

    >>> x = ember.ones((1, 4, 2)); dt = ember.full((1, 4, 2), 0.5)
    >>> A = -ember.ones((2, 1)); B = ember.ones((1, 4, 1)); C = ember.ones((1, 4, 1))
    >>> [round(v, 4) for v in selective_scan(x, dt, A, B, C)[0, :, 0].tolist()]
    [0.5, 0.8033, 0.9872, 1.0988]
    """
    x, dt, A, B, C = (e if isinstance(e, ember.Tensor) else ember.asarray(e)
                      for e in (x, dt, A, B, C))
    _check(x, dt, A, B, C)
    dt4 = dt[..., None]  # (batch, L, d, 1)
    dA = ember.exp(dt4 * A)  # (batch, L, d, n)
    dBx = (dt * x)[..., None] * B[:, :, None, :]
    if initial_state is not None:
        h0 = initial_state if isinstance(initial_state, ember.Tensor) else \
            ember.asarray(initial_state)
        if h0.shape != (x.shape[0], *A.shape):
            raise ember.ShapeError(f"selective_scan: initial_state {h0.shape} must be (batch, "
                                   f"d_inner, d_state) = {(x.shape[0], *A.shape)}")
        dBx = ember.concat([dBx[:, :1] + dA[:, :1] * h0[:, None], dBx[:, 1:]], axis=1)
    _, h = ember.nn.associative_scan(_combine, (dA, dBx), axis=1)
    y = ember.matmul(h, C[..., None])[..., 0]  # sum_n h[..., n] C[..., n], as one product
    y = _skip_and_gate(y, x, D, z)
    return (y, h[:, -1]) if return_state else y


def _skip_and_gate(y: ember.Tensor, x: ember.Tensor, D: Any, z: Any) -> ember.Tensor:
    if D is not None:
        y = y + x * D
    if z is not None:
        y = y * ember.nn.silu(z)
    return y


def selective_step(h: Any, x_t: Any, dt_t: Any, A: Any, B_t: Any, C_t: Any, D: Any = None,
                   z_t: Any = None) -> tuple[ember.Tensor, ember.Tensor]:
    """One position of :func:`selective_scan`: the state ``h`` ``(batch, d_inner, d_state)``
    before it, ``x_t``, ``dt_t``, ``z_t`` ``(batch, d_inner)``, ``B_t``, ``C_t``
    ``(batch, d_state)`` -> ``(y_t, h_t)``, ``h_t = exp(dt_t A) h + dt_t B_t x_t``."""
    h, x_t, dt_t, A, B_t, C_t = (e if isinstance(e, ember.Tensor) else ember.asarray(e)
                                 for e in (h, x_t, dt_t, A, B_t, C_t))
    dt3 = dt_t[..., None]
    h = ember.exp(dt3 * A) * h + dt3 * B_t[:, None, :] * x_t[..., None]
    y = ember.sum(h * C_t[:, None, :], axis=-1)
    return _skip_and_gate(y, x_t, D, z_t), h
