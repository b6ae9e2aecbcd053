"""Backend settings in the conformance kit (``docs/semantics.md``, "Settings"): the default
float dtype reaches every float-creating op, the matmul precision scope restores what it
changed, ``memory_info`` gives real numbers and ``set_memory_limit`` works or says the backend
has none. Mixed into :class:`ember.testing.BackendConformance`."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

import ember
from ember._backend import Backend

__all__ = ["SettingsChecks"]

E = ember
FLOATS = (E.float16, E.bfloat16, E.float32, E.float64)
_COMPLEX = {E.float64: E.complex128}

# op -> (thunk, the NumPy value it must give in float64, or None where it is random)
_CREATIONS: dict[str, tuple[Any, Any]] = {
    "asarray(scalar)": (lambda: E.asarray(1.5), np.float64(1.5)),
    "asarray(list)": (lambda: E.asarray([[0.25, -2.0]]), np.array([[0.25, -2.0]])),
    "asarray(mixed list)": (lambda: E.asarray([1, 2.5]), np.array([1.0, 2.5])),
    "zeros": (lambda: E.zeros((2, 3)), np.zeros((2, 3))),
    "ones": (lambda: E.ones(3), np.ones(3)),
    "empty": (lambda: E.empty(2), None),
    "full(float)": (lambda: E.full((2,), 0.75), np.full((2,), 0.75)),
    "eye": (lambda: E.eye(3, k=1), np.eye(3, k=1)),
    "linspace": (lambda: E.linspace(0, 1, 5), np.linspace(0, 1, 5)),
    "arange(float)": (lambda: E.arange(0.0, 1.0, 0.25), np.arange(0.0, 1.0, 0.25)),
    "int / int": (lambda: E.asarray([1, 3]) / E.asarray([2, 4]), np.array([0.5, 0.75])),
    "int + float": (lambda: E.asarray([1, 2]) + 0.5, np.array([1.5, 2.5])),
    "mean(int)": (lambda: E.mean(E.asarray([1, 2])), np.float64(1.5)),
    "sqrt(int)": (lambda: E.sqrt(E.asarray([4, 9])), np.array([2.0, 3.0])),
    "random.uniform": (lambda: E.random.uniform(E.random.key(0), (4,)), None),
    "random.normal": (lambda: E.random.normal(E.random.key(1), (4,)), None),
}


class SettingsChecks:
    """The settings checks (mixed into ``BackendConformance``)."""

    backend: ClassVar[str]

    def _load(self) -> Backend:  # overridden by BackendConformance
        return ember.load_backend(self.backend)

    def _has(self, b: Backend, d: ember.DType) -> bool:
        try:
            b.native_dtype(d)
        except ember.UnsupportedError:
            return False
        return True

    @pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
    def test_default_dtype_reaches_creation(self, dtype: ember.DType) -> None:
        """Under ``settings(default_dtype=d)`` every float-creating op gives ``d`` with NumPy's
        values (rounded to ``d``); a backend without ``d`` raises UnsupportedError when a tensor
        is made, never a silent float32."""
        b = self._load()
        with ember.use_backend(self.backend), ember.settings(default_dtype=dtype):
            assert ember.get_default_dtype() is dtype
            if not self._has(b, dtype):
                with pytest.raises(ember.UnsupportedError, match=dtype.name):
                    ember.asarray(1.5)
                return
            for name, (thunk, expected) in _CREATIONS.items():
                x = thunk()
                assert x.dtype is dtype, f"{name}: {x.dtype}, expected {dtype}"
                if expected is not None:
                    got = ember.astype(x, ember.float32).numpy().astype(np.float64)
                    want = np.asarray(expected, dtype=np.float64)  # exact in every float
                    np.testing.assert_allclose(got, want, rtol=0, atol=0, err_msg=name)
            cdt = _COMPLEX.get(dtype, ember.complex64)
            if self._has(b, cdt):
                assert ember.asarray(1j).dtype is cdt
        with ember.use_backend(self.backend):
            assert ember.asarray(1.5).dtype is ember.float32  # restored on exit

    def test_matmul_precision_scope(self) -> None:
        """The scope sets the precision and puts the previous one back; float32 matmuls stay
        within float32 tolerance of float64 under "highest"."""
        with ember.use_backend(self.backend):
            before = ember.get_matmul_precision()
            with ember.settings(matmul_precision="medium"):
                assert ember.get_matmul_precision() == "medium"
                with ember.settings(matmul_precision="highest"):
                    assert ember.get_matmul_precision() == "highest"
                    rng = np.random.default_rng(0)
                    a, c = rng.standard_normal((16, 16)), rng.standard_normal((16, 4))
                    got = (ember.asarray(a, dtype=ember.float32)
                           @ ember.asarray(c, dtype=ember.float32)).numpy()
                    np.testing.assert_allclose(got, a @ c, rtol=1e-4, atol=1e-4)
                assert ember.get_matmul_precision() == "medium"
            assert ember.get_matmul_precision() == before

    def test_memory_info(self) -> None:
        """Numbers in bytes where known, peak >= current, a limit above the current use."""
        b = self._load()
        info = ember.memory_info(backend=self.backend)
        assert info.backend == self.backend
        assert info.device == ember.get_default_device(backend=self.backend)
        for field in ("current", "peak", "limit", "cache"):
            value = getattr(info, field)
            assert value is None or (isinstance(value, int) and value >= 0), (field, value)
        if info.current is not None and info.peak is not None:
            assert info.peak >= info.current
        if info.limit is not None and info.current is not None:
            assert info.limit > info.current
        with pytest.raises(ember.UnsupportedError, match=b.name):
            ember.memory_info("no-such-device", backend=self.backend)

    def test_set_memory_limit(self) -> None:
        """Either the limit is set (memory_info reports it) and the previous one comes back, or
        an UnsupportedError names the backend."""
        b = self._load()
        if b.hooks.set_memory_limit is None:
            with pytest.raises(ember.UnsupportedError, match=repr(b.name)):
                ember.set_memory_limit(1 << 30, backend=self.backend)
            return
        try:
            previous = ember.set_memory_limit(1 << 30, backend=self.backend)
        except ember.UnsupportedError as exc:
            assert repr(b.name) in str(exc)
            return
        try:
            assert ember.memory_info(backend=self.backend).limit == 1 << 30
        finally:
            if previous is not None:
                ember.set_memory_limit(previous, backend=self.backend)
        if previous is not None:
            assert ember.memory_info(backend=self.backend).limit == previous
