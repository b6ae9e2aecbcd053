"""Backend settings (docs/semantics.md, "Settings"): default dtype, default device, matmul
precision, memory numbers and limits, on every installed backend."""

from __future__ import annotations

import json

import ember
import numpy as np
import pytest
from core_support import BACKENDS
from ember._cli import info


# -- default dtype ------------------------------------------------------------------------------
def test_set_default_dtype_process_wide(backend: str) -> None:
    try:
        ember.set_default_dtype(ember.float64)
        assert ember.get_default_dtype() is ember.float64
        x = ember.asarray([1.5, 1 / 3])
        assert x.dtype is ember.float64 and ember.asarray(1.5).dtype is ember.float64
        np.testing.assert_array_equal(x.numpy(), np.array([1.5, 1 / 3]))  # not via float32
        assert ember.zeros(2).dtype is ember.float64
        if ember.complex128 in ember.load_backend(backend).to_native_dtype:
            assert ember.asarray(2j).dtype is ember.complex128
        else:  # MLX: complex follows float64 to complex128, which it lacks
            with pytest.raises(ember.UnsupportedError, match="complex128"):
                ember.asarray(2j)
        with ember.settings(default_dtype="float32"):  # a scope inside wins
            assert ember.asarray(1.5).dtype is ember.float32
        assert ember.asarray(1.5).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.asarray(1.5).dtype is ember.float32
    assert ember.asarray(1j).dtype is ember.complex64


def test_explicit_dtype_and_tensor_dtypes_win(backend: str) -> None:
    """The setting is for values with no dtype: an explicit dtype and a tensor's own dtype win
    (a float32 tensor plus a Python float stays float32)."""
    x = ember.asarray([1.0, 2.0], dtype=ember.float32)
    with ember.settings(default_dtype=ember.float64):
        assert ember.zeros(2, dtype=ember.float32).dtype is ember.float32
        assert (x + 0.5).dtype is ember.float32
        assert ember.asarray([1, 2]).dtype is ember.int64
        assert ember.__array_namespace_info__().default_dtypes()["real floating"] is ember.float64


def test_default_dtype_the_backend_lacks() -> None:
    """Setting bfloat16 works everywhere; NumPy (no bfloat16) says so when a tensor is made."""
    if "numpy" not in BACKENDS:
        pytest.skip("numpy backend not installed")
    with (ember.use_backend("numpy"), ember.settings(default_dtype=ember.bfloat16),
          pytest.raises(ember.UnsupportedError, match="bfloat16")):
        ember.ones(2)


@pytest.mark.parametrize("bad", [ember.int32, "int64", ember.complex64, "float8", 3, None])
def test_bad_default_dtype(bad: object) -> None:
    with pytest.raises(ember.DTypeError, match=r"ember\.float64") as exc:
        ember.set_default_dtype(bad)
    assert repr(bad) in str(exc.value) or str(bad) in str(exc.value)
    with pytest.raises(ember.DTypeError), ember.settings(default_dtype=bad):
        pass
    assert ember.get_default_dtype() is ember.float32


# -- matmul precision ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["low", "HIGH", None, 1])
def test_bad_matmul_precision(bad: object) -> None:
    with pytest.raises(ember.ArgumentError, match="'highest', 'high', 'medium'") as exc:
        ember.set_matmul_precision(bad)  # type: ignore[arg-type]
    assert repr(bad) in str(exc.value)


def test_matmul_precision_reaches_torch() -> None:
    torch = pytest.importorskip("torch")
    if "torch" not in BACKENDS:
        pytest.skip("torch backend not installed")
    start = torch.get_float32_matmul_precision()
    with ember.use_backend("torch"):
        assert ember.get_matmul_precision() == start  # nothing set: torch's own
        with ember.settings(matmul_precision="high") as s:
            assert s.matmul_precision == "high"
            assert torch.get_float32_matmul_precision() == "high"
            with ember.settings(matmul_precision="medium"):
                assert torch.get_float32_matmul_precision() == "medium"
            assert torch.get_float32_matmul_precision() == "high"
        assert torch.get_float32_matmul_precision() == start
        try:
            ember.set_matmul_precision("medium")
            assert torch.get_float32_matmul_precision() == "medium"
            assert ember.get_matmul_precision() == "medium"
        finally:
            ember.set_matmul_precision("highest")
            torch.set_float32_matmul_precision(start)


def test_matmul_precision_kept_where_no_switch(backend: str) -> None:
    """NumPy and MLX have no switch: the value is kept and reported, results unchanged."""
    if backend == "torch":
        pytest.skip("torch has a switch (test_matmul_precision_reaches_torch)")
    a = ember.asarray(np.arange(6.0).reshape(2, 3), dtype=ember.float32)
    with ember.settings(matmul_precision="medium"):
        assert ember.get_matmul_precision() == "medium"
        np.testing.assert_array_equal((a @ a.mT).numpy(), [[5.0, 14.0], [14.0, 50.0]])
    assert ember.get_matmul_precision() == "highest"


# -- default device -----------------------------------------------------------------------------
def test_default_device(backend: str) -> None:
    b = ember.load_backend(backend)
    assert ember.get_default_device() == b.devices.default()
    try:
        ember.set_default_device("cpu")
        assert ember.get_default_device() == "cpu"
        x = ember.ones(3)
        assert x.device == "cpu"
        np.testing.assert_array_equal(x.numpy(), np.ones(3, np.float32))
    finally:
        ember.set_default_device(None)
    assert ember.get_default_device() == b.devices.default()
    with pytest.raises(ember.UnsupportedError, match=r"no device 'cuda:7'.*cpu"):
        ember.set_default_device("cuda:7")
    with pytest.raises(ember.ArgumentError, match="device name"):
        ember.set_default_device(0)  # type: ignore[arg-type]


def _accelerator(backend: str) -> str | None:
    names = ember.load_backend(backend).devices.names()
    return next((n for n in names if n != "cpu"), None)


def test_default_device_is_per_backend() -> None:
    """A device set for one backend leaves the others alone; a scope restores it; creation
    ops, asarray of Python data and random draws go there."""
    pairs = [(b, _accelerator(b)) for b in BACKENDS]
    pairs = [(b, d) for b, d in pairs if d is not None]
    if not pairs:
        pytest.skip("no backend has a device besides the CPU here")
    backend, device = pairs[0]
    with ember.use_backend(backend):
        with ember.settings(default_device=device) as s:
            assert s.default_device == ember.get_default_device()
            for x in (ember.zeros(2), ember.asarray([1.0, 2.0]),
                      ember.random.normal(ember.random.key(0), (3,))):
                assert x.device == s.default_device
            np.testing.assert_array_equal(ember.arange(3).numpy(), [0, 1, 2])
            for other in BACKENDS:
                if other != backend:
                    assert ember.get_default_device(backend=other) == \
                        ember.load_backend(other).devices.default()
        assert ember.zeros(2).device == ember.load_backend(backend).devices.default()


# -- memory -------------------------------------------------------------------------------------
def test_memory_info_grows_with_a_large_tensor(backend: str) -> None:
    """64 MiB of ones (written, so a process's resident memory counts them) shows up in
    ``current`` and ``peak``; ``reset_peak_memory`` starts the peak again."""
    n = 16 << 20  # float32 elements: 64 MiB
    before = ember.memory_info()
    assert before.backend == backend and before.current is not None and before.limit
    x = ember.ones((n,))
    assert float(ember.sum(x[:4])) == 4.0  # computed (MLX is lazy)
    during = ember.memory_info()
    assert during.current - before.current >= 0.9 * n * 4, (before, during)
    assert during.peak >= during.current
    del x
    ember.reset_peak_memory()
    after = ember.memory_info()
    assert after.peak < during.peak, (during, after)
    assert after.peak >= after.current


def test_memory_limit_mlx() -> None:
    if "mlx" not in BACKENDS:
        pytest.skip("mlx backend not installed")
    import mlx.core as mx

    start = mx.get_memory_limit()
    previous = ember.set_memory_limit(3 << 30, backend="mlx")
    try:
        assert previous == start
        assert mx.get_memory_limit() == 3 << 30
        assert ember.memory_info(backend="mlx").limit == 3 << 30
    finally:
        ember.set_memory_limit(previous, backend="mlx")
    assert mx.get_memory_limit() == start


@pytest.mark.parametrize("bad", [-1, 0, 1.5, True, "1GB"])
def test_bad_memory_limit(bad: object) -> None:
    with pytest.raises(ember.ArgumentError, match="positive number of bytes") as exc:
        ember.set_memory_limit(bad)  # type: ignore[arg-type]
    assert repr(bad) in str(exc.value)


def test_memory_limit_unsupported_names_backend() -> None:
    if "numpy" not in BACKENDS:
        pytest.skip("numpy backend not installed")
    with pytest.raises(ember.UnsupportedError, match="backend 'numpy'"):
        ember.set_memory_limit(1 << 30, backend="numpy")


# -- ember info ---------------------------------------------------------------------------------
def test_info_shows_settings_and_memory() -> None:
    with ember.settings(default_dtype=ember.float64, matmul_precision="high"):
        text = info()
        data = json.loads(info(as_json=True))
    assert "default dtype float64" in text and "matmul precision high" in text
    assert "memory (" in text and "current" in text
    assert data["settings"]["default_dtype"] == "float64"
    assert data["settings"]["matmul_precision"] == "high"
    assert data["settings"]["memory"]["current"] > 0
