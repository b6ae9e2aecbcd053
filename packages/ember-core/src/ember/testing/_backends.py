"""``loadable_backends``: the installed backends that load here, for tests parametrized over
them (a backend whose library is missing or broken is left out, not an error)."""

from __future__ import annotations

import contextlib

from .._errors import EmberError
from .._plugins import backends, load_backend

__all__ = ["loadable_backends"]


def loadable_backends() -> list[str]:
    """The names of the installed backends that load, in ``ember.backends()`` order.

    >>> set(loadable_backends()) <= {b.name for b in ember.backends(probe=False)}
    True
    """
    names = []
    for info in backends(probe=False):
        with contextlib.suppress(EmberError):
            load_backend(info.name)
            names.append(info.name)
    return names
