"""ember-core composites checked against NumPy's own function of the same name (the kit
compares backends with each other; a composite runs the same code on both, so its reference
has to come from outside ember)."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.testing._cases import by_op, load_all
from hypothesis import given, settings
from hypothesis import strategies as st

load_all()


def _drawn(op: str, data: st.DataObject, dtype: ember.DType) -> tuple[tuple, dict]:
    case = data.draw(st.sampled_from(by_op()[op]), label="case")
    c = case.build(data, dtype)
    return c.args, c.kwargs


@pytest.mark.parametrize("dtype", [ember.float32, ember.int64, ember.bool, ember.complex64])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_take_along_axis_is_numpys(dtype: ember.DType, data: st.DataObject) -> None:
    (x, idx), kw = _drawn("take_along_axis", data, dtype)
    with ember.use_backend("numpy"):
        got = ember.take_along_axis(ember.asarray(x), ember.asarray(idx), **kw)
    want = np.take_along_axis(x, idx, axis=kw["axis"])
    assert got.shape == want.shape and got.dtype == ember.asarray(want).dtype
    np.testing.assert_array_equal(np.asarray(got.tolist(), dtype=want.dtype).reshape(want.shape),
                                  want)


def test_take_along_axis_known_answer_and_sort_round_trip() -> None:
    with ember.use_backend("numpy"):
        x = ember.asarray([[3.0, 1.0, 2.0], [9.0, 7.0, 8.0]])
        order = ember.argsort(x, axis=1)
        assert ember.take_along_axis(x, order, axis=1).tolist() == [[1.0, 2.0, 3.0],
                                                                    [7.0, 8.0, 9.0]]
        # indices broadcast over x's rows; a negative index counts from the end
        assert ember.take_along_axis(x, ember.asarray([[-1, 0]]), axis=1).tolist() == [
            [2.0, 3.0], [8.0, 9.0]]


@pytest.mark.parametrize("kind", [np.int8, np.uint8, np.int16])
def test_take_along_axis_small_index_dtypes_reach_every_row(kind: type) -> None:
    """The other axes' positions are int64 whatever the indices' dtype (300 rows in int8
    wrapped before)."""
    x = np.arange(600, dtype=np.float32).reshape(300, 2)
    idx = np.tile(np.array([[1], [0]], dtype=kind), (150, 1))
    with ember.use_backend("numpy"):
        got = ember.take_along_axis(ember.asarray(x), ember.asarray(idx), axis=1)
    np.testing.assert_array_equal(np.asarray(got.tolist(), np.float32),
                                  np.take_along_axis(x, idx.astype(np.int64), axis=1))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.int32])
def test_reciprocal_is_numpys(dtype: type) -> None:
    x = np.array([0.5, -2.0, 3.0, 0.0, -0.0, np.inf, -np.inf, np.nan] if np.dtype(dtype).kind
                 in "fc" else [1, -2, 4], dtype=dtype)
    with ember.use_backend("numpy"), np.errstate(all="ignore"):
        got = ember.reciprocal(ember.asarray(x))
        want = np.reciprocal(x.astype(np.float32) if x.dtype.kind == "i" else x)
    assert got.dtype == ember.asarray(want).dtype
    np.testing.assert_array_equal(np.asarray(got.tolist(), dtype=want.dtype), want)
    if x.dtype.kind == "f":  # the sign of the zeros and infinities
        np.testing.assert_array_equal(np.signbit(np.asarray(got.tolist(), dtype=want.dtype)),
                                      np.signbit(want))
