"""Tape semantics of the conformance kit: many tapes over the same variables, as a training loop
makes them, on every engine of the backend under test.

An engine may keep what it derives from a variable's array between tapes (torch: the leaf that
requires grad it tracks in the array's place); these tests check that a tape never sees a stale
value: after ``assign``, in nested and persistent tapes, for higher derivatives, and for a
variable read twice in one kernel call through each kind of recording kernel (one array, two
arrays, extra parameters). Outside a tape, ops on variables give plain values.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

import ember

__all__ = ["TapeAcrossSteps"]

E = ember
ENGINES = pytest.mark.parametrize("engine", ["auto", "generic"])


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.numpy())


class TapeAcrossSteps:
    """Each test runs with the backend under test as the default backend."""

    backend: ClassVar[str]

    @ENGINES
    def test_tape_steps_follow_assign(self, engine: str) -> None:
        w = E.Variable([1.0, -2.0, 3.0])
        for step in range(4):
            with E.GradientTape(engine=engine) as tape:
                y = E.sum(w * w * w)
            g = tape.gradient(y, w)
            want = 3 * _np(w) ** 2
            np.testing.assert_allclose(_np(g), want, rtol=1e-6, err_msg=f"step {step}")
            w.assign_sub(0.1 * g)

    @ENGINES
    def test_tape_steps_read_twice_in_one_call(self, engine: str) -> None:
        v = E.Variable([1.0, 2.0, 3.0])
        m = E.Variable([[1.0, 2.0], [3.0, 4.0]])
        for _ in range(2):  # the second step's tapes find the engine's state of the first
            with E.GradientTape(engine=engine) as tape:
                y = E.sum(v * v)  # a kernel (x1, x2), the same variable twice
            assert _np(tape.gradient(y, v)).tolist() == [2.0, 4.0, 6.0]
            with E.GradientTape(engine=engine) as tape:
                y = E.vecdot(v, v)  # two arrays and another parameter (axis)
            assert _np(tape.gradient(y, v)).tolist() == [2.0, 4.0, 6.0]
            with E.GradientTape(engine=engine) as tape:
                y = E.sum(E.sum(m, axis=0) * 3.0)  # one array and other parameters
            assert _np(tape.gradient(y, m)).tolist() == [[3.0, 3.0], [3.0, 3.0]]
            with E.GradientTape(engine=engine) as tape:
                y = E.sum(E.tensordot(m, m, axes=1))  # m @ m through tensordot
            mm = _np(m)
            want = np.ones((2, 2)) @ mm.T + mm.T @ np.ones((2, 2))
            np.testing.assert_allclose(_np(tape.gradient(y, m)), want, rtol=1e-6)

    @ENGINES
    def test_tape_steps_nested_higher_derivatives(self, engine: str) -> None:
        w = E.Variable(2.0)
        for value in (2.0, 3.0):
            w.assign(value)
            with E.GradientTape(engine=engine) as outer:
                with E.GradientTape(engine=engine) as inner:
                    y = w * w * w
                dy = inner.gradient(y, w)
            d2y = outer.gradient(dy, w)
            assert abs(dy.item() - 3 * value ** 2) < 1e-5
            assert abs(d2y.item() - 6 * value) < 1e-5

    @ENGINES
    def test_tape_steps_persistent_and_fresh_tapes(self, engine: str) -> None:
        w = E.Variable([1.0, 2.0])
        with E.GradientTape(persistent=True, engine=engine) as outer:
            a = E.sum(w * w)
            with E.GradientTape(engine=engine) as fresh:
                b = E.sum(w * 3.0)
            assert _np(fresh.gradient(b, w)).tolist() == [3.0, 3.0]
            c = E.sum(w * w * w)
        assert _np(outer.gradient(a, w)).tolist() == [2.0, 4.0]
        assert _np(outer.gradient(c, w)).tolist() == [3.0, 12.0]
        w.assign([2.0, 1.0])
        with E.GradientTape(engine=engine) as tape:
            a = E.sum(w * w)
        assert _np(tape.gradient(a, w)).tolist() == [4.0, 2.0]
        assert _np(outer.gradient(b, w)).tolist() == [3.0, 3.0]  # recorded by both tapes

    @ENGINES
    def test_tape_steps_ops_outside_tapes_are_plain(self, engine: str) -> None:
        w = E.Variable([1.0, 2.0])
        for _ in range(2):
            with E.GradientTape(engine=engine) as tape:
                y = E.sum(w * w)
            tape.gradient(y, w)
        z = w * 2.0  # outside any tape: a constant to the tapes after
        assert type(z) is E.Tensor and w.numpy().tolist() == [1.0, 2.0]
        with E.GradientTape(engine=engine) as tape:
            u = E.sum(z * w)
        assert _np(tape.gradient(u, w)).tolist() == [2.0, 4.0]
        with E.GradientTape(engine=engine) as tape:
            tape.watch(z)
            u = E.sum(z * w)
        gz, gw = tape.gradient(u, [z, w])
        assert (_np(gz).tolist(), _np(gw).tolist()) == ([1.0, 2.0], [2.0, 4.0])
