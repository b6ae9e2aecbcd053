"""Functions that run outside ``torch.compile``'s graph, with no import of ``torch._dynamo``.

``torch.compiler.disable`` imports ``torch._dynamo`` (and with it sympy): used as a decorator at
import, it cost the first op of every process ~1.5 s (issue 12). Outside a compiled region the
disabled function is the function itself, so ``outside_graph`` calls it directly, and makes the
disabled one on the first call that happens while torch compiles (dynamo is loaded then).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

__all__ = ["outside_graph"]

F = TypeVar("F", bound=Callable[..., Any])


def outside_graph(fn: F) -> F:
    """``torch.compiler.disable(fn)`` (a graph break around ``fn`` under torch.compile), made
    lazily: eager calls run ``fn`` itself and never import dynamo."""
    disabled: list[Callable[..., Any]] = []

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not torch.compiler.is_compiling():
            return fn(*args, **kwargs)
        if not disabled:
            disabled.append(torch.compiler.disable(fn))
        return disabled[0](*args, **kwargs)

    return run  # type: ignore[return-value]
