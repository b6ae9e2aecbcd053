"""The Tensor type: metadata, conversion, operators, indexing and functional updates,
checked by value on every installed backend."""

from __future__ import annotations

import ember
import pytest
from core_support import BACKENDS

np = pytest.importorskip("numpy")


def test_creation_defaults_and_metadata(backend: str) -> None:
    x = ember.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert (x.shape, x.ndim, x.size, x.dtype, x.backend) == ((2, 3), 2, 6, ember.float32, backend)
    assert x.device == "cpu"
    assert ember.tensor([1, 2]).dtype is ember.int64
    assert ember.tensor(True).dtype is ember.bool
    assert ember.tensor([1, 2.5]).dtype is ember.float32
    assert ember.tensor([1j]).dtype is ember.complex64
    assert ember.tensor(np.arange(3, dtype=np.int16)).dtype is ember.int16
    assert ember.tensor(3.0).shape == ()
    assert ember.tensor(np.float64(2.5), dtype=ember.float64).item() == 2.5
    assert type(x.native).__module__.split(".")[0] == backend
    np.testing.assert_array_equal(x.numpy(), [[1, 2, 3], [4, 5, 6]])
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert float(ember.sum(x)) == 21.0 and int(x[1, 2]) == 6 and bool(x[0, 0])
    assert len(x) == 2 and [r.tolist() for r in x] == [[1, 2, 3], [4, 5, 6]]
    assert "dtype=float32" in repr(x) and f"backend={backend}" in repr(x)


def test_ragged_or_bad_data_is_a_clear_error(backend: str) -> None:
    with pytest.raises(ember.EmberError, match="rectangular"):
        ember.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(ember.ShapeError, match="one element"):
        float(ember.ones((2,)))


def test_operators_match_numpy(backend: str) -> None:
    a = np.array([[1.5, -2.0], [3.0, 4.0]], dtype=np.float32)
    b = np.array([0.5, 2.0], dtype=np.float32)
    x, y = ember.tensor(a), ember.tensor(b)
    cases = {
        "+": (x + y, a + b), "-": (x - y, a - b), "*": (x * y, a * b), "/": (x / y, a / b),
        "//": (x // y, a // b), "%": (x % y, a % b), "**": (abs(x) ** y, abs(a) ** b),
        "@": (x @ x, a @ a), "r+": (1 + x, 1 + a), "r-": (1 - x, 1 - a), "r/": (2 / x, 2 / a),
        "neg": (-x, -a), "<": (x < y, a < b), ">=": (x >= y, a >= b), "==": (x == 3.0, a == 3.0),
        "!=": (x != y, a != b),
    }
    for name, (got, want) in cases.items():
        assert got.dtype.name == str(want.dtype), name
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, err_msg=name)
    i, j = ember.tensor([6, 3], dtype=ember.int32), ember.tensor([3, 1], dtype=ember.int32)
    for got, want in [(i & j, [2, 1]), (i | j, [7, 3]), (i ^ j, [5, 2]), (i << j, [48, 6]),
                      (i >> j, [0, 1]), (~i, [-7, -4])]:
        assert got.tolist() == want and got.dtype is ember.int32


def test_mixed_dtypes_promote_like_the_table(backend: str) -> None:
    i8 = ember.ones((2,), dtype=ember.int8)
    u8 = ember.ones((2,), dtype=ember.uint8)
    f32 = ember.ones((2,))
    assert (i8 + u8).dtype is ember.int16
    assert (i8 + f32).dtype is ember.float32
    assert (i8 + 1).dtype is ember.int8
    assert (i8 * 2.5).dtype is ember.float32 and (i8 * 2.5).tolist() == [2.5, 2.5]
    assert (ember.arange(3) / 2).dtype is ember.float32
    assert ember.sum(ember.ones((3,), dtype=ember.int32)).dtype is ember.int64
    assert ember.sum(ember.ones((3,), dtype=ember.uint8)).dtype is ember.uint64
    assert ember.mean(ember.arange(4)).item() == 1.5


def test_indexing_matches_numpy(backend: str) -> None:
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = ember.tensor(a)
    keys = [0, -1, slice(None, None, -1), (1, 2), (0, slice(1, 3)), (Ellipsis, 1), (None, 0),
            (slice(None), None, 2), np.array([1, 0]), (0, np.array([2, 0, 2])),
            (slice(None), np.array([0, 2]), np.array([1, 3])), a > 10, (0, a[0] > 3),
            (np.array([[0], [1]]), np.array([0, 2]))]
    for key in keys:
        ekey = tuple(ember.tensor(k) if isinstance(k, np.ndarray) else k for k in key) \
            if isinstance(key, tuple) else (ember.tensor(key) if isinstance(key, np.ndarray) else key)
        np.testing.assert_array_equal(x[ekey].numpy(), a[key], err_msg=repr(key))
        assert x[ekey].dtype is ember.float32


def test_functional_updates_leave_the_input_alone(backend: str) -> None:
    x = ember.zeros((5,))
    idx = ember.tensor([0, 2, 2])
    assert x.at[idx].add(1.0).tolist() == [1, 0, 2, 0, 0]
    assert x.at[1:3].set(7.0).tolist() == [0, 7, 7, 0, 0]
    assert ember.index_update(x + 1, idx, 3.0, mode="multiply").tolist() == [3, 1, 9, 1, 1]
    assert x.at[idx].max(ember.tensor([4.0, -1.0, 2.0])).tolist() == [4, 0, 2, 0, 0]
    assert x.at[x == 0].set(5.0).tolist() == [5] * 5
    assert x.tolist() == [0] * 5
    y = x
    x[3] = 9.0  # rebinds x's data; nothing else changes
    assert x.tolist() == [0, 0, 0, 9, 0] and y is x
    with pytest.raises(ember.EmberError, match="mode"):
        ember.index_update(x, 0, 1.0, mode="divide")


@pytest.mark.parametrize("target", BACKENDS)
def test_to_moves_between_backends(backend: str, target: str) -> None:
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=ember.float32)
    y = x.to(target)
    assert y.backend == target and y.dtype is ember.float32 and y.tolist() == x.tolist()
    z = ember.tensor([1, 2, 3], dtype=ember.int16).to(target)
    assert z.dtype is ember.int16 and z.tolist() == [1, 2, 3]


@pytest.mark.parametrize("target", BACKENDS)
def test_to_moves_dtypes_numpy_lacks_by_dlpack(backend: str, target: str) -> None:
    """Between two backends with bfloat16 (torch, MLX) a move goes by DLPack, not through
    NumPy, which has no bfloat16."""
    if target == backend or not all(
            ember.bfloat16 in ember.load_backend(b).to_native_dtype for b in (backend, target)):
        pytest.skip(f"needs two backends with bfloat16, got {backend!r} and {target!r}")
    x = ember.tensor([1.0, 2.5, -3.0], dtype=ember.bfloat16)
    y = x.to(target)
    assert y.backend == target and y.dtype is ember.bfloat16
    assert y.astype(ember.float32).tolist() == [1.0, 2.5, -3.0]


def test_native_arrays_stay_on_their_backend() -> None:
    for name in BACKENDS:
        native = ember.ones((2,), backend=name).native
        t = ember.tensor(native)
        assert t.backend == ("numpy" if name == "numpy" else name) or name == "numpy"


def test_dlpack_and_array_namespace(backend: str) -> None:
    x = ember.arange(4, dtype=ember.float32)
    xp = x.__array_namespace__()
    assert xp is ember.asarray([1]).__array_namespace__()  # one namespace per backend
    assert xp.__array_api_version__ == "2023.12" and xp.float32 is ember.float32
    np.testing.assert_array_equal(np.from_dlpack(x), [0, 1, 2, 3])
    y = ember.from_dlpack(np.arange(3, dtype=np.float32))
    assert y.backend == backend and y.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(np.asarray(x), [0, 1, 2, 3])


def test_dtype_hint_matches_the_native_dtype(backend: str) -> None:
    """Ops cache the result dtype on the Tensor; it must always equal the native array's."""
    b = ember.load_backend(backend)
    x = ember.tensor([[1.0, -2.0], [3.0, 4.5]])
    i = ember.tensor([[1, 2], [3, 4]], dtype=ember.int16)
    results = [x + x, x + 1, 2.0 * x, x > 0, ember.exp(x), ember.exp(i), i + i, i / 2, i + 1.5,
               ember.real(x), ember.isnan(x), ember.sum(x), ember.sum(i), ember.mean(x),
               x @ x, x[0], x[:, 1], ember.reshape(x, (4,)), ember.concat([x, x]),
               ember.where(x > 0, x, x), ember.astype(x, ember.int32), ember.floor(i),
               ember.logical_and(x, i), ember.tensor([1, 2]), ember.abs(i)]
    if b.supports("abs") and ember.complex64 in b.to_native_dtype:
        z = ember.tensor([1 + 2j, -3j])
        results += [ember.abs(z), ember.real(z), ember.imag(z), z * z, ember.sign(z), z + 1.0]
    for r in results:
        assert r.dtype is b.dtype_of(r.native), r
