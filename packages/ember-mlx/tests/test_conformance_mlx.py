"""The ember conformance kit on the mlx backend (NumPy is the reference)."""

from ember.testing import BackendConformance


class TestMLXConformance(BackendConformance):
    backend = "mlx"
