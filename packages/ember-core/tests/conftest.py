from __future__ import annotations

import os
from collections.abc import Iterator

import ember
import pytest
from core_support import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each installed backend in turn, as the default inside the test."""
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
