"""Names in configs: functions (activations, losses, metrics), one lookup each way, and the
name a config class (module, optimiser, schedule) is registered under."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ._errors import ConfigError

__all__ = ["config_name", "lookup", "name_in"]

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


def config_name(registry: Mapping[str, type], cls: type) -> str:
    """The name ``cls`` takes in ``registry``: its ``config_name`` or class name, or its full
    ``module.qualname`` where another class already holds that name."""
    name: str = cls.__dict__.get("config_name", cls.__name__)
    if name in registry and registry[name].__qualname__ != cls.__qualname__:
        name = f"{cls.__module__}.{cls.__qualname__}"
    return name
