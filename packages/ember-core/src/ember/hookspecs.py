"""The hooks an ember plugin may implement (pluggy project name ``"ember"``).

A backend package declares an entry point in the ``ember.backends`` group that names a module
implementing :func:`ember_register_backends`; see ``docs/writing-a-backend.md``. The module must
be cheap to import: it must not import the array library itself.

``hookimpl`` and ``hookspec`` mark functions the way ``pluggy.HookimplMarker("ember")`` and
``pluggy.HookspecMarker("ember")`` do, but without importing pluggy (~10 ms without bytecode, paid
by the first op of every process): ember calls the hook itself when it discovers the backends,
and pluggy's own markers are applied when its ``PluginManager`` is first asked for
(``ember._plugins.plugin_manager()``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["hookimpl", "hookspec"]

PROJECT = "ember"


class _Marker:
    """Records a pluggy marker's options on a function; ``apply`` hands them to pluggy."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "impl" or "spec"
        self.marked: list[tuple[Callable[..., Any], dict[str, Any]]] = []

    def __call__(self, function: Callable[..., Any] | None = None,
                 **options: Any) -> Any:
        def mark(f: Callable[..., Any]) -> Callable[..., Any]:
            self.marked.append((f, options))
            return f

        return mark if function is None else mark(function)

    def apply(self) -> None:
        """Set pluggy's own marker on every function marked so far (idempotent)."""
        import pluggy

        real = (pluggy.HookimplMarker if self.kind == "impl" else pluggy.HookspecMarker)(PROJECT)
        for f, options in self.marked:
            if not hasattr(f, f"{PROJECT}_{self.kind}"):
                real(f, **options)


hookimpl = _Marker("impl")
hookspec = _Marker("spec")


@hookspec
def ember_register_backends(register: Callable[..., None]) -> None:
    """Register backends with ``register(name, factory, *, distribution, native)``.

    ``factory`` is ``"module:function"``; ember imports the module and calls the function (no
    arguments, returning an :class:`ember.Backend`) only when the backend is first used.
    ``distribution`` is the plugin's own distribution name (for its version) and ``native`` the
    distribution of the array library it wraps (for ``ember info``), e.g. ``"numpy"``.
    """
