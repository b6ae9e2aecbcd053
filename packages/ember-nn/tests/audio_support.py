"""Helpers the audio feature tests share: test signals and a finite-difference check."""

from __future__ import annotations

from collections.abc import Callable

import ember
import numpy as np


def signal(shape: tuple[int, ...], seed: int = 0, dtype: type = np.float32) -> np.ndarray:
    """A chirp plus noise in [-1, 1]: energy across the spectrum, no exact zeros."""
    rng = np.random.default_rng(seed)
    n = shape[-1]
    t = np.arange(n) / 16000.0
    chirp = np.sin(2 * np.pi * (200 + 3000 * t / max(t[-1], 1e-9)) * t)
    return (0.5 * chirp + 0.3 * rng.standard_normal(shape)).astype(dtype)


def tape_gradient(fn: Callable[[ember.Tensor], ember.Tensor], x: np.ndarray,
                  weights: np.ndarray) -> np.ndarray:
    """d/dx sum(fn(x) * weights) through ember.GradientTape on the current backend."""
    v = ember.Variable(ember.asarray(x))
    w = ember.asarray(weights)
    with ember.GradientTape() as tape:
        loss = ember.sum(fn(v) * w)
    return tape.gradient(loss, v).numpy()


def check_finite_differences(fn: Callable[[ember.Tensor], ember.Tensor], x: np.ndarray,
                             seed: int = 1, directions: int = 3, eps: float = 1e-6,
                             rtol: float = 1e-6) -> None:
    """The tape's gradient of ``sum(fn(x) * w)`` (``w`` random, float64) against central
    differences along random directions: ``<g, v> ~ (L(x + eps v) - L(x - eps v)) / 2 eps``."""
    rng = np.random.default_rng(seed)
    out = fn(ember.asarray(x)).numpy()
    weights = rng.standard_normal(out.shape)
    g = tape_gradient(fn, x, weights)

    def loss(z: np.ndarray) -> float:
        return float(np.sum(fn(ember.asarray(z)).numpy() * weights))

    for _ in range(directions):
        v = rng.standard_normal(x.shape)
        numeric = (loss(x + eps * v) - loss(x - eps * v)) / (2 * eps)
        analytic = float(np.sum(g * v))
        assert abs(numeric - analytic) <= rtol * max(1.0, abs(numeric)), (numeric, analytic)
