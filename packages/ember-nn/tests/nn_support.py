"""Helpers the ember-nn tests share."""

from __future__ import annotations

import contextlib

import ember


def loadable_backends() -> list[str]:
    """The installed backends that load here (whatever EMBER_TEST_BACKEND says)."""
    names = []
    for info in ember.backends(probe=False):
        with contextlib.suppress(ember.EmberError):
            ember.load_backend(info.name)
            names.append(info.name)
    return names
