"""The exact integer matmul/tensordot that ember-torch runs off the CPU (CUDA has no integer
``mm``/``dot`` kernels; docs/semantics.md, "Linear algebra failures"). The path is plain torch
and runs on any device, so it is checked here on the CPU against NumPy's wrapping integer
matmul; the conformance kit runs it on a GPU when the default device is one."""

import numpy as np
import pytest
import torch
from ember_torch.kernels import _int_matmul
from ember_torch.kernels._int_matmul import contract, exact_int_matmul, int_matrix_power

DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"]
SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
          ((1, 2, 3), (4, 3, 2)), ((2, 0), (0, 3)), ((0, 2), (2, 3)), ((0, 2, 2), (2, 2))]


def _values(g, dtype, shape):
    if dtype == "bool":
        return g.integers(0, 2, shape).astype(bool)
    info = np.iinfo(dtype)  # the whole range: products and sums wrap
    return g.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def _torch(a):
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("s1, s2", SHAPES)
def test_exact_matmul_matches_numpy(dtype, s1, s2):
    g = np.random.default_rng(0)
    a, b = _values(g, dtype, s1), _values(g, dtype, s2)
    with np.errstate(over="ignore"):
        want = np.matmul(a, b)
    got = exact_int_matmul(_torch(a), _torch(b))
    assert got.dtype == _torch(want).dtype and tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


def test_exact_matmul_chunks_the_inner_axis(monkeypatch):
    monkeypatch.setattr(_int_matmul, "_CHUNK", 7)  # several steps, the last one partial
    g = np.random.default_rng(1)
    a, b = _values(g, "uint8", (2, 3, 10)), _values(g, "uint8", (10, 4))
    np.testing.assert_array_equal(exact_int_matmul(_torch(a), _torch(b)).numpy(), a @ b)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "uint64"])
@pytest.mark.parametrize("s1, s2, axes", [((3,), (3,), ((0,), (0,))),
                                          ((2, 3, 4), (4, 3, 5), ((1, 2), (1, 0))),
                                          ((2, 3), (3, 2), ((), ())), ((0, 3), (3,), ((1,), (0,)))])
def test_exact_tensordot_matches_numpy(dtype, s1, s2, axes):
    g = np.random.default_rng(2)
    a, b = _values(g, dtype, s1), _values(g, dtype, s2)
    with np.errstate(over="ignore"):
        want = np.tensordot(a, b, axes=axes)
    got = contract(exact_int_matmul, _torch(a), _torch(b), axes)
    assert tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("s1, s2", [((2, 3), (2, 3)), ((1, 0), (1,)), ((3,), (1, 0))])
def test_exact_matmul_refuses_misaligned_shapes(s1, s2):
    # broadcasting the products must not hide a mismatch (the suite caught (1, 0) @ (1,))
    with pytest.raises(ValueError, match="do not align"):
        exact_int_matmul(torch.ones(s1, dtype=torch.uint8), torch.ones(s2, dtype=torch.uint8))


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint32"])
@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_int_matrix_power_matches_numpy(dtype, n):
    g = np.random.default_rng(3)
    a = _values(g, dtype, (2, 3, 3))
    with np.errstate(over="ignore"):
        want = np.linalg.matrix_power(a, n)
    got = int_matrix_power(_torch(a), n)
    assert got.dtype == _torch(want).dtype
    np.testing.assert_array_equal(got.numpy(), want)
