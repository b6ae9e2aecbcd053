"""``ember.compile``: the backend's compiler where it has one, the same values everywhere."""

from __future__ import annotations

import os

import ember
import numpy as np
import pytest


def _adam_like(p, g, slots, c):  # type: ignore[no-untyped-def]
    m = slots["m"] + (g - slots["m"]) * c["b1"]
    v = slots["v"] * c["b2"] + g * g * (1 - c["b2"])
    return p - c["lr"] * m / (ember.sqrt(v) + 1e-8), {"m": m, "v": v}


def _skip_slow_torch(backend: str) -> None:
    if backend == "torch" and not os.environ.get("EMBER_SLOW"):
        pytest.skip("torch.compile takes ~30 s on a CPU: runs in `nox -s slow` (EMBER_SLOW=1)")


def test_compiled_function_gives_the_plain_values(backend: str) -> None:
    _skip_slow_torch(backend)
    rng = np.random.default_rng(0)
    p, g = (ember.asarray(rng.standard_normal((3, 4)).astype(np.float32)) for _ in range(2))
    slots = {"m": ember.zeros((3, 4)), "v": ember.ones((3, 4))}
    c = {k: ember.asarray(v, dtype=ember.float32) for k, v in
         {"b1": 0.1, "b2": 0.999, "lr": 0.01}.items()}
    fast = ember.compile(_adam_like)
    for _ in range(3):  # the second call and later reuse the compiled version
        want, want_slots = _adam_like(p, g, slots, c)
        got, got_slots = fast(p, g, slots, c)
        assert got.backend == backend and sorted(got_slots) == ["m", "v"]
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(got_slots["v"].numpy(), want_slots["v"].numpy(), rtol=1e-6)
        p, slots = got, got_slots


def test_constants_are_part_of_the_compiled_version(backend: str) -> None:
    _skip_slow_torch(backend)
    f = ember.compile(lambda x, k: x * k)
    x = ember.ones((2,))
    assert f(x, 2.0).tolist() == [2.0, 2.0] and f(x, 3.0).tolist() == [3.0, 3.0]


def test_a_recording_tape_sees_every_op(backend: str) -> None:
    f = ember.compile(lambda x: ember.sum(ember.sin(x) * x))
    x = ember.Variable([0.5, 1.0])
    with ember.GradientTape() as tape:
        y = f(x)
    xs = np.array([0.5, 1.0])
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), np.cos(xs) * xs + np.sin(xs),
                               rtol=1e-5)


def test_a_compiled_function_must_return_tensors(backend: str) -> None:
    _skip_slow_torch(backend)
    if ember.load_backend(backend).hooks.compiler is None:
        pytest.skip(f"{backend} has no compiler: functions run as they are")
    with pytest.raises(ember.EmberError, match="must return tensors only"):
        ember.compile(lambda x: (x, "label"))(ember.ones((2,)))
    with pytest.raises(ember.ArgumentError, match="expected a function"):
        ember.compile(3)  # type: ignore[arg-type]


def test_stats_count_one_trace_per_input_shape(backend: str) -> None:
    _skip_slow_torch(backend)
    f = ember.compile(lambda x: ember.sin(x) * 2.0)
    for n in (2, 2, 3, 3, 2):
        x = ember.arange(n, dtype=ember.float32)
        np.testing.assert_allclose(f(x).numpy(), np.sin(np.arange(n, dtype=np.float32)) * 2,
                                   rtol=1e-6)
    compiles = ember.load_backend(backend).hooks.compiler is not None
    assert f.stats.traces == (2 if compiles else 0)  # type: ignore[attr-defined]
    assert f.stats.calls == (5 if compiles else 0)  # type: ignore[attr-defined]
    assert f.stats.fallback is None  # type: ignore[attr-defined]


def test_a_host_read_falls_back_with_a_warning_naming_the_reason(backend: str) -> None:
    _skip_slow_torch(backend)
    if ember.load_backend(backend).hooks.compiler is None:
        pytest.skip(f"{backend} has no compiler: functions run as they are")

    def scaled(x):  # type: ignore[no-untyped-def]
        return x * float(ember.max(x))  # reads a value on the host: not compilable

    f = ember.compile(scaled)
    with pytest.warns(ember.CompileWarning, match="could not compile .*scaled.* uncompiled"):
        assert f(ember.asarray([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert f.stats.fallback  # type: ignore[attr-defined]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ember.CompileWarning)  # warned once, then plain
        assert f(ember.asarray([1.0, 3.0])).tolist() == [3.0, 9.0]


def test_compiling_is_true_only_while_the_backend_traces(backend: str) -> None:
    _skip_slow_torch(backend)
    seen: list[bool] = []

    def f(x):  # type: ignore[no-untyped-def]
        seen.append(ember.compiling())
        return x + 1.0

    g = ember.compile(f)
    g(ember.ones((2,)))
    g(ember.ones((2,)))
    compiles = ember.load_backend(backend).hooks.compiler is not None
    assert seen == ([True] if compiles else [False, False])
    assert ember.compiling() is False
