"""What the ember-mad tests share: the backends their ``backend`` fixture runs on (here, not in
a conftest.py: ember-nn's tests import their conftest by name, and a second one would shadow
it when both folders run)."""

from __future__ import annotations

import os

from ember.testing import loadable_backends


def backends() -> list[str]:
    """Every backend that loads, or only EMBER_TEST_BACKEND when set (as each nox session
    does)."""
    chosen = os.environ.get("EMBER_TEST_BACKEND")
    if chosen:
        return [chosen]
    return loadable_backends()
