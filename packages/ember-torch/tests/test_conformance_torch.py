"""The ember conformance kit on the torch backend (NumPy is the reference)."""

from ember.testing import BackendConformance


class TestTorchConformance(BackendConformance):
    backend = "torch"
