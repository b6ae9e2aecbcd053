"""Shared by ember-core's tests: the backends installed (and loadable) here."""

from __future__ import annotations

import ember


def loadable_backends() -> list[str]:
    names = []
    for info in ember.backends(probe=False):
        try:
            ember.load_backend(info.name)
            names.append(info.name)
        except ember.EmberError:
            pass
    return names


BACKENDS = loadable_backends()
