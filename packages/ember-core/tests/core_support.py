"""Shared by ember-core's tests: the backends installed (and loadable) here."""

from __future__ import annotations

from ember.testing import loadable_backends

BACKENDS = loadable_backends()
