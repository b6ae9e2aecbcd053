"""Errors are ember's own, name the values involved and say what to do."""

from __future__ import annotations

import ember
import pytest
from core_support import BACKENDS


def test_error_hierarchy() -> None:
    for cls in (ember.BackendError, ember.BackendNotFoundError, ember.BackendMismatchError,
                ember.ShapeError, ember.DTypeError, ember.UnsupportedError):
        assert issubclass(cls, ember.EmberError)


def test_mixing_backends_names_both_and_shows_to() -> None:
    if len(BACKENDS) < 2:
        pytest.skip("needs two installed backends")
    a, b = BACKENDS[:2]
    x, y = ember.ones((2,), backend=a), ember.ones((2,), backend=b)
    for f in (lambda: x + y, lambda: ember.matmul(x, y), lambda: ember.concat([x, y]),
              lambda: ember.where(x > 0, x, y)):
        with pytest.raises(ember.BackendMismatchError) as err:
            f()
        msg = str(err.value)
        assert repr(a) in msg and repr(b) in msg and ".to(" in msg
    assert (x + y.to(a)).tolist() == [2.0, 2.0]


def test_shape_mismatch_names_op_shapes_and_dtypes(backend: str) -> None:
    x = ember.ones((2, 3))
    y = ember.ones((4,), dtype=ember.int32)
    with pytest.raises(ember.ShapeError) as err:
        ember.add(x, y)
    msg = str(err.value)
    assert msg.startswith("add") and "(2, 3)" in msg and "(4,)" in msg and "float32" in msg and "int32" in msg
    with pytest.raises(ember.ShapeError, match=r"matmul: shapes \(2, 3\) and \(2, 3\)"):
        ember.matmul(x, x)
    with pytest.raises(ember.ShapeError, match="reshape"):
        ember.reshape(x, (4, 2))
    with pytest.raises(ember.ShapeError, match="axis 2 is out of range"):
        ember.sum(x, axis=2)
    with pytest.raises(ember.ShapeError, match="concat"):
        ember.concat([x, ember.ones((2, 4))], axis=0)


def test_dtype_errors(backend: str) -> None:
    with pytest.raises(ember.DTypeError, match="bitwise_and"):
        ember.bitwise_and(ember.ones((2,)), ember.ones((2,)))
    with pytest.raises(ember.DTypeError, match=r"add: Python int 1000 does not fit ember.int8"):
        ember.ones((2,), dtype=ember.int8) + 1000
    with pytest.raises(ember.DTypeError, match="numeric"):
        ember.add(ember.ones((2,), dtype=ember.bool), ember.ones((2,), dtype=ember.bool))


def test_index_errors(backend: str) -> None:
    x = ember.arange(6).reshape(2, 3)
    with pytest.raises(ember.OutOfBoundsError, match="index 5 is out of bounds for axis 1 with size 3"):
        x[0, 5]
    with pytest.raises(ember.OutOfBoundsError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError):  # OutOfBoundsError is also an IndexError
        x[2]


def test_unsupported_dtype_is_a_clear_error_not_a_downcast() -> None:
    if "numpy" not in BACKENDS:
        pytest.skip("needs the numpy backend")
    with pytest.raises(ember.UnsupportedError, match=r"'numpy' does not support dtype ember.bfloat16.*NumPy has no bfloat16"):
        ember.ones((2,), dtype=ember.bfloat16, backend="numpy")
