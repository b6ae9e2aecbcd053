"""Functions named in configs (activations, losses, metrics): one lookup each way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ._errors import ConfigError

__all__ = ["lookup", "name_in"]

F = TypeVar("F", bound=Callable[..., Any])


def lookup(kind: str, table: Mapping[str, F], name: str | F) -> F:
    """The function ``table`` names ``name`` (a callable is returned as it is); an unknown name
    is a ConfigError listing the known ones."""
    if callable(name):
        return name
    fn = table.get(name) if isinstance(name, str) else None
    if fn is None:
        raise ConfigError(f"unknown {kind} {name!r}; known: {sorted(table)}")
    return fn


def name_in(table: Mapping[str, Any], fn: Any) -> str | None:
    """The name ``fn`` has in ``table`` (a known name is its own), None for anything else."""
    if isinstance(fn, str):
        return fn if fn in table else None
    return next((k for k, v in table.items() if v is fn), None)
