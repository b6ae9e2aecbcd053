"""Tape semantics of the conformance kit: a target that is a watched source (or an identity of
one) contributes its seed, as in TensorFlow, on every engine of the backend under test.

TensorFlow's rule: ``tape.gradient(x, x)`` is the seed (ones, or ``output_gradients``) when
the tape watches ``x``; the same holds for a target the tape reached only through ops that
return their input unchanged (``asarray``, ``astype`` to the same dtype, a full view), for a
trainable variable the tape read (Python's ``max`` over variables returns one of them), in
lists of targets, jacobians, persistent and nested tapes. ``stop_gradient`` is not an identity
to the tape, and a source the tape does not watch gives None.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

import ember

__all__ = ["TapeTargetsAreSources"]

E = ember
ENGINES = pytest.mark.parametrize("engine", ["auto", "generic"])


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.numpy())


_IDENTITIES = {
    "itself": lambda x: x,
    "asarray": lambda x: E.asarray(x),
    "astype_same_dtype": lambda x: x.astype(x.dtype),
    "reshape_same_shape": lambda x: E.reshape(x, x.shape),
    "full_view": lambda x: x[...],
}


class TapeTargetsAreSources:
    """Each test runs with the backend under test as the default backend (see TapeSemantics)."""

    backend: ClassVar[str]

    @ENGINES
    @pytest.mark.parametrize("identity", list(_IDENTITIES))
    def test_tape_target_is_watched_source(self, engine: str, identity: str) -> None:
        x = E.tensor([3.0, -1.0])
        with E.use_tape_engine(engine), E.GradientTape() as tape:
            tape.watch(x)
            y = _IDENTITIES[identity](x)
        g = tape.gradient(y, x)
        assert g is not None, f"gradient of {identity}(x) with respect to x is None"
        np.testing.assert_array_equal(_np(g), [1.0, 1.0])

    @ENGINES
    def test_tape_target_is_source_persistent_and_seeded(self, engine: str) -> None:
        x = E.tensor(3.0)
        with E.use_tape_engine(engine), E.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x * x
        assert tape.gradient(x, x).item() == 1.0
        assert tape.gradient(x, x, output_gradients=E.tensor(2.5)).item() == 2.5
        assert tape.gradient([x, y], x).item() == 7.0  # 1 + 2x
        assert tape.gradient({"a": x, "b": x}, x).item() == 2.0

    @ENGINES
    def test_tape_target_list_with_source(self, engine: str) -> None:
        x = E.tensor(2.0)
        with E.use_tape_engine(engine), E.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        assert tape.gradient([x, y], x).item() == 5.0

    @ENGINES
    def test_tape_target_source_unconnected_others(self, engine: str) -> None:
        x, z = E.tensor(3.0), E.tensor([1.0, 2.0])
        with E.use_tape_engine(engine), E.GradientTape(persistent=True) as tape:
            tape.watch([x, z])
        assert [None if g is None else g.item() for g in tape.gradient(x, [x, z])] == [1.0, None]
        gx, gz = tape.gradient(x, [x, z], unconnected_gradients="zero")
        assert gx.item() == 1.0
        np.testing.assert_array_equal(_np(gz), [0.0, 0.0])

    @ENGINES
    def test_tape_max_of_variables(self, engine: str) -> None:
        vs = [E.Variable(1.0), E.Variable(-2.0), E.Variable(5.0)]
        with E.use_tape_engine(engine), E.GradientTape() as tape:
            m = max(vs)  # Python's max: compares the variables (reads them), returns vs[2]
        assert m is vs[2]
        g = tape.gradient(m, vs)
        assert g[0] is None and g[1] is None and g[2] is not None and g[2].item() == 1.0

    @ENGINES
    def test_tape_variable_target(self, engine: str) -> None:
        v = E.Variable([1.0, 2.0])
        with E.use_tape_engine(engine), E.GradientTape(persistent=True) as tape:
            y = v * 3.0
        np.testing.assert_array_equal(_np(tape.gradient(v, v)), [1.0, 1.0])
        np.testing.assert_array_equal(_np(tape.gradient([v, y], v)), [4.0, 4.0])
        with E.use_tape_engine(engine), E.GradientTape() as tape:
            tape.watch(v)  # watched, never read
        np.testing.assert_array_equal(_np(tape.gradient(v, v)), [1.0, 1.0])
        with E.use_tape_engine(engine), E.GradientTape() as tape:
            pass  # neither read nor watched
        assert tape.gradient(v, v) is None

    @ENGINES
    def test_tape_target_not_watched_or_stopped(self, engine: str) -> None:
        x = E.tensor(3.0)
        with E.use_tape_engine(engine), E.GradientTape(persistent=True) as tape:
            s = E.stop_gradient(x)
        assert tape.gradient(x, x) is None  # not watched
        with E.use_tape_engine(engine), E.GradientTape() as tape:
            tape.watch(x)
            s = E.stop_gradient(x)  # a constant to the tape, not an identity
        assert tape.gradient(s, x) is None

    @ENGINES
    def test_tape_jacobian_of_source(self, engine: str) -> None:
        x = E.tensor([1.0, 2.0, 3.0])
        with E.use_tape_engine(engine), E.GradientTape(persistent=True) as tape:
            tape.watch(x)
        np.testing.assert_array_equal(_np(tape.jacobian(x, x)), np.eye(3))
        xb = E.tensor([[1.0, 2.0], [3.0, 4.0]])
        with E.use_tape_engine(engine), E.GradientTape() as tape:
            tape.watch(xb)
        np.testing.assert_array_equal(_np(tape.batch_jacobian(xb, xb)), [np.eye(2), np.eye(2)])

    @ENGINES
    def test_tape_nested_target_is_source(self, engine: str) -> None:
        x = E.tensor(3.0)
        with E.use_tape_engine(engine), E.GradientTape() as outer:
            outer.watch(x)
            with E.GradientTape() as inner:
                inner.watch(x)
                y = x * x * x
            g = inner.gradient([y, x], x)  # 3x^2 + 1
        assert g.item() == 28.0
        assert outer.gradient(g, x).item() == 18.0  # 6x
        with E.use_tape_engine(engine), E.GradientTape() as outer:
            outer.watch(x)
            with E.GradientTape() as inner:
                inner.watch(x)
            g = inner.gradient(x, x)  # the seed: a constant
        assert g.item() == 1.0
        h = outer.gradient(g, x)
        assert h is None
