"""Gradient checks of the conformance kit: tape gradients against central finite differences,
engines against the generic engine, second derivatives through nested tapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import ember

from ._compare import _bad
from ._grad_cases import GradCall

__all__ = ["fd_gradients", "loss_fn", "tape_gradients", "weights_for"]


def _leaves(out: Any) -> list[ember.Tensor]:
    if isinstance(out, ember.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    raise AssertionError(f"kit bug: gradient case returned {type(out).__name__}")


def weights_for(call: GradCall, backend: str, seed: int,
                dtype: Any = ember.float64) -> list[np.ndarray | None]:
    """Random cotangent weights, one array per floating-point output of the case."""
    xs = [_input(a, backend, dtype) for a in call.args]
    rng = np.random.default_rng(seed)
    ws: list[np.ndarray | None] = []
    for y in _leaves(call.fn(*xs)):
        if not y.dtype.is_inexact:
            ws.append(None)
            continue
        w = rng.uniform(-1, 1, y.shape)
        if y.dtype.is_complex:
            w = w + 1j * rng.uniform(-1, 1, y.shape)
        ws.append(w)
    return ws


def loss_fn(fn: Callable[..., Any], ws: list[np.ndarray | None]) -> Callable[..., ember.Tensor]:
    """x -> sum over outputs of sum(Re(y * conj(w))): a real scalar whose gradient is the VJP
    of fn with cotangents w (PyTorch's complex convention)."""

    def loss(*xs: ember.Tensor) -> ember.Tensor:
        total = None
        for y, w in zip(_leaves(fn(*xs)), ws):
            if w is None:
                continue
            wt = ember.asarray(w, backend=y.backend, dtype=y.dtype)
            term = y * ember.conj(wt) if y.dtype.is_complex else y * wt
            if y.dtype.is_complex:
                term = ember.real(term)
            s = ember.sum(term)
            total = s if total is None else total + s
        if total is None:
            raise AssertionError("kit bug: the case has no floating-point output")
        return total

    return loss


def tape_gradients(loss: Callable[..., ember.Tensor], args: tuple[np.ndarray, ...], backend: str,
                   dtype: Any, engine: str) -> list[np.ndarray]:
    """d loss / d args from a GradientTape on ``backend`` (inputs cast to ``dtype``)."""
    with ember.use_tape_engine(engine):
        xs = [_input(a, backend, dtype) for a in args]
        with ember.GradientTape() as tape:
            tape.watch(xs)
            value = loss(*xs)
        grads = tape.gradient(value, xs)
    return [_host_grad(g, x) for g, x in zip(grads, xs)]


def _input(a: np.ndarray, backend: str, dtype: Any) -> ember.Tensor:
    d = dtype
    if np.iscomplexobj(a):
        d = ember.complex128 if dtype is ember.float64 else ember.complex64
    return ember.asarray(a, backend=backend, dtype=d)


def _host_grad(g: ember.Tensor | None, x: ember.Tensor) -> np.ndarray:
    if g is None:
        return np.zeros(x.shape, dtype=np.complex128 if x.dtype.is_complex else np.float64)
    assert isinstance(g, ember.Tensor), f"gradient is {type(g).__name__}, not a tensor"
    assert g.shape == x.shape, f"gradient has shape {g.shape}, its source {x.shape}"
    assert g.dtype is x.dtype, f"gradient has dtype {g.dtype}, its source {x.dtype}"
    return np.asarray(g.numpy())


def fd_gradients(loss: Callable[..., ember.Tensor], args: tuple[np.ndarray, ...], backend: str,
                 h: float = 1e-6) -> list[np.ndarray]:
    """Central finite differences of a real scalar loss, in float64 (complex inputs: the real
    and imaginary parts in turn, giving dL/da + i dL/db)."""

    def value(vals: list[np.ndarray]) -> float:
        xs = [_input(v, backend, ember.float64) for v in vals]
        return float(loss(*xs).item())

    out = []
    for i, a in enumerate(args):
        grad = np.zeros(a.shape, dtype=a.dtype)
        parts = (1.0, 1j) if np.iscomplexobj(a) else (1.0,)
        for idx in np.ndindex(a.shape):
            for unit in parts:
                step = h * max(1.0, float(abs(a[idx])))
                vals = [v.copy() for v in args]
                vals[i][idx] = a[idx] + unit * step
                up = value(vals)
                vals[i][idx] = a[idx] - unit * step
                down = value(vals)
                grad[idx] += unit * (up - down) / (2 * step)
        out.append(grad)
    return out


def compare(actual: list[np.ndarray], expected: list[np.ndarray], rtol: float, atol: float,
            what: str) -> None:
    """Each gradient agrees within rtol, and atol scaled by the gradient's largest entry."""
    for i, (a, e) in enumerate(zip(actual, expected)):
        scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
        bad = _bad(np.asarray(a), np.asarray(e), rtol, atol * scale)
        if not bad.any():
            continue
        idx = [tuple(int(j) for j in k) for k in np.argwhere(bad)[:4]] if bad.ndim else [()]
        lines = "\n".join(f"    at {k}: got {a[k]!r}, expected {e[k]!r}" for k in idx)
        raise AssertionError(f"{what} of input {i}: {int(bad.sum())} of {bad.size} entries "
                             f"differ (rtol={rtol:g}, atol={atol * scale:g}):\n{lines}")


def second_loss(fn: Callable[..., Any], w: np.ndarray, v: np.ndarray,
                engine: str) -> Callable[..., ember.Tensor]:
    """x -> sum(v * d/dx sum(w * fn(x))): its gradient is the second derivative along w, v."""
    first = loss_fn(fn, [w])

    def loss(x: ember.Tensor) -> ember.Tensor:
        with ember.use_tape_engine(engine), ember.GradientTape() as tape:
            tape.watch(x)
            value = first(x)
        g = tape.gradient(value, x)
        return ember.sum(g * ember.asarray(v, backend=x.backend, dtype=x.dtype))

    return loss
