"""ember-core's autodiff machinery beyond the kit's TensorFlow-behaviour tests: Variables, the
recording twin, engine choice and the errors of the functional forms (on every installed backend)."""

from __future__ import annotations

import subprocess
import sys

import ember
import numpy as np
import pytest


def test_variable_assign_checks_shape_dtype_and_backend(backend: str) -> None:
    v = ember.Variable([1.0, 2.0], name="v")
    v.assign([3.0, 4.0])
    assert v.tolist() == [3.0, 4.0] and v.dtype is ember.float32
    with pytest.raises(ember.ShapeError, match=r"shape \(3,\).*\(2,\)"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(ember.DTypeError, match="complex64"):
        v.assign(ember.tensor([1 + 1j, 2j]))
    v.assign(ember.tensor([5, 6]))  # ints fit float32 without loss
    assert v.tolist() == [5.0, 6.0] and v.dtype is ember.float32
    other = "numpy" if backend != "numpy" else next((b for b in ("torch", "mlx") if b in _names()), None)
    if other is not None:
        with pytest.raises(ember.BackendMismatchError, match=other):
            v.assign(ember.tensor([1.0, 2.0], backend=other))
    assert "name='v'" in repr(v) and "trainable=True" in repr(v)


def _names() -> list[str]:
    return [b.name for b in ember.backends(probe=False)]


def test_variable_never_shares_its_array(backend: str) -> None:
    t = ember.tensor([1.0, 2.0])
    v = ember.Variable(t)
    assert v.native is not t.native
    with ember.GradientTape() as tape:
        y = ember.sum(t * 2.0)  # using t is not a read of v
    assert tape.gradient(y, v) is None and tape.watched_variables() == ()


def test_stop_gradient_is_a_new_array_with_the_same_values(backend: str) -> None:
    x = ember.tensor([1.0, -2.0])
    s = ember.stop_gradient(x)
    assert s.native is not x.native and s.tolist() == x.tolist() and s.dtype is x.dtype


def test_untracked_ops_in_a_tape_stay_off_the_recording_twin(backend: str) -> None:
    a, x = ember.tensor([1.0]), ember.tensor([2.0])
    with ember.GradientTape() as tape:
        tape.watch(x)
        plain = a * 3.0
        tracked = x * 3.0
    root = ember.load_backend(backend)
    assert plain._b is root  # no recording cost for ops the tape does not track
    assert tracked._b is root.recording
    assert tape.gradient(tracked, x).tolist() == [3.0]


def test_variables_return_to_their_backend_after_the_tape(backend: str) -> None:
    v = ember.Variable([1.0])
    root = ember.load_backend(backend)
    with ember.GradientTape():
        assert v._b is root.recording
    assert v._b is root


def test_engine_choice(backend: str) -> None:
    root = ember.load_backend(backend)
    x = ember.tensor(2.0)
    for choice, expect in (("generic", "generic"), ("auto", None)):
        with ember.GradientTape(engine=choice) as tape:
            tape.watch(x)
            y = x * x
        engine = tape._engines[root]
        factory = root.hooks.tape_engine  # a factory (the engine module is imported on use)
        own = factory().name if factory is not None else "generic"
        assert engine.name == (expect or own)
        assert tape.gradient(y, x).item() == 4.0
    with pytest.raises(ember.ArgumentError, match="generic"):
        ember.GradientTape(engine="fast")
    with pytest.raises(ember.ArgumentError, match="generic"), ember.use_tape_engine("nope"):
        pass


def test_environment_forces_the_generic_engine() -> None:
    code = ("import ember; t = ember.GradientTape(); print(t._choice)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "EMBER_TAPE_ENGINE": "generic"})
    assert out.stdout.strip() == "generic"


def test_functional_argument_errors(backend: str) -> None:
    x = ember.tensor([1.0, 2.0])
    with pytest.raises(ember.ArgumentError, match="argnums"):
        ember.grad(lambda a: ember.sum(a), argnums=3)(x)
    with pytest.raises(ember.ArgumentError, match="tensors"):
        ember.grad(lambda a: a * 2.0)(3.0)
    with pytest.raises(ember.DTypeError, match="floating"):
        ember.grad(lambda a: ember.sum(ember.astype(a, ember.int32)))(x)
    with pytest.raises(ember.ShapeError, match="tangent"):
        ember.jvp(ember.sin, (x,), (ember.tensor([1.0]),))
    with pytest.raises(ember.ShapeError, match="sizes"):
        ember.vmap(lambda a, b: a * b)(x, ember.tensor([1.0, 2.0, 3.0]))


def test_gradient_through_an_op_without_a_rule_is_an_error(backend: str) -> None:
    x = ember.tensor([3.0, 1.0, 3.0])
    with ember.GradientTape() as tape:
        tape.watch(x)
        y = ember.sum(ember.unique_values(x) * 2.0)
    with pytest.raises(ember.EmberError, match="unique"):  # named by ember or by torch
        tape.gradient(y, x)


def test_tape_repr(backend: str) -> None:
    x = ember.tensor(1.0)
    with ember.GradientTape() as tape:
        tape.watch(x)
        assert "recording" in repr(tape)
        y = x * 2.0
    tape.gradient(y, x)
    assert "used" in repr(tape)


def test_gradients_agree_across_backends() -> None:
    """The same program on every installed backend gives the same gradients."""
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    x0 = rng.standard_normal((5, 3)).astype(np.float32)
    results = {}
    for name in _names():
        with ember.use_backend(name):
            w = ember.Variable(w0)
            with ember.GradientTape() as tape:
                loss = ember.mean(ember.nn.softmax(ember.tensor(x0) @ w, axis=-1) ** 2)
            results[name] = np.asarray(tape.gradient(loss, w).numpy())
    ref = results.pop("numpy", None)
    for name, g in results.items():
        if ref is not None:
            np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-7, err_msg=name)


def test_vmap_uses_the_backends_own_vmap(backend: str) -> None:
    """torch and MLX batch with their own vmap (fn traced once), whatever form the backend's
    tape_engine hook takes (a class, or a factory that imports the engine on first use); NumPy
    loops over the batch (fn called per row)."""
    calls = []

    def f(a):  # type: ignore[no-untyped-def]
        calls.append(1)
        return ember.sum(a * a)

    out = ember.vmap(f)(ember.reshape(ember.arange(12, dtype=ember.float32), (4, 3)))
    assert out.tolist() == [5.0, 50.0, 149.0, 302.0]
    assert len(calls) == (4 if backend == "numpy" else 1)
