"""``Tensor.tobytes`` / ``ember.frombuffer``: every dtype round trips on every backend, in the
layout NumPy (and safetensors) write, through the backend's own hooks and the generic ones."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import _bytes

NUMPY_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                "float16", "float32", "float64", "complex64", "complex128"]


def _reference(name: str) -> np.ndarray:
    """Edge values of each dtype (extremes, signed zeros, subnormals, inf, NaN), shape (2, 4)."""
    d = np.dtype(name)
    if d.kind == "b":
        v = [True, False, False, True, True, True, False, True]
    elif d.kind in "iu":
        info = np.iinfo(d)
        v = [info.min, info.max, 0, 1, info.max - 1, 7, info.min // 2 + 3, 2]
    elif d.kind == "f":
        info = np.finfo(d)
        v = [0.0, -0.0, 1.5, -info.max, float(info.smallest_subnormal), np.inf, -np.inf, np.nan]
    else:
        v = [1 + 2j, -0.0 - 1j, complex(np.inf, 1), 3.25 + 0j, -1e-3j, 0j, 2 - 2j, 1j]
    return np.array(v, dtype=d).reshape(2, 4)


# bfloat16: float32 values with 16 low zero bits (exact in bfloat16), and their bit patterns
_BF16_VALUES = np.array([0.0, -0.0, 1.5, -2.0, 3.3895313892515355e38, 2.0**-133, np.inf, np.nan],
                        dtype=np.float32).reshape(2, 4)
_BF16_BITS = (_BF16_VALUES.view(np.uint32) >> 16).astype("<u2")


def _dtypes(backend: str) -> list[str]:
    b = ember.load_backend(backend)
    allowed = b.capabilities.dtypes.get(b.devices.default().split(":")[0])
    return [d.name for d in b.to_native_dtype if allowed is None or d in allowed]


def test_every_dtype_round_trips_in_numpy_layout(backend: str) -> None:
    for name in _dtypes(backend):
        if name == "bfloat16":
            continue
        ref = _reference(name)
        x = ember.asarray(ref)
        assert x.dtype is getattr(ember, name) and x.backend == backend
        raw = x.tobytes()
        assert raw == ref.astype(ref.dtype.newbyteorder("<")).tobytes(), name
        y = ember.frombuffer(raw, name, (2, 4))
        assert y.dtype is getattr(ember, name) and y.shape == (2, 4) and y.backend == backend
        assert y.tobytes() == raw, name
        np.testing.assert_array_equal(y.numpy(), ref)


def test_bfloat16_round_trips_through_its_bit_patterns(backend: str) -> None:
    if "bfloat16" not in _dtypes(backend):
        with pytest.raises(ember.UnsupportedError, match="bfloat16"):
            ember.frombuffer(_BF16_BITS.tobytes(), ember.bfloat16, (2, 4))
        return
    x = ember.frombuffer(_BF16_BITS.tobytes(), ember.bfloat16, (2, 4))
    assert x.dtype is ember.bfloat16 and x.tobytes() == _BF16_BITS.tobytes()
    np.testing.assert_array_equal(ember.astype(x, ember.float32).numpy(), _BF16_VALUES)
    y = ember.astype(ember.asarray(_BF16_VALUES), ember.bfloat16)  # made by a cast
    assert y.tobytes()[:14] == _BF16_BITS.tobytes()[:14]  # the NaN a cast makes varies
    nan = int.from_bytes(y.tobytes()[14:], "little")
    assert nan & 0x7F80 == 0x7F80 and nan & 0x007F  # but it is a NaN


def test_generic_hooks_agree_with_the_backend_hooks(backend: str) -> None:
    """The defaults a backend without its own hooks gets give the same bytes and values."""
    b = ember.load_backend(backend)
    for name in _dtypes(backend):
        if name == "bfloat16":
            x = ember.frombuffer(_BF16_BITS.tobytes(), ember.bfloat16, (2, 4))
        else:
            x = ember.asarray(_reference(name))
        raw = x.tobytes()
        assert _bytes.generic_to_bytes(b, x.native) == raw, name
        n = _bytes.generic_from_bytes(b, raw, name, (2, 4), None)
        y = ember.Tensor(n, b)
        assert y.dtype is x.dtype and y.shape == (2, 4), name
        assert y.tobytes() == raw, name


def test_layout_is_c_order_for_views_scalars_empties_and_variables(backend: str) -> None:
    ref = np.arange(6, dtype=np.int32).reshape(2, 3)
    x = ember.asarray(ref)
    assert ember.matrix_transpose(x).tobytes() == ref.T.tobytes()
    assert x[:, 1:].tobytes() == ref[:, 1:].tobytes()
    assert ember.tensor(2.5).tobytes() == np.float32(2.5).tobytes()
    assert ember.frombuffer(np.float32(2.5).tobytes(), ember.float32, ()).item() == 2.5
    empty = ember.frombuffer(b"", ember.float32, (0, 3))
    assert empty.shape == (0, 3) and empty.tobytes() == b""
    v = ember.Variable(ember.asarray(ref))
    assert v.tobytes() == ref.tobytes()
    with ember.GradientTape() as tape:  # a tracked tensor (on the recording twin) too
        y = v * 1
        assert y.tobytes() == ref.tobytes()
    del tape


def test_frombuffer_accepts_bytes_likes_and_copies(backend: str) -> None:
    ref = np.array([1.0, -2.0, 3.5], dtype=np.float32)
    buf = bytearray(ref.tobytes())
    a = ember.frombuffer(buf, ember.float32, 3)
    b = ember.frombuffer(memoryview(ref), ember.float32, [3])  # a float-typed view: its bytes
    buf[:4] = b"\0\0\0\0"
    assert a.tolist() == [1.0, -2.0, 3.5] and b.tolist() == [1.0, -2.0, 3.5]
    a[0] = 7.0  # the tensor owns its memory and can be written
    assert a.tolist() == [7.0, -2.0, 3.5] and ref.tolist() == [1.0, -2.0, 3.5]


def test_frombuffer_targets_another_backend() -> None:
    raw = np.array([[1, 2], [3, 4]], dtype="<i2").tobytes()
    for name in ember.backends(probe=False):
        try:
            ember.load_backend(name.name)
        except ember.EmberError:
            continue
        x = ember.frombuffer(raw, ember.int16, (2, 2), backend=name.name, device="cpu")
        assert x.backend == name.name and x.tolist() == [[1, 2], [3, 4]]


def test_frombuffer_errors_name_the_problem(backend: str) -> None:
    with pytest.raises(ember.ShapeError, match=r"shape \(2, 3\) of ember.float32 needs 24 bytes, got 20"):
        ember.frombuffer(bytes(20), ember.float32, (2, 3))
    with pytest.raises(ember.ArgumentError, match="bytes, bytearray or memoryview, got list"):
        ember.frombuffer([1, 2], ember.uint8, (2,))  # type: ignore[arg-type]
    with pytest.raises(ember.ShapeError, match="negative dimension"):
        ember.frombuffer(b"", ember.uint8, (-1,))
    with pytest.raises(ember.DTypeError, match="not a dtype ember knows"):
        ember.frombuffer(b"\0", "float8", (1,))
    with pytest.raises(ember.ArgumentError, match="C-contiguous"):
        ember.frombuffer(memoryview(np.zeros((2, 2), np.uint8)[:, :1]), ember.uint8, (2,))


@pytest.mark.parametrize("name", NUMPY_DTYPES)
def test_generic_hooks_alone_round_trip(name: str) -> None:
    """The generic hooks are pure Python on the bytes side: check them against NumPy's bytes."""
    b = ember.load_backend("numpy")
    ref = _reference(name)
    raw = ref.astype(ref.dtype.newbyteorder("<")).tobytes()
    n = _bytes.generic_from_bytes(b, memoryview(raw), name, (2, 4), None)
    np.testing.assert_array_equal(n, ref)
    assert n.dtype == ref.dtype and _bytes.generic_to_bytes(b, n) == raw
