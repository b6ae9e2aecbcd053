"""The ember conformance kit on the numpy backend (NumPy is the reference)."""

from ember.testing import BackendConformance


class TestNumpyConformance(BackendConformance):
    backend = "numpy"
