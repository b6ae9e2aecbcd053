"""Gradient cases: for each differentiable op, a function of float inputs drawn by hypothesis.

A :class:`GradCase` builds a :class:`GradCall`: ``fn(*tensors)`` (returning a tensor or a
tuple of tensors) and the NumPy inputs it is differentiated at, chosen away from kinks and
singularities. The kit checks the gradient of ``sum(w * fn(x))`` (random weights ``w``) from
the tape against central finite differences, every engine against the generic one, and, for
``second=True`` cases, second derivatives through nested tapes.

Ops with no derivative (integer or boolean results, piecewise-constant outputs that ember does
not differentiate, data-dependent outputs) are listed in :data:`NOT_DIFFERENTIABLE` with the
reason; the coverage test fails for an op in neither table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import ember

__all__ = ["GRAD_CASES", "NOT_DIFFERENTIABLE", "GradCall", "GradCase", "grad_case", "load_grad_cases"]


@dataclass
class GradCall:
    fn: Callable[..., Any]  # fn(*tensors) -> tensor or tuple of tensors
    args: tuple[np.ndarray, ...]  # float64 / complex128 inputs (each differentiated)
    note: str = ""

    def __post_init__(self) -> None:
        self.args = tuple(np.array(a, dtype=np.complex128 if np.iscomplexobj(a) else np.float64)
                          for a in self.args)


@dataclass(frozen=True)
class GradCase:
    op: str
    variant: str
    build: Callable[[Any], GradCall]
    tol: float = 1.0  # multiplies the tolerances
    second: bool = False  # also check second derivatives (element-wise ops)
    examples: int | None = None
    complex: bool = False  # inputs are complex (skipped where the backend has no complex128)
    step: float = 1e-6  # finite-difference step (relative to max(1, |x|))

    @property
    def id(self) -> str:
        return f"{self.op}-{self.variant}" if self.variant else self.op


GRAD_CASES: list[GradCase] = []


def grad_case(op: str, variant: str = "", **kw: Any) -> Callable[..., Any]:
    """Decorator registering ``build(data) -> GradCall`` as a gradient case of ``op``."""

    def deco(build: Callable[[Any], GradCall]) -> Callable[[Any], GradCall]:
        GRAD_CASES.append(GradCase(op, variant, build, **kw))
        return build

    return deco


#: Catalogue ops without a derivative, and why (the coverage test accepts these).
NOT_DIFFERENTIABLE: dict[str, str] = {
    **{op: "creates an array from shapes and scalars: no tensor input" for op in (
        "arange", "empty", "empty_like", "eye", "full", "full_like", "linspace", "ones",
        "ones_like", "zeros", "zeros_like", "fft.fftfreq", "fft.rfftfreq")},
    **{op: "boolean result" for op in (
        "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "isfinite",
        "isinf", "isnan", "signbit", "logical_and", "logical_or", "logical_xor", "logical_not",
        "all", "any")},
    **{op: "integer or bitwise op" for op in (
        "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_invert", "bitwise_left_shift",
        "bitwise_right_shift")},
    **{op: "integer result (indices or counts)" for op in (
        "argmax", "argmin", "argsort", "nonzero", "searchsorted", "count_nonzero",
        "linalg.matrix_rank", "nn.one_hot")},
    **{op: "metadata, not an array op" for op in (
        "can_cast", "finfo", "iinfo", "isdtype", "result_type")},
    "unique_all": "values are a data-dependent selection of x: no gradient (an error if one "
                  "is asked to flow through it)",
    "unique_counts": "as unique_all", "unique_inverse": "as unique_all",
    "unique_values": "as unique_all",
    "stop_gradient": "its purpose: the result is a constant to every tape",
    **{op: "an optimiser step, not differentiated: an input a recording tape tracks is an "
           "error" for op in ("nn.sgd_update", "nn.adam_update", "nn.rmsprop_update")},
    "from_dlpack": "imports an array from another library: a new constant, like asarray of data",
    **{op: "random numbers: no tensor input" for op in (
        "random.uniform", "random.normal", "random.randint", "random.truncated_normal",
        "random.bernoulli", "random.categorical", "random.permutation", "random.bits")},
}


def load_grad_cases() -> list[GradCase]:
    """Import every gradient-case module (each registers its cases) and return the table."""
    from . import (  # noqa: F401
        _grad_cases_arrays,
        _grad_cases_complex,
        _grad_cases_elementwise,
        _grad_cases_fft,
        _grad_cases_linalg,
        _grad_cases_linalg_ops,
        _grad_cases_nn,
        _grad_cases_recurrent,
    )

    return GRAD_CASES


def on(x: ember.Tensor, a: Any) -> ember.Tensor:
    """A constant NumPy array as a tensor of x's backend (for constants inside ``fn``)."""
    return ember.asarray(a, backend=x.backend)
