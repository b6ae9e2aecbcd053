"""The mlx kernels, one module per topic (the op's catalogue group). Each module's ``__all__``
names its kernels (the op's catalogue name with dots as underscores); ``MODULES`` is what the
backend is built from. Underscore modules hold helpers shared by several topics."""

from __future__ import annotations

from . import (
    activations,
    attention,
    autodiff,
    convolution,
    creation,
    dtypes,
    elementwise,
    fft,
    indexing,
    linalg,
    losses,
    manipulation,
    normalization,
    optimizers,
    pooling,
    random,
    searching,
    sets,
    sorting,
    statistical,
    utility,
)

MODULES = (
    activations, attention, autodiff, convolution, creation, dtypes, elementwise, fft, indexing,
    linalg, losses, manipulation, normalization, optimizers, pooling, random, searching, sets,
    sorting, statistical, utility,
)  # fmt: skip

__all__ = ["MODULES"]
