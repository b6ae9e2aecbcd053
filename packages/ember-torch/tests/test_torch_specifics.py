"""Torch-specific logic of ember-torch, checked against NumPy."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch
from ember_torch._backend import create_backend


@pytest.fixture(scope="module")
def b():  # type: ignore[no-untyped-def]
    return create_backend()


def t(a):  # type: ignore[no-untyped-def]
    return torch.from_numpy(np.array(a, copy=True))


def check(got, expected) -> None:  # type: ignore[no-untyped-def]
    e = np.asarray(expected)
    g = got.numpy()
    assert g.dtype == e.dtype and g.shape == e.shape
    if e.dtype.kind == "f":
        np.testing.assert_allclose(g, e, rtol=1e-6)
        assert np.array_equal(np.signbit(g), np.signbit(e))
    else:
        np.testing.assert_array_equal(g, e)


U64 = np.array([2**64 - 3, 5, 2**63, 7, 0], dtype=np.uint64)
V64 = np.array([3, 2**63 + 1, 2**63, 2**64 - 1, 9], dtype=np.uint64)


@pytest.mark.parametrize(
    "op, ref",
    [
        ("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
        ("floor_divide", np.floor_divide), ("remainder", np.remainder), ("less", np.less),
        ("greater_equal", np.greater_equal), ("maximum", np.maximum), ("minimum", np.minimum),
        ("bitwise_xor", np.bitwise_xor),
    ],
)
@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64"])
def test_unsigned_binary(b, op, ref, dtype):  # type: ignore[no-untyped-def]
    x1, x2 = U64.astype(dtype), V64.astype(dtype)
    x2[x2 == 0] = 1
    check(getattr(b.kernels, op)(t(x1), t(x2)), ref(x1, x2))


def test_unsigned_right_shift_is_logical(b):  # type: ignore[no-untyped-def]
    s = np.array([0, 1, 63, 4, 2], dtype=np.uint64)
    check(b.kernels.bitwise_right_shift(t(U64), t(s)), np.right_shift(U64, s))


@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64"])
def test_unsigned_reductions_and_sort(b, dtype):  # type: ignore[no-untyped-def]
    x = U64.astype(dtype)
    check(b.kernels.max(t(x), None, False), np.max(x))
    check(b.kernels.argmin(t(x), None, False), np.argmin(x))
    check(b.kernels.sum(t(x), (0,), None, False), np.sum(x, dtype=dtype))
    check(b.kernels.prod(t(x), None, None, False), np.prod(x, dtype=dtype))
    check(b.kernels.sort(t(x), 0, False, True), np.sort(x))
    check(b.kernels.clip(t(x), 5, 2**15), np.clip(x, 5, 2**15))


def test_scalar_first_operand(b):  # type: ignore[no-untyped-def]
    x = np.array([1.5, -2.0, 0.25], dtype=np.float32)
    for op, ref in [("subtract", np.subtract), ("divide", np.divide), ("atan2", np.arctan2),
                    ("copysign", np.copysign), ("remainder", np.remainder)]:
        check(getattr(b.kernels, op)(2.0, t(x)), ref(np.float32(2.0), x))


def test_float_semantics(b):  # type: ignore[no-untyped-def]
    x = np.array([-0.0, np.nan, -3.0, 2.5, 0.5, -2.5], dtype=np.float64)
    check(b.kernels.sign(t(x)), np.sign(x))
    check(b.kernels.round(t(x)), np.round(x))
    check(b.kernels.remainder(t(np.array([-0.0, -6.0, 6.0])), 3.0), np.remainder([-0.0, -6.0, 6.0], 3.0))


def test_getitem_numpy_rules(b):  # type: ignore[no-untyped-def]
    x = np.arange(24.0).reshape(3, 4, 2)
    for key in [(0, slice(None), np.array([1, 1])), (slice(None, None, -2), Ellipsis),
                (slice(5, None, -3), Ellipsis, slice(None, None, -1)), (x > 10,)]:
        tkey = tuple(t(k) if isinstance(k, np.ndarray) else k for k in key)
        check(b.kernels.getitem(t(x), tkey), x[key])


@pytest.mark.parametrize("mode, ufunc", [("add", np.add), ("multiply", np.multiply),
                                         ("min", np.minimum), ("max", np.maximum)])
def test_index_update_accumulates(b, mode, ufunc):  # type: ignore[no-untyped-def]
    x = np.arange(6.0).reshape(3, 2)
    idx = np.array([0, 2, 0, 0])
    vals = np.array([[5.0, -1.0], [2.0, 3.0], [7.0, 0.5], [-4.0, 9.0]])
    expected = x.copy()
    ufunc.at(expected, idx, vals)
    check(b.kernels.index_update(t(x), (t(idx),), t(vals), mode), expected)


def test_unique_all_first_indices_and_nans(b):  # type: ignore[no-untyped-def]
    x = np.array([3.0, np.nan, 1.0, 3.0, np.nan, 1.0, 2.0])
    got = b.kernels.unique_all(t(x))
    for g, e in zip(got, np.unique_all(x)):
        np.testing.assert_array_equal(g.numpy(), e)


def test_searchsorted_with_nan(b):  # type: ignore[no-untyped-def]
    s = np.array([1.0, 2.0, np.inf, np.nan])
    v = np.array([np.nan, np.inf, 1.5])
    for side in ("left", "right"):
        check(b.kernels.searchsorted(t(s), t(v), side, None), np.searchsorted(s, v, side=side))


def test_empty_axes_and_keepdims(b):  # type: ignore[no-untyped-def]
    x = np.arange(6, dtype=np.int8).reshape(2, 3)
    check(b.kernels.sum(t(x), (), None, False), np.sum(x, axis=(), dtype=np.int8))
    check(b.kernels.max(t(x), (), False), np.max(x, axis=()))
    check(b.kernels.argmax(t(x), None, True), np.argmax(x, keepdims=True))
    check(b.kernels.sum(t(x), None, None, False), np.sum(x, dtype=np.int8))


def test_solve_matrix_reading(b):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    a, rhs = rng.standard_normal((4, 4, 4)), rng.standard_normal((4, 4))
    np.testing.assert_allclose(b.kernels.linalg_solve(t(a), t(rhs)).numpy(), np.linalg.solve(a, rhs))


def test_creation(b):  # type: ignore[no-untyped-def]
    check(b.kernels.linspace(-2, 7, 5, torch.int32, None, False),
          np.linspace(-2, 7, 5, endpoint=False, dtype=np.int32))
    check(b.kernels.arange(0.5, 3.3, 0.1, torch.float16, None), np.arange(0.5, 3.3, 0.1, dtype=np.float16))
    check(b.kernels.eye(3, 5, 1, torch.uint32, None), np.eye(3, 5, 1, dtype=np.uint32))


def test_conv_asymmetric_padding(b):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 6, 2))
    w = rng.standard_normal((3, 2, 2))
    xp = np.pad(x, ((0, 0), (2, 1), (0, 0)))
    expected = np.stack([xp[:, i:i + 2].reshape(1, -1) @ w.reshape(3, -1).T
                         for i in range(0, xp.shape[1] - 1, 2)], axis=1)
    got = b.kernels.nn_conv(t(x), t(w), (2,), ((2, 1),), (1,), 1)
    np.testing.assert_allclose(got.numpy(), expected)


def test_bfloat16_to_numpy_is_explained(b):  # type: ignore[no-untyped-def]
    with pytest.raises(ember.UnsupportedError, match="float32"):
        b.arrays.to_numpy(torch.ones(2, dtype=torch.bfloat16))


@pytest.mark.parametrize("num", [1, 4, 7, 1000, 40_001])
def test_torch_words_match_the_cpu_path(num: int) -> None:
    """The torch-ops Philox (what CUDA runs; it relies on int64 products wrapping modulo
    2**64) gives the CPU path's words bit for bit, so CI checks it without a GPU."""
    from ember.ops._random._philox import philox4x32_scalar
    from ember_torch.kernels.random import random_bits, torch_words

    key = 0x0123456789ABCDEF
    got = torch_words(key, num, torch.device("cpu"))
    assert got.dtype == torch.int64
    np.testing.assert_array_equal(got.numpy(), random_bits(key, num, "cpu").numpy())
    first = philox4x32_scalar((0, 0, 0, 0), (key & 0xFFFFFFFF, key >> 32))
    assert got[:4].tolist() == list(first)[:num]


@pytest.mark.parametrize("value", [True, -3, 100_000, 2.5, 0.1, 1e300, -1e-300, 1 + 2j, 2**63])
@pytest.mark.parametrize("dtype", [None, torch.bool, torch.uint8, torch.int32, torch.int64,
                                   torch.float16, torch.bfloat16, torch.float32, torch.float64,
                                   torch.complex64])
def test_scalars_off_the_cpu_are_filled_on_the_device(value, dtype):  # type: ignore[no-untyped-def]
    """A Python scalar bound for a GPU becomes a fill on that device (no host copy, which on
    CUDA syncs the device) with torch.tensor's dtype, value, rounding and errors. The fill is
    checked on the CPU; 'meta' stands in for CUDA to show the device path takes it."""
    from ember_torch.kernels._util import as_tensor_like, filled_scalar
    from ember_torch.kernels.creation import asarray

    try:
        host = torch.tensor(value, dtype=dtype)
    except (RuntimeError, OverflowError, TypeError, ValueError):  # ember's core takes all four
        with pytest.raises((RuntimeError, OverflowError, TypeError, ValueError)):
            filled_scalar(value, dtype, "cpu")
        return
    filled = filled_scalar(value, dtype, "cpu")
    assert filled.dtype == host.dtype and filled.shape == ()
    assert torch.equal(filled, host) or (filled.isnan() & host.isnan()).all()
    meta = asarray(value, dtype, "meta", None)
    assert meta.device.type == "meta" and meta.dtype == host.dtype
    like = as_tensor_like(value, torch.empty(2, dtype=host.dtype, device="meta"))
    assert like.device.type == "meta" and like.dtype == host.dtype
