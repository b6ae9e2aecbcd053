"""Namespace-level Array API checks of the kit (``__array_namespace_info__``, DLPack,
``to_device``, signatures): what data-apis/array-api-tests found missing, checked on the
backend under test. A mixin of :class:`ember.testing.BackendConformance`."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import pytest

import ember

__all__ = ["ArrayAPIChecks"]

E = ember
_KINDS = ("bool", "signed integer", "unsigned integer", "integral", "real floating",
          "complex floating", "numeric")
_DLPACK_DEVICE_TYPES = {1, 2, 3, 4, 7, 8, 9, 10, 13, 14}  # DLPack's DLDeviceType values


class ArrayAPIChecks:
    """Namespace-level Array API tests; the host class provides ``backend`` and ``_load``."""

    backend: ClassVar[str]

    def _info(self) -> Any:
        self._load()  # type: ignore[attr-defined]
        with E.use_backend(self.backend):
            return E.__array_namespace_info__()

    def test_namespace_of_a_tensor_is_its_backends(self) -> None:
        """``x.__array_namespace__()`` makes tensors on x's backend whatever the default is, so
        generic code (``xp = x.__array_namespace__(); xp.zeros(...) + x``) never mixes backends."""
        self._load()  # type: ignore[attr-defined]
        x = E.asarray([1.0, 2.0], backend=self.backend)
        other = next((b.name for b in E.backends() if b.loads and b.name != self.backend),
                     self.backend)
        with E.use_backend(other):
            xp = x.__array_namespace__()
            made = [xp.zeros(2), xp.asarray([3.0, 4.0]), xp.arange(2), xp.full((2,), 1.0),
                    xp.linspace(0.0, 1.0, 2), xp.eye(2)[0], xp.fft.fftfreq(2), xp.add(1.0, 2.0),
                    xp.random.uniform(0, (2,))]
            assert [t.backend for t in made] == [self.backend] * len(made)
            np.testing.assert_array_equal((xp.zeros(2) + x).numpy(), [1.0, 2.0])
            assert xp.__array_namespace_info__().devices() == self._info().devices()
            assert xp.zeros(2, backend=other).backend == other  # an explicit backend wins
        assert xp.__array_api_version__ == "2023.12"
        assert xp.float64 is E.float64 and xp.Tensor is E.Tensor

    def test_namespace_info(self) -> None:
        """capabilities, devices and default dtypes as the standard shapes them, and the
        defaults are what ember actually picks."""
        info = self._info()
        caps = info.capabilities()
        assert isinstance(caps["boolean indexing"], bool)
        assert isinstance(caps["data-dependent shapes"], bool)
        assert caps["max dimensions"] is None or caps["max dimensions"] > 0
        devices = info.devices()
        assert isinstance(devices, list) and devices
        assert info.default_device() in devices
        with E.use_backend(self.backend):
            picked = {
                "real floating": E.asarray(1.0).dtype, "complex floating": E.asarray(1j).dtype,
                "integral": E.asarray(1).dtype,
                "indexing": E.argmax(E.asarray([1.0, 2.0])).dtype,
            }
            assert E.zeros(2).device == info.default_device()
        for device in devices:
            assert info.default_dtypes(device=device) == picked
        with pytest.raises(E.ArgumentError):
            info.dtypes(device="no-such-device")

    def test_info_dtypes_are_the_backends(self) -> None:
        """Each device holds exactly the dtypes ``info.dtypes(device=...)`` lists: those make
        tensors of that dtype, the others of the standard raise UnsupportedError (a declared
        gap, never a silent other dtype); ``kind`` filters as ``isdtype`` does."""
        info = self._info()
        standard = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                    "uint64", "float32", "float64", "complex64", "complex128")
        with E.use_backend(self.backend):
            for device in info.devices():
                listed = info.dtypes(device=device)
                assert set(listed) <= set(standard), sorted(set(listed) - set(standard))
                for name in standard:
                    d = getattr(E, name)
                    if name in listed:
                        assert listed[name] is d
                        x = E.zeros((2,), dtype=d, device=device)
                        assert x.dtype is d and E.astype(x, d).dtype is d
                    else:
                        with pytest.raises(E.UnsupportedError):
                            E.zeros((2,), dtype=d, device=device)
                for kind in _KINDS:
                    got = info.dtypes(device=device, kind=kind)
                    assert got == {n: d for n, d in listed.items() if E.isdtype(d, kind)}
                both = info.dtypes(device=device, kind=("bool", "complex floating"))
                assert set(both) == {n for n in listed if n == "bool" or n.startswith("complex")}

    def test_to_device(self) -> None:
        info = self._info()
        with E.use_backend(self.backend):
            x = E.asarray([1.0, 2.5])
            for device in info.devices():
                y = x.to_device(device)
                assert y.to_device(info.default_device()).tolist() == [1.0, 2.5]
                assert y.dtype is x.dtype
            with pytest.raises(E.ArgumentError):
                x.to_device(info.default_device(), stream=1)

    def test_dlpack_protocol(self) -> None:
        """``__dlpack__`` takes the 2023.12 keywords, ``__dlpack_device__`` names a DLPack
        device, and NumPy and ember import the capsule with the same values."""
        info = self._info()
        with E.use_backend(self.backend):
            cpu = info.default_device().split(":")[0] == "cpu"
            for name, d in info.dtypes().items():
                x = E.asarray(np.arange(4).astype(name))
                kind, index = x.__dlpack_device__()
                assert int(kind) in _DLPACK_DEVICE_TYPES and isinstance(index, int)
                assert x.__dlpack__(max_version=(1, 0)) is not None
                if cpu:
                    assert x.__dlpack__(max_version=(1, 0), dl_device=(1, 0), copy=True)
                    np.testing.assert_array_equal(np.from_dlpack(x), x.numpy())
                for copy in (None, True, False):
                    y = E.from_dlpack(x, copy=copy)
                    assert y.dtype is d and y.tolist() == x.tolist()
            with pytest.raises(E.ArgumentError):
                E.from_dlpack([1, 2])

    def test_cross_device(self) -> None:
        """Between two devices (a GPU and the CPU): ``to_device`` and ``from_dlpack(device=)``
        move values; ``copy=False`` across devices is a ``CopyError`` (a ``BufferError``), for
        ``from_dlpack`` and for ``__dlpack__(dl_device=...)`` alike."""
        info = self._info()
        devices = info.devices()
        others = [d for d in devices if d.split(":")[0] != "cpu"]
        if "cpu" not in devices or not others:
            pytest.skip(f"{self.backend!r} has one kind of device here: {devices}")
        with E.use_backend(self.backend):
            for device in others:
                x = E.asarray([1.5, -2.0], device=device)
                assert x.device == device
                y = x.to_device("cpu")
                assert y.device == "cpu" and y.tolist() == [1.5, -2.0]
                assert y.to_device(device).device == device
                z = E.from_dlpack(x, device="cpu")
                assert z.device == "cpu" and z.tolist() == [1.5, -2.0]
                with pytest.raises(E.CopyError):
                    E.from_dlpack(x, device="cpu", copy=False)
                with pytest.raises(BufferError):
                    x.__dlpack__(dl_device=(1, 0), copy=False)

    def test_standard_signatures(self) -> None:
        """The signatures the standard gives (the suite's test_signatures)."""
        kw = inspect.Parameter.KEYWORD_ONLY
        p = inspect.signature(E.from_dlpack).parameters
        assert p["device"].kind is kw and p["copy"].kind is kw
        p = inspect.signature(E.expand_dims).parameters
        assert p["axis"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        p = inspect.signature(E.Tensor.__dlpack__).parameters
        assert all(p[n].kind is kw for n in ("stream", "max_version", "dl_device", "copy"))
        p = inspect.signature(E.Tensor.to_device).parameters
        assert p["device"].kind is inspect.Parameter.POSITIONAL_ONLY and p["stream"].kind is kw
        assert E.__array_api_version__ == "2023.12"

    def test_axis_out_of_range_is_index_error(self) -> None:
        """An axis outside the tensor's axes raises an ember error that is also an IndexError
        (as NumPy's AxisError is, and as the suite expects of expand_dims)."""
        self._load()  # type: ignore[attr-defined]
        with E.use_backend(self.backend):
            x = E.zeros((2, 3))
            for fn in (lambda: E.expand_dims(x, 3), lambda: E.expand_dims(x, axis=-4),
                       lambda: E.sum(x, axis=2), lambda: E.flip(x, axis=-3)):
                with pytest.raises(IndexError) as err:
                    fn()
                assert isinstance(err.value, E.ShapeError)
