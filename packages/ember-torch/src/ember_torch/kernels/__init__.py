"""The torch kernels, one module per topic. Each module's ``__all__`` names its kernels (the
op's catalogue name with dots as underscores); ``MODULES`` is what the backend is built from."""

from __future__ import annotations

from . import (
    creation,
    elementwise,
    fft,
    indexing,
    linalg,
    manipulation,
    nn,
    random,
    reductions,
    searching,
)

MODULES = (creation, elementwise, fft, indexing, linalg, manipulation, nn, random, reductions, searching,)

__all__ = ["MODULES"]
