"""Tests of the NumPy-specific logic of ember-numpy (the conformance kit covers the rest):
erf/erfinv written from scratch, convolution and pooling through window views, unique_all,
stable descending argsort and the seeded random kernels."""

from __future__ import annotations

import itertools
import math

import ember
import numpy as np
import pytest
from ember_numpy._backend import create_backend

B = create_backend()


# -- erf / erfinv ----------------------------------------------------------------------------


def _erf_points() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate(
        [
            rng.uniform(-7, 7, 4000),
            rng.normal(0, 1, 4000),
            10.0 ** rng.uniform(-310, 1, 1000),
            -(10.0 ** rng.uniform(-30, 1, 1000)),
            np.linspace(-6.6, 6.6, 2001),
            [0.0, 1.0, -1.0, 6.5, -6.5, np.nextafter(1.0, 0), np.nextafter(6.5, 0)],
        ]
    )


def test_erf_float64_matches_math_erf() -> None:
    x = _erf_points()
    got = B.kernels.erf(x)
    ref = np.array([math.erf(v) for v in x])
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), np.finfo(np.float64).tiny)
    assert got.dtype == np.float64
    assert rel.max() < 1e-15


def test_erf_special_values() -> None:
    got = B.kernels.erf(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 30.0, -30.0]))
    np.testing.assert_array_equal(got, [0.0, -0.0, 1.0, -1.0, np.nan, 1.0, -1.0])
    assert np.signbit(got[1])


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_erf_narrow_dtypes_are_correctly_rounded(dtype: type) -> None:
    x = _erf_points().astype(dtype)
    got = B.kernels.erf(x)
    ref = np.array([math.erf(float(v)) for v in x]).astype(dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, ref)


def test_erf_keeps_shape() -> None:
    assert B.kernels.erf(np.zeros((2, 0, 3))).shape == (2, 0, 3)
    assert np.shape(B.kernels.erf(np.float32(0.5))) == ()
    assert B.kernels.erf(np.ones((2, 3), np.float32)).shape == (2, 3)


def test_erfinv_inverts_erf() -> None:
    rng = np.random.default_rng(1)
    y = np.concatenate(
        [
            rng.uniform(-1, 1, 5000),
            1 - 10.0 ** rng.uniform(-16, 0, 2000),
            -(1 - 10.0 ** rng.uniform(-16, 0, 2000)),
            10.0 ** rng.uniform(-300, 0, 1000),
            [np.nextafter(1.0, 0), -np.nextafter(1.0, 0), 0.5, -0.5],
        ]
    )
    x = B.kernels.erfinv(y)
    assert x.dtype == np.float64
    # erf(erfinv(y)) == y to rounding; and erfinv(y) is within a few ulp of its true value,
    # checked through the derivative: |dx| <= |erf(x) - y| / erf'(x) + ulps
    back = B.kernels.erf(x)
    np.testing.assert_allclose(back, y, rtol=4e-16, atol=0)
    # round trip, within the conditioning of erf (erf'(4) ~ 1.3e-7)
    x0 = np.linspace(-4, 4, 1001)
    np.testing.assert_allclose(B.kernels.erfinv(B.kernels.erf(x0)), x0, rtol=1e-9, atol=1e-15)


def test_erfinv_against_known_values() -> None:
    # erfinv of these float64 values, by mpmath at 50 digits, rounded to float64
    y = np.array([0.1, 0.5, 0.9, 0.999, 1 - 1e-10])
    ref = np.array(
        [
            0.08885599049425769,
            0.4769362762044699,
            1.1630871536766743,
            2.3267537655135246,
            4.572824958544925,
        ]
    )
    np.testing.assert_allclose(B.kernels.erfinv(y), ref, rtol=2e-15)
    np.testing.assert_allclose(B.kernels.erfinv(-y), -ref, rtol=2e-15)


def test_erfinv_special_values_and_dtypes() -> None:
    got = B.kernels.erfinv(np.array([0.0, -0.0, 1.0, -1.0, 1.5, -2.0, np.nan]))
    np.testing.assert_array_equal(got, [0.0, -0.0, np.inf, -np.inf, np.nan, np.nan, np.nan])
    assert np.signbit(got[1])
    for dtype in (np.float16, np.float32):
        y = np.linspace(-0.999, 0.999, 999).astype(dtype)
        x = B.kernels.erfinv(y)
        assert x.dtype == dtype
        np.testing.assert_allclose(B.kernels.erf(x.astype(np.float64)), y, rtol=5 * np.finfo(dtype).eps)


# -- convolution and pooling -----------------------------------------------------------------


def _naive_conv(x, w, stride, padding, dilation, groups):  # type: ignore[no-untyped-def]
    nd = x.ndim - 2
    xp = np.pad(x, ((0, 0), *padding, (0, 0)))
    k = w.shape[1:-1]
    out_sp = [
        max((xp.shape[1 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1, 0) for i in range(nd)
    ]
    c_out, cig = w.shape[0], w.shape[-1]
    cog = c_out // groups
    out = np.zeros((x.shape[0], *out_sp, c_out), dtype=np.float64)
    for n in range(x.shape[0]):
        for pos in itertools.product(*(range(o) for o in out_sp)):
            for o in range(c_out):
                g = o // cog
                acc = 0.0
                for kk in itertools.product(*(range(ki) for ki in k)):
                    idx = tuple(pos[i] * stride[i] + kk[i] * dilation[i] for i in range(nd))
                    acc += float(np.dot(xp[(n, *idx)][g * cig : (g + 1) * cig], w[(o, *kk)]))
                out[(n, *pos, o)] = acc
    return out


CONV_CASES = [
    # (spatial, kernel, stride, padding, dilation, groups, c_in, c_out)
    ((7,), (3,), (1,), ((0, 0),), (1,), 1, 2, 3),
    ((9,), (3,), (2,), ((1, 2),), (2,), 2, 4, 6),
    ((6, 5), (3, 2), (1, 1), ((1, 1), (0, 1)), (1, 1), 1, 3, 2),
    ((7, 8), (2, 3), (2, 3), ((0, 1), (2, 0)), (2, 1), 3, 3, 6),
    ((5, 5), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 4, 4, 4),  # depthwise
    ((6, 5), (2, 3), (1, 2), ((1, 0), (0, 2)), (1, 2), 3, 3, 6),  # depthwise, multiplier 2
    ((4, 5, 4), (2, 3, 2), (1, 2, 1), ((1, 0), (1, 1), (0, 0)), (1, 1, 2), 2, 2, 4),
    ((3,), (5,), (1,), ((0, 0),), (1,), 1, 1, 1),  # kernel larger than input: empty output
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_naive_loop(case) -> None:  # type: ignore[no-untyped-def]
    spatial, kernel, stride, padding, dilation, groups, c_in, c_out = case
    rng = np.random.default_rng(len(spatial) * 10 + groups)
    x = rng.normal(size=(2, *spatial, c_in))
    w = rng.normal(size=(c_out, *kernel, c_in // groups))
    got = B.kernels.nn_conv(x, w, stride, padding, dilation, groups)
    ref = _naive_conv(x, w, stride, padding, dilation, groups)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    got32 = B.kernels.nn_conv(x.astype(np.float32), w.astype(np.float32), stride, padding, dilation, groups)
    assert got32.dtype == np.float32


def _naive_pool(x, window, stride, padding, kind, count_include_pad=True):  # type: ignore[no-untyped-def]
    nd = x.ndim - 2
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), *padding, (0, 0)), constant_values=fill)
    mask = np.pad(np.ones(x.shape[1:-1]), padding)
    out_sp = [(xp.shape[1 + i] - window[i]) // stride[i] + 1 for i in range(nd)]
    out = np.zeros((x.shape[0], *out_sp, x.shape[-1]))
    for pos in itertools.product(*(range(o) for o in out_sp)):
        sl = tuple(slice(pos[i] * stride[i], pos[i] * stride[i] + window[i]) for i in range(nd))
        win = xp[(slice(None), *sl)]
        axes = tuple(range(1, 1 + nd))
        if kind == "max":
            out[(slice(None), *pos)] = win.max(axis=axes)
        else:
            div = np.prod(window) if count_include_pad else mask[sl].sum()
            out[(slice(None), *pos)] = win.sum(axis=axes) / div
    return out


POOL_CASES = [
    ((8,), (2,), (2,), ((0, 0),)),
    ((7,), (3,), (2,), ((1, 1),)),
    ((6, 7), (3, 2), (2, 1), ((1, 1), (0, 1))),
    ((5, 5, 4), (2, 2, 3), (1, 2, 1), ((1, 0), (0, 1), (1, 1))),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling_matches_naive_loop(case) -> None:  # type: ignore[no-untyped-def]
    spatial, window, stride, padding = case
    x = np.random.default_rng(3).normal(size=(2, *spatial, 3))
    np.testing.assert_allclose(
        B.kernels.nn_max_pool(x, window, stride, padding), _naive_pool(x, window, stride, padding, "max")
    )
    for include in (True, False):  # ember-core passes the kernel its divisor
        got = ember.nn.avg_pool(ember.asarray(x, backend="numpy"), window, stride, padding,
                                count_include_pad=include)
        np.testing.assert_allclose(
            got.numpy(), _naive_pool(x, window, stride, padding, "avg", include), rtol=1e-12
        )
    x16 = ember.asarray(x.astype(np.float16), backend="numpy")
    assert ember.nn.avg_pool(x16, window, stride, padding).dtype == ember.float16
    assert B.kernels.nn_max_pool(x16.numpy(), window, stride, padding).dtype == np.float16


# -- unique_all, sorting, random -------------------------------------------------------------


def test_unique_all_nan_distinct_and_first_occurrence() -> None:
    x = np.array([[2.0, np.nan, 1.0], [2.0, np.nan, -0.0], [1.0, 0.0, 5.0]])
    values, indices, inverse, counts = B.kernels.unique_all(x)
    np.testing.assert_array_equal(values, [-0.0, 1.0, 2.0, 5.0, np.nan, np.nan])
    np.testing.assert_array_equal(indices, [5, 2, 0, 8, 1, 4])
    np.testing.assert_array_equal(inverse, [[2, 4, 1], [2, 5, 0], [1, 0, 3]])
    np.testing.assert_array_equal(counts, [2, 2, 2, 1, 1, 1])
    assert inverse.shape == x.shape
    assert all(a.dtype == np.int64 for a in (indices, inverse, counts))
    np.testing.assert_array_equal(values[inverse[~np.isnan(x)]], x[~np.isnan(x)])


def test_unique_all_empty_and_integers() -> None:
    out = B.kernels.unique_all(np.zeros((0, 3), np.int8))
    assert [a.shape for a in out] == [(0,), (0,), (0, 3), (0,)]
    values, indices, inverse, counts = B.kernels.unique_all(np.array([3, 1, 3, 3, 2], np.uint8))
    np.testing.assert_array_equal(values, [1, 2, 3])
    assert values.dtype == np.uint8
    np.testing.assert_array_equal(indices, [1, 4, 0])
    np.testing.assert_array_equal(inverse, [2, 0, 2, 2, 1])
    np.testing.assert_array_equal(counts, [1, 1, 3])


def test_argsort_descending_is_stable() -> None:
    x = np.array([[3, 1, 2, 1, 3, 3], [0, 0, 0, 1, 1, 1]])
    np.testing.assert_array_equal(
        B.kernels.argsort(x, 1, True, True), [[0, 4, 5, 2, 1, 3], [3, 4, 5, 0, 1, 2]]
    )
    np.testing.assert_array_equal(B.kernels.sort(x, 1, True, True), -np.sort(-x, axis=1))
