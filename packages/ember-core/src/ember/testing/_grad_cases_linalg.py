"""Gradient cases of the linear-algebra ops (matrices kept well conditioned, spectra apart)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

import ember

from . import _strategies as S
from ._grad_cases import GradCall, grad_case

E = ember
F64 = E.float64


def _m(data: Any, shape: tuple[int, ...]) -> Any:
    return S.arr(data, F64, shape, -2, 2)


@grad_case("matmul", "matrices")
def _matmul(data: Any) -> GradCall:
    n, k, m = (data.draw(st.integers(1, 3), label="size") for _ in range(3))
    b1, b2 = S.bcast_shapes(data, 2, 0, 2, 1, 2)
    return GradCall(E.matmul, (_m(data, (*b1, n, k)), _m(data, (*b2, k, m))))


@grad_case("matmul", "vectors")
def _matmul_vec(data: Any) -> GradCall:
    k = data.draw(st.integers(1, 3), label="size")
    kind = data.draw(st.sampled_from(["vv", "vm", "mv"]), label="kind")
    a = _m(data, (k,) if kind[0] == "v" else (2, k))
    b = _m(data, (k,) if kind[1] == "v" else (k, 3))
    return GradCall(E.matmul, (a, b))


@grad_case("linalg.matmul")
def _linalg_matmul(data: Any) -> GradCall:
    return GradCall(E.linalg.matmul, (_m(data, (2, 3)), _m(data, (3, 2))))


@grad_case("tensordot")
def _tensordot(data: Any) -> GradCall:
    a = _m(data, (2, 3, 2))
    b = _m(data, (3, 2, 2))
    axes = data.draw(st.sampled_from([1, ((1, 0), (0, 1)), ((2,), (1,))]), label="axes")
    if axes == 1:
        return GradCall(lambda x, y: E.tensordot(x, y, axes=1), (a, _m(data, (2, 4))))
    return GradCall(lambda x, y: E.tensordot(x, y, axes=axes), (a, b))


@grad_case("linalg.tensordot")
def _linalg_tensordot(data: Any) -> GradCall:
    return GradCall(lambda x, y: E.linalg.tensordot(x, y, axes=1), (_m(data, (2, 3)), _m(data, (3,))))


@grad_case("linalg.outer")
def _outer(data: Any) -> GradCall:
    return GradCall(E.linalg.outer, (_m(data, (3,)), _m(data, (2,))))


@grad_case("linalg.vecdot")
def _linalg_vecdot(data: Any) -> GradCall:
    return GradCall(E.linalg.vecdot, (_m(data, (2, 3)), _m(data, (3,))))


@grad_case("linalg.matrix_transpose")
def _linalg_mt(data: Any) -> GradCall:
    return GradCall(E.linalg.matrix_transpose, (_m(data, (2, 3)),))
