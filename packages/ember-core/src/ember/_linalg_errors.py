"""The errors of ``ember.linalg`` ops on ill-posed matrices, worded once for every backend.

A backend's kernel finds out *whether* a matrix failed its own way (NumPy: LAPACK raises;
torch: the ``info`` of ``inv_ex``/``solve_ex``/``cholesky_ex``; MLX: the factorisation's
pivots or diagonal) and *which* ones on the failure path only; it then raises
:func:`linalg_error`, so the message is the same on every backend. See ``docs/semantics.md``,
"Linear algebra failures".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._errors import LinAlgError

__all__ = ["NONFINITE", "NOT_CONVERGED", "NOT_PD", "SINGULAR", "failing", "linalg_error"]

SINGULAR = "singular"
NOT_PD = "not_pd"
NONFINITE = "nonfinite"
NOT_CONVERGED = "not_converged"

# (one matrix, several matrices)
_WHAT = {
    SINGULAR: ("is singular (a zero pivot in its LU factorisation)",
               "are singular (a zero pivot in their LU factorisations)"),
    NOT_PD: ("is not positive definite", "are not positive definite"),
    NONFINITE: ("has NaN or infinite entries", "have NaN or infinite entries"),
    NOT_CONVERGED: ("did not converge (the iterative algorithm failed)",
                    "did not converge (the iterative algorithm failed)"),
}
_HINT = {
    ("linalg.inv", SINGULAR): "it has no inverse; linalg.pinv gives the pseudo-inverse",
    ("linalg.solve", SINGULAR): "x1 @ out = x2 has no unique solution; linalg.pinv(x1) @ x2 "
                                "gives the least-squares one",
    ("linalg.matrix_power", SINGULAR): "a negative power needs an invertible matrix",
    ("linalg.cholesky", NOT_PD): "Cholesky needs a Hermitian positive-definite matrix; add a "
                                 "small multiple of the identity if it is only semi-definite, or "
                                 "use linalg.eigh",
}
_MAX_LISTED = 5


def linalg_error(op: str, problem: str, shape: Sequence[int], dtype: Any = None,
                 bad: Iterable[Any] | None = None, *, name: str | None = None) -> LinAlgError:
    """The error for ``op`` (``"linalg.inv"``) whose input of ``shape`` (matrices in the last two
    axes) has a ``problem`` (SINGULAR, NOT_PD, NONFINITE or NOT_CONVERGED). ``bad`` flags the
    failing matrices in C order over the batch axes (None: not known which); ``name`` names the
    operand (``"x1"``) where the op takes several."""
    shape = tuple(int(n) for n in shape)
    if dtype is not None:
        dtype = str(dtype).rsplit(".", 1)[-1]  # a native dtype: torch.float32 -> float32
    batch = shape[:-2]
    desc = f"{dtype}, shape {shape}" if dtype is not None else f"shape {shape}"
    one, many = _WHAT[problem]
    flags = None if bad is None else [bool(b) for b in bad]
    total = 1
    for n in batch:
        total *= n
    if not batch:
        head = f"{name or 'the matrix'} ({desc}) {one}"
    elif flags is None or len(flags) != total or not any(flags):
        head = f"a matrix of {name or 'the batch'} ({desc}) {one}"
    else:
        idx = [i for i, f in enumerate(flags) if f]
        where = ", ".join(str(_unravel(i, batch)) for i in idx[:_MAX_LISTED])
        more = f" and {len(idx) - _MAX_LISTED} more" if len(idx) > _MAX_LISTED else ""
        head = (f"{len(idx)} of the {total} matrices of {name or 'the batch'} ({desc}) "
                f"{one if len(idx) == 1 else many}, at batch "
                f"{'index' if len(idx) == 1 else 'indices'} {where}{more}")
    hint = _HINT.get((op, problem))
    if hint is None and problem == NONFINITE:
        hint = "it cannot be factorised; check the input with ember.isfinite"
    return LinAlgError(f"{op}: {head}" + (f": {hint}" if hint else ""))


def _unravel(i: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for n in reversed(shape):
        i, r = divmod(i, n)
        out.append(r)
    return tuple(reversed(out))


def failing(fn: Callable[[Any], Any], x: Any, errors: type[BaseException] | tuple[type[BaseException], ...]
            ) -> list[bool]:
    """Which matrices of the stack ``x`` make ``fn`` raise one of ``errors`` (C order over the
    batch axes): one call per matrix, for the failure path of a kernel whose library tells
    only that some matrix failed."""
    out = []
    for idx in itertools.product(*(range(n) for n in x.shape[:-2])):
        try:
            fn(x[idx] if idx else x)
        except errors:
            out.append(True)
        else:
            out.append(False)
    return out
