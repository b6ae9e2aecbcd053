"""``compile_step`` and ``ember.compile`` on CUDA, where torch's compiled graph is captured as a
CUDA graph: the numbers of the eager step, inputs untouched, outputs valid after the next call,
and ``EMBER_TORCH_CUDA_GRAPHS=0`` turning the capture off. Needs a CUDA GPU (CI has none: these
run on the GPU machine, see ``docs/benchmarks.md``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import ember
import ember_nn
import numpy as np
import pytest
from optim_support import training_step

torch = pytest.importorskip("torch")
pytest.importorskip("ember_torch")
if not torch.cuda.is_available():
    pytest.skip("needs a CUDA GPU", allow_module_level=True)

from ember_torch import _compiler  # noqa: E402


@pytest.fixture
def captures() -> Callable[[], int]:
    """How many CUDA graphs the test has captured so far."""
    start = _compiler.CapturedGraph.count
    return lambda: _compiler.CapturedGraph.count - start


def test_compiled_function_outputs_stay_valid(captures: Callable[[], int]) -> None:
    with ember.use_backend("torch"):
        f = ember.compile(lambda a, b: (a * 2 + b, ember.sum(a)))
        a1 = ember.asarray(np.arange(4, dtype=np.float32), device="cuda")
        b1 = ember.ones((4,), device="cuda")
        first, total = f(a1, b1)
        a2 = ember.asarray(np.full(4, 10, dtype=np.float32), device="cuda")
        second, _ = f(a2, b1)
        np.testing.assert_array_equal(first.numpy(), [1, 3, 5, 7])  # not overwritten by call 2
        np.testing.assert_array_equal(second.numpy(), [21, 21, 21, 21])
        np.testing.assert_array_equal(a1.numpy(), [0, 1, 2, 3])  # inputs untouched
        assert float(total) == 6.0
    assert captures() == 1  # one signature, one capture, replayed


def test_a_replay_reads_its_constants_after_the_allocator_reused_memory(
        captures: Callable[[], int]) -> None:
    """A host table in the function is folded onto the GPU before capture, and the CUDA graph
    reads it by address: after many tensors are allocated, filled with NaN and freed, a replay
    still reads the table (the compiled graph that owns it was freed after the capture before
    ``CapturedGraph`` kept it, and its memory was handed out again)."""
    import gc

    table = np.arange(64, dtype=np.float32)
    with ember.use_backend("torch"):
        f = ember.compile(lambda a: a * ember.asarray(table, device=a.device))
        x = ember.ones((64,), device="cuda")
        first = f(x).numpy()
        gc.collect()
        junk = [torch.full((n,), float("nan"), device="cuda")
                for n in (16, 64, 256, 1024, 4096) for _ in range(2000)]
        del junk
        gc.collect()
        second = f(x).numpy()
    np.testing.assert_array_equal(first, table)
    np.testing.assert_array_equal(second, table)
    assert captures() == 1


def _train(compiled: bool, steps: int = 6) -> tuple[list[float], list[np.ndarray]]:
    with ember.use_backend("torch"), ember_nn.seeded(0):
        model = ember_nn.Sequential(ember_nn.Dense(6, 32), ember_nn.GELU(),
                                    ember_nn.LayerNorm(32), ember_nn.Dense(32, 3))
        model.to(device="cuda")
        opt = ember_nn.optim.AdamW(1e-2, weight_decay=0.1)

        def loss_fn(x, y):  # type: ignore[no-untyped-def]
            return ember.mean((model(x) - y) ** 2)

        rng = np.random.default_rng(1)
        batches = [(ember.asarray(rng.standard_normal((16, 6)).astype(np.float32), device="cuda"),
                    ember.asarray(rng.standard_normal((16, 3)).astype(np.float32), device="cuda"))
                   for _ in range(steps)]
        step = training_step(model, loss_fn, opt, compiled)
        losses = [step(x, y) for x, y in batches]  # read after all steps: none overwritten
        return [float(v) for v in losses], [v.numpy() for v in model.variables]


def test_compile_step_replays_the_eager_numbers(captures: Callable[[], int]) -> None:
    eager_losses, eager_weights = _train(False)
    losses, weights = _train(True)
    assert captures() == 1
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-4, atol=1e-6)
    for w, e in zip(weights, eager_weights, strict=True):
        np.testing.assert_allclose(w, e, rtol=1e-4, atol=1e-5)


def test_capture_can_be_turned_off(captures: Callable[[], int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_TORCH_CUDA_GRAPHS", "0")
    eager_losses, _ = _train(False, steps=3)
    losses, _ = _train(True, steps=3)
    assert captures() == 0
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-4, atol=1e-6)


def test_host_constants_are_captured(captures: Callable[[], int]) -> None:
    """A table built with NumPy inside the compiled function (a constant of the traced graph,
    copied to the GPU there) and Python scalars do not stop the capture."""
    table = np.linspace(-1.0, 1.0, 8, dtype=np.float32)
    with ember.use_backend("torch"), warnings.catch_warnings():
        warnings.simplefilter("error", ember.CompileWarning)
        f = ember.compile(lambda a: a * ember.asarray(table, device=a.device) * 0.5 + 3.0)
        for k in range(3):
            a = ember.asarray(np.full(8, k, dtype=np.float32), device="cuda")
            np.testing.assert_allclose(f(a).numpy(), k * table * 0.5 + 3.0, rtol=1e-6)
    assert captures() == 1
