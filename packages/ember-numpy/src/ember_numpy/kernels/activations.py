"""Fused NumPy versions of ember-core's softmax-family composites (same semantics, fewer
temporaries and no per-op dispatch): softmax, log_softmax, logsumexp, sigmoid."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["nn_log_softmax", "nn_logsumexp", "nn_sigmoid", "nn_softmax"]


_max_reduce = np.maximum.reduce


def _shift(x: np.ndarray, axis: Any) -> np.ndarray:
    """max over axis with non-finite maxima replaced by 0 (so all -inf slices stay -inf)."""
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, np.zeros((), x.dtype))


def nn_softmax(x: Any, axis: int) -> Any:
    # Without the finite-max guard: for softmax it changes no result (an all -inf slice is
    # NaN either way), and NumPy warns there, as plain NumPy code would.
    if x.size == 0:
        return np.exp(x)
    e = np.exp(x - _max_reduce(x, axis=axis, keepdims=True))
    return e / np.add.reduce(e, axis=axis, keepdims=True)


def nn_log_softmax(x: Any, axis: int) -> Any:
    if x.size == 0:
        return np.asarray(x) * 1
    s = x - _max_reduce(x, axis=axis, keepdims=True)
    return s - np.log(np.add.reduce(np.exp(s), axis=axis, keepdims=True))


def nn_logsumexp(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if x.size == 0:
        with np.errstate(divide="ignore"):  # log(0) = -inf over empty slices, by design
            return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    m = _shift(x, axis)
    out = np.log(np.add.reduce(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=tuple(range(x.ndim)) if axis is None else axis)
    return out


def nn_sigmoid(x: Any) -> Any:
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
