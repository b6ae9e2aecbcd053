"""The per-op case table: what the kit runs for each op of the catalogue.

A :class:`Case` names an op, a variant and the dtypes it runs with; its ``build`` function draws
inputs with hypothesis and returns a :class:`Call`. NumPy arrays among the call's arguments
(also inside lists, tuples and dicts) become tensors of the backend that runs it; ``BACKEND``
becomes the backend's name. The op is run on the backend under test and on the NumPy reference,
and the results are compared (``check`` replaces the value comparison for results that are not
unique, such as eigenvectors).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import ember

__all__ = ["BACKEND", "CASES", "CONTEXT", "Call", "Case", "by_op", "call", "case", "resolve"]


class _BackendName:
    def __repr__(self) -> str:
        return "BACKEND"


#: Placeholder for the name of the backend a call runs on (creation ops, ``backend=BACKEND``).
BACKEND: Any = _BackendName()


@dataclass
class Call:
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    fn: Callable[..., Any] | None = None  # default: the public op
    note: str = ""  # shown on failure next to the inputs


def call(*args: Any, fn: Callable[..., Any] | None = None, **kwargs: Any) -> Call:
    return Call(args, kwargs, fn)


@dataclass(frozen=True)
class Case:
    op: str
    variant: str
    dtypes: tuple[Any, ...]  # () for cases without a dtype parameter
    build: Callable[[Any, Any], Call]
    tol: float = 1.0  # multiplies the dtype's tolerance
    check: Callable[..., None] | None = None  # custom comparison (see _suite)
    bf16: bool = False  # also run in bfloat16 against the float32 reference
    values: bool = True  # compare values (False: dtype and shape only, e.g. empty)
    examples: int | None = None  # overrides the class's max_examples


CASES: list[Case] = []
#: set by the suite while a case runs: "backends" -> (backend under test, reference)
CONTEXT: dict[str, Any] = {}


def case(op: str, variant: str, dtypes: tuple[Any, ...] = (), **kw: Any) -> Callable[..., Any]:
    """Decorator registering ``build(data, dtype) -> Call`` as a case of ``op``."""

    def deco(build: Callable[[Any, Any], Call]) -> Callable[[Any, Any], Call]:
        CASES.append(Case(op, variant, tuple(dtypes), build, **kw))
        return build

    return deco


def resolve(op: str) -> Callable[..., Any] | None:
    """The public function of a catalogue op (``linalg.solve`` -> ``ember.linalg.solve``)."""
    obj: Any = ember
    for part in op.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def by_op() -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    for c in CASES:
        out.setdefault(c.op, []).append(c)
    return out


def load_all() -> list[Case]:
    """Import every case module (each registers its cases) and return the table."""
    from . import (  # noqa: F401
        _cases_array_api,
        _cases_arrays,
        _cases_creation,
        _cases_elementwise,
        _cases_linalg,
        _cases_linalg_edges,
        _cases_nn,
        _cases_optimizers,
        _cases_recurrent,
        _cases_reductions,
    )

    return CASES


def np_scalar(v: Any) -> Any:
    """A NumPy scalar as a plain Python scalar."""
    return v.item() if isinstance(v, np.generic) else v
