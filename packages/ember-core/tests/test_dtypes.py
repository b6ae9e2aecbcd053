"""Type promotion follows the Array API table; the open choices are ember's documented ones."""

from __future__ import annotations

import itertools

import ember
import pytest
from ember import _dtypes as dt

SIGNED = [ember.int8, ember.int16, ember.int32, ember.int64]
U = [ember.uint8, ember.uint16, ember.uint32, ember.uint64]

# (a, b, expected) rows straight from the Array API 2023.12 promotion tables
SPEC = [
    (ember.int8, ember.int16, ember.int16), (ember.int32, ember.int64, ember.int64),
    (ember.uint8, ember.uint32, ember.uint32), (ember.uint8, ember.int8, ember.int16),
    (ember.uint8, ember.int16, ember.int16), (ember.uint16, ember.int8, ember.int32),
    (ember.uint16, ember.int32, ember.int32), (ember.uint32, ember.int8, ember.int64),
    (ember.uint32, ember.int64, ember.int64), (ember.float32, ember.float64, ember.float64),
    (ember.complex64, ember.float64, ember.complex128), (ember.complex64, ember.complex128, ember.complex128),
    (ember.float32, ember.complex64, ember.complex64), (ember.bool, ember.bool, ember.bool),
]
# ember's choices where the standard leaves it open
EMBER = [
    (ember.int32, ember.float16, ember.float16), (ember.int64, ember.float32, ember.float32),
    (ember.bool, ember.int8, ember.int8), (ember.bool, ember.float32, ember.float32),
    (ember.float16, ember.bfloat16, ember.float32), (ember.bfloat16, ember.float64, ember.float64),
]


@pytest.mark.parametrize(("a", "b", "want"), SPEC + EMBER)
def test_promotion_table(a: dt.DType, b: dt.DType, want: dt.DType) -> None:
    assert dt.promote_types(a, b) is want
    assert dt.promote_types(b, a) is want


def test_promotion_is_symmetric_and_associative_on_integers() -> None:
    ok = [d for d in SIGNED + U if d is not ember.uint64]
    for a, b, c in itertools.product(ok, repeat=3):
        try:
            left = dt.promote_types(dt.promote_types(a, b), c)
            right = dt.promote_types(a, dt.promote_types(b, c))
        except ember.DTypeError:
            continue
        assert left is right


@pytest.mark.parametrize("signed", SIGNED)
def test_uint64_with_signed_is_an_error_that_says_what_to_do(signed: dt.DType) -> None:
    with pytest.raises(ember.DTypeError, match=r"uint64.*astype"):
        dt.promote_types(ember.uint64, signed)


def test_can_cast_and_isdtype() -> None:
    assert ember.can_cast(ember.int8, ember.int32)
    assert not ember.can_cast(ember.int32, ember.int8)
    assert not ember.can_cast(ember.float32, ember.int64)
    assert not ember.can_cast(ember.uint64, ember.int64)
    assert ember.isdtype(ember.float32, "real floating")
    assert ember.isdtype(ember.uint8, ("signed integer", "unsigned integer"))
    assert not ember.isdtype(ember.bool, "numeric")
    assert ember.isdtype(ember.complex64, ember.complex64)


def test_finfo_iinfo_match_numpy() -> None:
    np = pytest.importorskip("numpy")
    for d in (ember.float16, ember.float32, ember.float64):
        f, g = ember.finfo(d), np.finfo(d.name)
        assert (f.bits, f.eps, f.max, f.min, f.smallest_normal) == (g.bits, g.eps, g.max, g.min, g.smallest_normal)
    for d in SIGNED + U:
        assert (ember.iinfo(d).min, ember.iinfo(d).max) == (np.iinfo(d.name).min, np.iinfo(d.name).max)
    assert ember.finfo(ember.complex64).dtype is ember.float32
    with pytest.raises(ember.DTypeError):
        ember.finfo(ember.int32)
    with pytest.raises(ember.DTypeError):
        ember.iinfo(ember.float32)


def test_as_dtype_names_the_choices_on_error() -> None:
    assert dt.as_dtype("float32") is ember.float32
    assert dt.as_dtype(float) is ember.float32
    with pytest.raises(ember.DTypeError, match=r"ember\.float32"):
        dt.as_dtype("float31")


def test_result_type_with_scalars_is_weak() -> None:
    assert ember.result_type(ember.int8, 1) is ember.int8
    assert ember.result_type(ember.float16, 1.5) is ember.float16
    assert ember.result_type(ember.int32, 1.5) is ember.float32
    assert ember.result_type(ember.float32, 1j) is ember.complex64
