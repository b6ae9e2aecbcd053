"""The activations a config may name: ``activation="relu"`` in a layer's arguments,
``{"__callable__": "relu"}`` in its JSON config.

The table lives here, below the layers, so that ``_serialize`` reads it without importing
``layers``; ``layers/_activations`` (where the functions are defined) fills it with
:func:`register` when ember_nn is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._errors import ConfigError
from ._names import lookup, name_in

__all__ = ["get", "name_of", "register"]

_BY_NAME: dict[str, Callable[..., Any]] = {}


def register(name: str, fn: Callable[..., Any]) -> None:
    """Make ``fn`` the activation called ``name`` in configs (a name is given once)."""
    known = _BY_NAME.get(name)
    if known is not None and known is not fn:
        raise ConfigError(f"activation name {name!r} is already taken by {known!r}")
    _BY_NAME[name] = fn


def get(name: str | Callable[..., Any] | None) -> Callable[..., Any]:
    """The activation function for a name (or the function itself; None is identity)."""
    return _BY_NAME["identity"] if name is None else lookup("activation", _BY_NAME, name)


def name_of(fn: Any) -> str | None:
    """The registered name of an activation function (None for anything else)."""
    return name_in(_BY_NAME, fn)
