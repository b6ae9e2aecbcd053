"""The MLX engine's replay plan, kept per recording structure: reused when the structure repeats
(with the new step's constants), rebuilt when it changes; gradients always those of NumPy."""

from __future__ import annotations

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")

import ember  # noqa: E402
from ember_mlx import _gradient_engine as ge  # noqa: E402

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)


@pytest.fixture(autouse=True)
def _mlx():
    ge.clear_compiled()
    with ember.use_backend("mlx"):
        yield
    ge.clear_compiled()


def _grad(fn, x, *consts):
    xv = ember.Variable(ember.asarray(x))
    with ember.GradientTape() as tape:
        loss = fn(xv, *[ember.asarray(c) for c in consts])
    return np.array(tape.gradient(loss, xv).numpy()), float(loss)


def test_the_same_structure_reuses_its_plan_with_new_constants() -> None:
    def f(x, c):
        return ember.sum(ember.tanh(x * c))

    rng = np.random.default_rng(0)
    for step in range(4):  # compiled from the second time on: values still new each step
        c = rng.standard_normal(X.shape).astype(np.float32)
        g, loss = _grad(f, X, c)
        t = np.tanh(X * c)
        np.testing.assert_allclose(g, (1 - t * t) * c, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(loss, t.sum(), rtol=1e-5)
        assert len(ge._plans) == 1, step


def test_one_array_in_two_places_then_two_arrays() -> None:
    def f(x, a, b):
        return ember.sum(x * a + ember.sin(x) * b)

    a = np.full(X.shape, 2.0, np.float32)
    same = ember.asarray(a)
    xv = ember.Variable(ember.asarray(X))
    with ember.GradientTape() as tape:
        loss = f(xv, same, same)  # the same constant twice
    np.testing.assert_allclose(np.array(tape.gradient(loss, xv).numpy()),
                               a + np.cos(X) * a, rtol=1e-5)
    b = np.full(X.shape, -3.0, np.float32)
    for _ in range(3):  # the same structure with two different constants
        g, _ = _grad(f, X, a, b)
        np.testing.assert_allclose(g, a + np.cos(X) * b, rtol=1e-5)
    assert len(ge._plans) == 1


def test_a_changed_structure_gets_its_own_plan() -> None:
    g0, _ = _grad(lambda x: ember.sum(ember.sum(x, axis=0) ** 2), X)
    g1, _ = _grad(lambda x: ember.sum(ember.sum(x, axis=1) ** 2), X)  # a static argument
    np.testing.assert_allclose(g0, np.broadcast_to(2 * X.sum(0), X.shape), rtol=1e-5)
    np.testing.assert_allclose(g1, np.broadcast_to(2 * X.sum(1)[:, None], X.shape), rtol=1e-5)
    g2, _ = _grad(lambda x: ember.sum(ember.sum(x, axis=0) ** 2), X.astype(np.float16))
    assert g2.dtype == np.float16  # another dtype: another plan
    np.testing.assert_allclose(g2, g0, rtol=1e-2)
    g3, _ = _grad(lambda x: ember.sum(ember.sum(x, axis=0) ** 3), X)  # a static exponent
    np.testing.assert_allclose(g3, np.broadcast_to(3 * X.sum(0) ** 2, X.shape), rtol=1e-5)
    assert len(ge._plans) == 4
    g4, _ = _grad(lambda x: ember.sum(ember.sum(x, axis=0) ** 2), X)  # the first again
    np.testing.assert_allclose(g4, g0, rtol=1e-6)
    assert len(ge._plans) == 4


def test_replay_leaves_no_cycle_holding_the_forward_values():
    """A gradient leaves none of its arrays to the garbage collector: the replay once kept every
    forward value in a reference cycle (a closure calling itself), so an LTC step held GBs of
    MLX memory until the next collection."""
    import gc

    gc.collect()
    was = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        before = mx.get_active_memory()
        x = ember.Variable(ember.ones((256, 256)))
        for _ in range(2):  # the second one reuses the cached plan
            with ember.GradientTape() as tape:
                h = x
                for _ in range(4):
                    h = ember.tanh(h * 1.5)
                loss = ember.sum(h)
            g = tape.gradient(loss, x)
            mx.eval(g.native)
            del tape, h, loss, g
        held = mx.get_active_memory() - before
        gc.collect()
        arrays = sum(isinstance(o, mx.array) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was:
            gc.enable()
    assert arrays == 0, f"{arrays} MLX arrays of a gradient were left in reference cycles"
    assert held <= 2 * 256 * 256 * 4, f"{held} bytes of MLX memory held after the gradients"
