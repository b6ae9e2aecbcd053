"""Linear-algebra failures of the conformance kit: ill-posed matrices raise ``LinAlgError`` with
the same message on every backend, naming the op, the problem and the failing matrices of a
batch (docs/semantics.md, "Linear algebra failures"). The values ill-posed matrices give where
they are not errors (``det`` of a singular matrix, ``pinv``, ``qr`` of non-finite input) are
cases in ``_cases_linalg_edges.py``. Bad arguments of linalg ops (a bool ``cross``, an ``rtol``
that does not fit the batch, the minimum norms of empty matrices) are registered here as the
kit's error cases (``_error_cases.err``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

import ember
from ember._dtypes import as_dtype

from ._error_cases import err, mismatch

__all__ = ["LINALG_FAILURES", "LinalgFailure", "LinalgFailures"]

E = ember
NAN, INF = float("nan"), float("inf")
I2 = [[1.0, 0.0], [0.0, 1.0]]
SINGULAR = [[1.0, 2.0], [2.0, 4.0]]  # rows repeat: an exactly zero LU pivot on every backend
INDEFINITE = [[1.0, 2.0], [2.0, 1.0]]
SEMIDEFINITE = [[1.0, 1.0], [1.0, 1.0]]
WITH_NAN = [[NAN, 0.0], [0.0, 1.0]]
WITH_INF = [[1.0, 0.0], [INF, 1.0]]


@dataclass(frozen=True)
class LinalgFailure:
    op: str  # "linalg.inv"
    variant: str
    thunk: Callable[[Callable[..., Any]], Any]  # (T) -> runs the op; T(obj) makes a tensor
    says: tuple[str, ...]  # words the message must hold (the problem, the batch indices)
    dtype: str = "float32"

    @property
    def id(self) -> str:
        return f"{self.op}-{self.variant}-{self.dtype}"

    def raised(self, name: str) -> BaseException | None:
        def t(obj: Any) -> Any:
            return E.asarray(np.asarray(obj, dtype=self.dtype), backend=name)

        try:
            with E.use_backend(name):
                out = self.thunk(t)
                for leaf in out if isinstance(out, (tuple, list)) else (out,):
                    if isinstance(leaf, E.Tensor):
                        leaf.numpy()  # lazy backends would raise here
        except Exception as exc:
            return exc
        return None


LINALG_FAILURES: list[LinalgFailure] = []


def fails(op: str, variant: str, thunk: Callable[..., Any], *says: str,
          dtypes: tuple[str, ...] = ("float32", "float64", "complex64")) -> None:
    for d in dtypes:
        LINALG_FAILURES.append(LinalgFailure(op, variant, thunk, says, d))


_SING = "singular (a zero pivot in"
_NPD = "not positive definite"
_NONF = "NaN or infinite entries"
_ONE = "1 of the 2 matrices"

# inv, solve, matrix_power(n < 0): singular or non-finite -----------------------------------------
fails("linalg.inv", "singular", lambda T: E.linalg.inv(T(SINGULAR)), _SING, "the matrix (")
fails("linalg.inv", "zero", lambda T: E.linalg.inv(T([[0.0, 0.0], [0.0, 0.0]])), _SING)
fails("linalg.inv", "batch-one-singular", lambda T: E.linalg.inv(T([I2, SINGULAR])), _SING,
      _ONE, "at batch index (1,)")
fails("linalg.inv", "batch-2d-several-singular",
      lambda T: E.linalg.inv(T([[I2, SINGULAR, I2], [SINGULAR, I2, SINGULAR]])), _SING,
      "3 of the 6 matrices", "are singular", "at batch indices (0, 1), (1, 0), (1, 2)")
fails("linalg.inv", "nan", lambda T: E.linalg.inv(T(WITH_NAN)), _NONF)
fails("linalg.inv", "inf", lambda T: E.linalg.inv(T(WITH_INF)), _NONF)
fails("linalg.inv", "batch-nan-and-singular", lambda T: E.linalg.inv(T([SINGULAR, WITH_NAN])),
      _NONF, _ONE, "at batch index (1,)")  # non-finite is reported first
fails("linalg.solve", "singular", lambda T: E.linalg.solve(T(SINGULAR), T([1.0, 1.0])), _SING,
      "x1 (")
fails("linalg.solve", "batch-one-singular",
      lambda T: E.linalg.solve(T([I2, SINGULAR]), T([[[1.0], [1.0]], [[1.0], [2.0]]])), _SING,
      _ONE, "of x1", "at batch index (1,)")
fails("linalg.solve", "broadcast-x1",
      lambda T: E.linalg.solve(T([SINGULAR]), T(np.ones((3, 2, 1)))), _SING,
      "1 of the 1 matrices of x1", "at batch index (0,)")
fails("linalg.solve", "nan", lambda T: E.linalg.solve(T(WITH_NAN), T([1.0, 1.0])), _NONF)
fails("linalg.matrix_power", "singular-negative",
      lambda T: E.linalg.matrix_power(T([I2, SINGULAR]), -2), _SING, "at batch index (1,)")

# cholesky: not positive definite or non-finite ---------------------------------------------------
fails("linalg.cholesky", "indefinite", lambda T: E.linalg.cholesky(T(INDEFINITE)), _NPD)
fails("linalg.cholesky", "semidefinite", lambda T: E.linalg.cholesky(T(SEMIDEFINITE)), _NPD)
fails("linalg.cholesky", "upper-indefinite",
      lambda T: E.linalg.cholesky(T(INDEFINITE), upper=True), _NPD)
fails("linalg.cholesky", "batch-one-indefinite",
      lambda T: E.linalg.cholesky(T([I2, INDEFINITE])), _NPD, _ONE, "at batch index (1,)")
fails("linalg.cholesky", "nan", lambda T: E.linalg.cholesky(T(WITH_NAN)), _NONF)
fails("linalg.cholesky", "inf", lambda T: E.linalg.cholesky(T([[INF, 0.0], [0.0, 1.0]])), _NONF)

# factorisations that fail only on non-finite input -----------------------------------------------
_NONFINITE_OPS: dict[str, Callable[[Any], Any]] = {
    "linalg.eigh": E.linalg.eigh,
    "linalg.eigvalsh": E.linalg.eigvalsh,
    "linalg.svd": E.linalg.svd,
    "linalg.svdvals": E.linalg.svdvals,
    "linalg.pinv": E.linalg.pinv,
    "linalg.matrix_rank": E.linalg.matrix_rank,
    "linalg.matrix_norm": lambda x: E.linalg.matrix_norm(x, ord=2),
}
for _op, _fn in _NONFINITE_OPS.items():
    fails(_op, "nan", lambda T, _fn=_fn: _fn(T(WITH_NAN)), _NONF, "the matrix (")
    fails(_op, "inf", lambda T, _fn=_fn: _fn(T([[INF, 0.0], [0.0, 1.0]])), _NONF)
    fails(_op, "batch-one-nan", lambda T, _fn=_fn: _fn(T([I2, WITH_NAN])), _NONF, _ONE,
          "at batch index (1,)")
fails("linalg.matrix_norm", "nuc-nan",
      lambda T: E.linalg.matrix_norm(T(WITH_NAN), ord="nuc"), _NONF)


# bad arguments (not ill-posed matrices): the same ember error type on every backend, through
# the kit's error cases ---------------------------------------------------------------------------
_B23 = np.ones((2, 2, 3), np.float32)
err("linalg.cross", "bool")(lambda T, U: E.linalg.cross(T(np.ones((2, 3), bool)),
                                                        T(np.ones((2, 3), bool))))
for _op in ("linalg.pinv", "linalg.matrix_rank"):
    _fn = getattr(E.linalg, _op[7:])
    err(_op, "rtol-shape")(lambda T, U, _fn=_fn: _fn(T(_B23), rtol=T(np.full(3, 0.1, np.float32))))
    err(_op, "rtol-beyond-batch")(
        lambda T, U, _fn=_fn: _fn(T(_B23), rtol=T(np.full((4, 2), 0.1, np.float32))))
    err(_op, "rtol-complex")(
        lambda T, U, _fn=_fn: _fn(T(_B23), rtol=T(np.full(2, 0.1, np.complex64))))
    mismatch(_op, lambda T, U, _fn=_fn: _fn(T(_B23), rtol=U(np.full(2, 0.1, np.float32))))
for _ord, _shape in ((-2, (2, 0, 3)), (-2, (0, 0)), (-1, (2, 3, 0)), (float("-inf"), (2, 0, 3))):
    err("linalg.matrix_norm", f"ord{_ord}-of-{'x'.join(map(str, _shape))}")(
        lambda T, U, _ord=_ord, _shape=_shape: E.linalg.matrix_norm(
            T(np.zeros(_shape, np.float32)), ord=_ord))


class LinalgFailures:
    """Mixed into ``BackendConformance``: each failure on the backend under test."""

    backend: ClassVar[str]
    reference: ClassVar[str]

    @pytest.mark.parametrize("failure", LINALG_FAILURES, ids=[f.id for f in LINALG_FAILURES])
    def test_linalg_failure(self, failure: LinalgFailure) -> None:
        """LinAlgError with the reference's message, naming the op, problem and matrices."""
        b = self._gate(failure.op)  # type: ignore[attr-defined]
        d = as_dtype(failure.dtype)
        allowed = b.capabilities.dtypes.get(b.devices.default().split(":")[0])
        if d not in b.to_native_dtype or (allowed is not None and d not in allowed):
            pytest.skip(f"backend {self.backend!r} has no {failure.dtype} on its default device")
        got = failure.raised(self.backend)
        assert isinstance(got, E.LinAlgError), (
            f"{failure.id}: expected ember.LinAlgError on {self.backend!r}, got {got!r}")
        msg = str(got)
        assert msg.startswith(failure.op + ": "), f"{failure.id}: message does not name the op: {msg}"
        for words in failure.says:
            assert words in msg, f"{failure.id}: {words!r} is not in the message: {msg}"
        ref = failure.raised(self.reference)
        assert isinstance(ref, E.LinAlgError) and str(ref) == msg, (
            f"{failure.id}: the message differs from the reference's ({self.reference!r}):\n"
            f"  {msg}\n  {ref}")
