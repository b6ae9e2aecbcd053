"""What the ember-mad tests share: the backends their ``backend`` fixture runs on (here, not in
a conftest.py: ember-nn's tests import their conftest by name, and a second one would shadow
it when both folders run)."""

from __future__ import annotations

import contextlib
import os

import ember


def backends() -> list[str]:
    """Every backend that loads, or only EMBER_TEST_BACKEND when set (as each nox session
    does)."""
    chosen = os.environ.get("EMBER_TEST_BACKEND")
    if chosen:
        return [chosen]
    names = []
    for info in ember.backends(probe=False):
        with contextlib.suppress(ember.EmberError):
            ember.load_backend(info.name)
            names.append(info.name)
    return names
