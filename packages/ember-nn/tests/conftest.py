"""ember-nn tests run on every backend that loads (or only EMBER_TEST_BACKEND when it is set,
as each nox session does): request the ``backend`` fixture to run a test once per backend,
inside ``ember.use_backend``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import ember
import pytest
from ember.testing import loadable_backends


def _backends() -> list[str]:
    chosen = os.environ.get("EMBER_TEST_BACKEND")
    if chosen:
        return [chosen]
    return loadable_backends()


BACKENDS = _backends()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of the backend this test runs on (it is the default inside the test)."""
    with ember.use_backend(request.param):
        yield request.param


@pytest.fixture(autouse=True, scope="session")
def _private_probe_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """ember.backends() caches its probes under XDG_CACHE_HOME: the tests (and the child
    processes they start) use a cache of their own, never the user's ~/.cache/ember."""

    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old
