"""The hooks an ember plugin may implement (pluggy project name ``"ember"``).

A backend package declares an entry point in the ``ember.backends`` group that names a module
implementing :func:`ember_register_backends`; see ``docs/writing-a-backend.md``. The module must
be cheap to import: it must not import the array library itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("ember")
hookimpl = pluggy.HookimplMarker("ember")


@hookspec
def ember_register_backends(register: Callable[..., None]) -> None:
    """Register backends with ``register(name, factory, *, distribution, native)``.

    ``factory`` is ``"module:function"``; ember imports the module and calls the function (no
    arguments, returning an :class:`ember.Backend`) only when the backend is first used.
    ``distribution`` is the plugin's own distribution name (for its version) and ``native`` the
    distribution of the array library it wraps (for ``ember info``), e.g. ``"numpy"``.
    """
