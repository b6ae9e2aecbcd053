from __future__ import annotations

from collections.abc import Iterator

import ember
import pytest
from core_support import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each installed backend in turn, as the default inside the test."""
    with ember.use_backend(request.param):
        yield request.param
