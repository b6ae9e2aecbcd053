"""Tape semantics of the conformance kit: TensorFlow's GradientTape behaviour, one test each,
and the functional forms, on the backend under test (mixed into ``BackendConformance``)."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np
import pytest

import ember

from ._tape_suite_steps import TapeAcrossSteps
from ._tape_suite_targets import TapeTargetsAreSources

__all__ = ["TapeSemantics"]

E = ember


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.numpy())


class TapeSemantics(TapeTargetsAreSources, TapeAcrossSteps):
    """Each test runs with the backend under test as the default backend."""

    backend: ClassVar[str]

    @pytest.fixture(autouse=True)
    def _on_backend(self) -> Any:
        self._load()  # type: ignore[attr-defined]
        with E.use_backend(self.backend):
            yield

    # -- watching ------------------------------------------------------------------------------
    def test_tape_watch_tensor(self) -> None:
        x = E.tensor([1.0, -2.0, 3.0])
        with E.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        np.testing.assert_allclose(_np(tape.gradient(y, x)), [2.0, -4.0, 6.0])

    def test_tape_unwatched_tensor_gives_none(self) -> None:
        x = E.tensor(2.0)
        with E.GradientTape() as tape:
            y = x * x
        assert tape.gradient(y, x) is None

    def test_tape_watch_nested_structures(self) -> None:
        a, b, c = E.tensor(1.0), E.tensor(2.0), E.tensor(3.0)
        with E.GradientTape() as tape:
            tape.watch({"a": a, "bc": [b, (c,)]})
            y = a * b * c
        g = tape.gradient(y, {"a": a, "bc": [b, (c,)]})
        assert isinstance(g, dict) and isinstance(g["bc"], list) and isinstance(g["bc"][1], tuple)
        assert (g["a"].item(), g["bc"][0].item(), g["bc"][1][0].item()) == (6.0, 3.0, 2.0)

    def test_tape_variables_watched_when_read(self) -> None:
        w = E.Variable([1.0, 2.0], name="w")
        unused = E.Variable([5.0], name="unused")
        with E.GradientTape() as tape:
            y = E.sum(w * w)
        assert [v.name for v in tape.watched_variables()] == ["w"]
        assert tape.watched_variables()[0] is w
        np.testing.assert_allclose(_np(tape.gradient(y, w)), [2.0, 4.0])
        assert unused.trainable

    def test_tape_watch_accessed_variables_false(self) -> None:
        w = E.Variable([1.0, 2.0])
        with E.GradientTape(watch_accessed_variables=False) as tape:
            y = E.sum(w * 3.0)
        assert tape.gradient(y, w) is None and tape.watched_variables() == ()
        with E.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(w)
            y = E.sum(w * 3.0)
        np.testing.assert_allclose(_np(tape.gradient(y, w)), [3.0, 3.0])

    def test_tape_non_trainable_variable_not_watched(self) -> None:
        v = E.Variable([1.0], trainable=False)
        with E.GradientTape() as tape:
            y = E.sum(v * 2.0)
        assert tape.gradient(y, v) is None and tape.watched_variables() == ()

    def test_tape_variable_read_twice_accumulates(self) -> None:
        w = E.Variable(3.0)
        with E.GradientTape() as tape:
            y = w * 2.0 + E.sin(w)
        assert abs(tape.gradient(y, w).item() - (2.0 + np.cos(3.0))) < 1e-5

    def test_tape_variable_twice_in_one_call(self) -> None:
        a, b = E.Variable([1.0, 2.0]), E.Variable([3.0])
        with E.GradientTape() as tape:
            y = E.sum(E.concat([a, b, a]) ** 2) + E.sum(a * a)
        ga, gb = tape.gradient(y, [a, b])
        assert (_np(ga).tolist(), _np(gb).tolist()) == ([6.0, 12.0], [6.0])

    def test_tape_variable_assign_is_not_recorded(self) -> None:
        w = E.Variable(2.0)
        with E.GradientTape() as tape:
            w.assign_add(1.0)  # not differentiable: the value is now 3
            y = w * w
        assert w.item() == 3.0
        assert tape.gradient(y, w).item() == 6.0

    # -- gradient ------------------------------------------------------------------------------
    def test_tape_list_target_is_summed(self) -> None:
        x = E.tensor(2.0)
        with E.GradientTape() as tape:
            tape.watch(x)
            ys = [x * x, x * 3.0]
        assert tape.gradient(ys, x).item() == 7.0

    def test_tape_nonscalar_target_seeded_with_ones(self) -> None:
        x = E.tensor([1.0, 2.0])
        with E.GradientTape() as tape:
            tape.watch(x)
            y = E.stack([x * 2.0, x * x])
        np.testing.assert_allclose(_np(tape.gradient(y, x)), [4.0, 6.0])

    def test_tape_output_gradients(self) -> None:
        x = E.tensor([1.0, 2.0])
        with E.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        g = tape.gradient(y, x, output_gradients=E.tensor([10.0, -1.0]))
        np.testing.assert_allclose(_np(g), [20.0, -4.0])

    def test_tape_unconnected_none_and_zero(self) -> None:
        x, z = E.tensor([1.0, 2.0]), E.tensor([3.0])
        for ug, expect in (("none", None), ("zero", [0.0])):
            with E.GradientTape() as tape:
                tape.watch([x, z])
                y = E.sum(x)
            gx, gz = tape.gradient(y, [x, z], unconnected_gradients=ug)
            np.testing.assert_allclose(_np(gx), [1.0, 1.0])
            assert gz is None if expect is None else _np(gz).tolist() == expect

    def test_tape_integer_source_gives_none(self) -> None:
        i, x = E.tensor([1, 2]), E.tensor([1.0, 2.0])
        with E.GradientTape() as tape:
            with pytest.warns(UserWarning, match="no gradient"):
                tape.watch(i)
            tape.watch(x)
            y = E.sum(x * E.astype(i, E.float32))
        gi, gx = tape.gradient(y, [i, x])
        assert gi is None
        np.testing.assert_allclose(_np(gx), [1.0, 2.0])

    def test_tape_gradient_dtype_follows_source(self) -> None:
        for d in (E.float32, E.float64):
            try:
                x = E.tensor([1.0, 2.0], dtype=d)
            except E.UnsupportedError:
                continue
            with E.GradientTape() as tape:
                tape.watch(x)
                y = E.sum(E.exp(x))
            assert tape.gradient(y, x).dtype is d

    def test_tape_broadcasting_reductions_indexing_where(self) -> None:
        x = E.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
        b = E.tensor([1.0, 2.0, 3.0])
        with E.GradientTape() as tape:
            tape.watch([x, b])
            y = E.where(x > 0, x * b, -x)  # broadcasting b over rows, where
            y = E.sum(y[:, 1:], axis=0, keepdims=True) + y[0, 0]  # slicing, keepdims
        gx, gb = tape.gradient(y, [x, b])
        # y[0, 0] = x[0, 0] * b[0] is added to both entries of the (1, 2) target
        np.testing.assert_allclose(_np(gx), [[2.0, -1.0, 3.0], [0.0, 2.0, -1.0]])
        np.testing.assert_allclose(_np(gb), [2.0, 4.0, 3.0])

    def test_tape_stop_gradient(self) -> None:
        x = E.tensor(3.0)
        with E.GradientTape() as tape:
            tape.watch(x)
            y = x * E.stop_gradient(x)
        assert tape.gradient(y, x).item() == 3.0

    def test_tape_ops_after_exit_are_not_recorded(self) -> None:
        x = E.tensor(2.0)
        with E.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x * x
        z = y * 3.0  # after the tape: not recorded (TensorFlow returns None)
        assert tape.gradient(z, x) is None
        assert tape.gradient(y, x).item() == 4.0

    def test_tape_mixed_tracked_and_untracked(self) -> None:
        data = E.tensor([[1.0, 2.0], [3.0, 4.0]])
        w = E.Variable([[1.0], [-1.0]])
        with E.GradientTape() as tape:
            y = E.sum(data @ w)
        np.testing.assert_allclose(_np(tape.gradient(y, w)), [[4.0], [6.0]])

    # -- persistence, nesting, recording control -----------------------------------------------
    def test_tape_persistent_many_gradients(self) -> None:
        x = E.tensor(3.0)
        with E.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x * x
            z = y * y
        assert tape.gradient(z, x).item() == 108.0
        assert tape.gradient(y, x).item() == 6.0
        assert tape.gradient(z, y).item() == 18.0

    def test_tape_nested_second_and_third_derivatives(self) -> None:
        x = E.tensor(2.0)
        with E.GradientTape() as t3:
            t3.watch(x)
            with E.GradientTape() as t2:
                t2.watch(x)
                with E.GradientTape() as t1:
                    t1.watch(x)
                    y = x * x * x * x
                d1 = t1.gradient(y, x)
            d2 = t2.gradient(d1, x)
        d3 = t3.gradient(d2, x)
        assert (d1.item(), d2.item(), d3.item()) == (32.0, 48.0, 48.0)

    def test_tape_gradient_inside_context(self) -> None:
        x = E.tensor(2.0)
        with E.GradientTape() as tape:
            tape.watch(x)
            y = x * x
            g = tape.gradient(y, x)  # a non-persistent tape stops recording here
            z = y * 2.0
        assert g.item() == 4.0 and z.item() == 8.0

    def test_tape_persistent_gradient_inside_context_is_recorded(self) -> None:
        x = E.tensor(2.0)
        with E.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = x * x * x
            g = tape.gradient(y, x)  # recorded by the tape itself
        assert g.item() == 12.0
        assert tape.gradient(g, x).item() == 12.0

    def test_tape_stop_recording(self) -> None:
        x = E.tensor(2.0)
        with E.GradientTape() as tape:
            tape.watch(x)
            y = x * x
            with tape.stop_recording():
                c = y * 10.0  # a constant to the tape
            z = y + c
        assert tape.gradient(z, x).item() == 4.0

    def test_tape_reset(self) -> None:
        x = E.tensor(2.0)
        with E.GradientTape() as tape:
            tape.watch(x)
            y = x * x
            tape.reset()
            tape.watch(x)
            z = x * 3.0
        assert tape.gradient(z, x).item() == 3.0
        del y

    def test_tape_jacobian(self) -> None:
        x = E.tensor([1.0, 2.0])
        with E.GradientTape() as tape:
            tape.watch(x)
            y = E.stack([x[0] * x[1], E.sin(x[0]), x[1] * x[1]])
        j = tape.jacobian(y, x)
        assert j.shape == (3, 2)
        np.testing.assert_allclose(_np(j), [[2.0, 1.0], [np.cos(1.0), 0.0], [0.0, 4.0]], rtol=1e-6)

    def test_tape_jacobian_unconnected(self) -> None:
        x, z = E.tensor([1.0, 2.0]), E.tensor([5.0])
        with E.GradientTape(persistent=True) as tape:
            tape.watch([x, z])
            y = x * 2.0
        jx, jz = tape.jacobian(y, [x, z])
        np.testing.assert_allclose(_np(jx), [[2.0, 0.0], [0.0, 2.0]])
        assert jz is None
        assert _np(tape.jacobian(y, z, unconnected_gradients="zero")).shape == (2, 1)

    def test_tape_batch_jacobian(self) -> None:
        x = E.tensor([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5]])
        w = E.tensor([[1.0, 0.0, 2.0], [0.5, -1.0, 1.0]])
        with E.GradientTape() as tape:
            tape.watch(x)
            y = E.tanh(x @ w)
        bj = tape.batch_jacobian(y, x)
        assert bj.shape == (3, 3, 2)
        xs, ws = _np(x), _np(w)
        for i in range(3):
            expect = (1 - np.tanh(xs[i] @ ws) ** 2)[:, None] * ws.T
            np.testing.assert_allclose(_np(bj)[i], expect, rtol=1e-5, atol=1e-6)

    def test_tape_batch_jacobian_checks(self) -> None:
        x = E.tensor([[1.0, 2.0], [3.0, 4.0]])
        with E.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = E.sum(x, axis=1)
            z = E.concat([x, x])
        with pytest.raises(E.ShapeError, match="rank"):
            tape.batch_jacobian(y, x)
        with pytest.raises(E.ShapeError, match="batch"):
            tape.batch_jacobian(z, x)

    # -- errors --------------------------------------------------------------------------------
    def test_tape_error_second_gradient_non_persistent(self) -> None:
        x = E.tensor(1.0)
        with E.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        tape.gradient(y, x)
        with pytest.raises(E.TapeError, match="non-persistent"):
            tape.gradient(y, x)

    def test_tape_error_enter_while_recording(self) -> None:
        tape = E.GradientTape()
        with tape, pytest.raises(E.TapeError, match="already recording"):
            tape.__enter__()

    def test_tape_error_reset_or_stop_when_not_recording(self) -> None:
        tape = E.GradientTape()
        with tape:
            pass
        with pytest.raises(E.TapeError, match="recording"):
            tape.reset()
        with pytest.raises(E.TapeError, match="recording"), tape.stop_recording():
            pass

    def test_tape_error_unknown_unconnected_gradients(self) -> None:
        x = E.tensor(1.0)
        with E.GradientTape() as tape:
            tape.watch(x)
            y = x * 2.0
        with pytest.raises(E.ArgumentError, match="unconnected_gradients"):
            tape.gradient(y, x, unconnected_gradients="zeros")

    def test_tape_error_watch_non_tensor(self) -> None:
        with E.GradientTape() as tape, pytest.raises(E.ArgumentError, match="watch takes tensors"):
            tape.watch(3.0)

    def test_tape_error_target_none(self) -> None:
        x = E.tensor(1.0)
        with E.GradientTape() as tape:
            tape.watch(x)
        with pytest.raises(E.ArgumentError, match="target is None"):
            tape.gradient(None, x)

    # -- threads and engines -------------------------------------------------------------------
    def test_tape_is_local_to_its_thread(self) -> None:
        x = E.tensor(2.0)
        seen: list[Any] = []

        def other() -> None:
            with E.use_backend(self.backend):
                seen.append(x * x)  # not recorded by the tape of the main thread

        with E.GradientTape() as tape:
            tape.watch(x)
            t = threading.Thread(target=other)
            t.start()
            t.join()
        assert tape.gradient(seen[0], x) is None

    def test_tape_engines_agree_on_an_mlp(self) -> None:
        rng = np.random.default_rng(0)
        data = E.tensor(rng.standard_normal((8, 5)).astype(np.float32))
        ws = [rng.standard_normal(s).astype(np.float32) for s in ((5, 6), (6,), (6, 3), (3,))]
        got = {}
        for engine in ("auto", "generic"):
            params = [E.Variable(w) for w in ws]
            with E.use_tape_engine(engine), E.GradientTape() as tape:
                h = E.nn.relu(data @ params[0] + params[1])
                loss = E.mean(E.nn.log_softmax(h @ params[2] + params[3]) ** 2)
            got[engine] = [_np(g) for g in tape.gradient(loss, params)]
        for a, b in zip(got["auto"], got["generic"]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)

    # -- functional forms ----------------------------------------------------------------------
    def test_functional_grad_and_value_and_grad(self) -> None:
        def f(x: Any, y: Any) -> Any:
            return E.sum(E.sin(x) * y)

        x, y = E.tensor([0.0, 1.0]), E.tensor([2.0, 3.0])
        np.testing.assert_allclose(_np(E.grad(f)(x, y)), [2.0, 3.0 * np.cos(1.0)], rtol=1e-6)
        value, (_gx, gy) = E.value_and_grad(f, argnums=(0, 1))(x, y)
        assert abs(value.item() - 3.0 * np.sin(1.0)) < 1e-6
        np.testing.assert_allclose(_np(gy), [0.0, np.sin(1.0)], rtol=1e-6)
        (_v, aux), g = E.value_and_grad(lambda t: (E.sum(t * t), "aux"), has_aux=True)(x)
        assert aux == "aux" and _np(g).tolist() == [0.0, 2.0]
        with pytest.raises(E.ShapeError, match="scalar"):
            E.grad(lambda t: t * 2.0)(x)

    def test_functional_grad_unconnected_is_zero(self) -> None:
        g = E.grad(lambda a, b: E.sum(a * 2.0), argnums=1)(E.tensor([1.0]), E.tensor([4.0]))
        assert _np(g).tolist() == [0.0]

    def test_functional_second_order_grad(self) -> None:
        d2 = E.grad(E.grad(lambda t: t * t * t))(E.tensor(2.0))
        assert d2.item() == 12.0

    def test_functional_vjp_and_jvp(self) -> None:
        x = E.tensor([1.0, 2.0])

        def f(t: Any) -> Any:
            return E.stack([t[0] * t[1], t[1] * t[1]])

        out, back = E.vjp(f, x)
        (ct,) = back(E.tensor([1.0, 10.0]))
        np.testing.assert_allclose(_np(ct), [2.0, 1.0 + 40.0])
        out2, tangent = E.jvp(f, (x,), (E.tensor([1.0, 0.0]),))
        np.testing.assert_allclose(_np(out2), _np(out))
        np.testing.assert_allclose(_np(tangent), [2.0, 0.0])

    def test_functional_vmap(self) -> None:
        m = E.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        v = E.tensor([10.0, 1.0])
        np.testing.assert_allclose(_np(E.vmap(lambda r: E.sum(r * r))(m)), [5.0, 25.0, 61.0])
        np.testing.assert_allclose(_np(E.vmap(lambda r, s: r @ s, in_axes=(0, None))(m, v)),
                                   [12.0, 34.0, 56.0])
        np.testing.assert_allclose(_np(E.vmap(lambda c: c * 2.0, in_axes=1, out_axes=1)(m)),
                                   _np(m) * 2.0)
        per_example = E.vmap(E.grad(lambda r: E.sum(r ** 3)))(m)
        np.testing.assert_allclose(_np(per_example), 3.0 * _np(m) ** 2)
