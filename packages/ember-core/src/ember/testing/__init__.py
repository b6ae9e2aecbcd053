"""Ember's backend conformance kit.

A backend package runs every op of the catalogue against the NumPy reference with::

    # tests/test_conformance.py
    from ember.testing import BackendConformance

    class TestMyLib(BackendConformance):
        backend = "mylib"

See ``docs/writing-a-backend.md`` ("Running the conformance kit"). Needs pytest and hypothesis.
"""

from ._backends import loadable_backends
from ._cases import CASES, Call, Case, load_all
from ._compare import TOLERANCES, assert_close
from ._derived import derived_backend
from ._processes import run_processes
from ._suite import BackendConformance, covered_ops

__all__ = ["CASES", "TOLERANCES", "BackendConformance", "Call", "Case", "assert_close",
           "covered_ops", "derived_backend", "load_all", "loadable_backends", "run_processes"]
