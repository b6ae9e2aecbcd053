"""The numpy kernels, one module per topic. Each module's ``__all__`` names its kernels (the
op's catalogue name with dots as underscores); ``MODULES`` is what the backend is built from."""

from __future__ import annotations

from . import (
    activations,
    creation,
    elementwise,
    fft,
    indexing,
    linalg,
    manipulation,
    nn,
    random,
    reductions,
    special,
)

MODULES = (activations, creation, elementwise, fft, indexing, linalg, manipulation, nn, random, reductions, special,)

__all__ = ["MODULES"]
