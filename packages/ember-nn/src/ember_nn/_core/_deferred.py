"""Building a model without initialising it, for a caller about to overwrite every variable.

Under :func:`deferred_init` the variables layers build through ``ember_nn.init`` (Dense, Conv,
Embedding, the norms' weights and running statistics) hold placeholders: read-only broadcast
zeros of the right shape and dtype that allocate one element. ``ember_nn.load`` builds the
model from ``config.json`` this way, checks it against the weights file's header, and only then
reads the weights into it, so a config naming ``Dense(20000, 20000)`` beside a small file
fails before allocating anything, and no random numbers are drawn only to be overwritten.
A placeholder is an ordinary tensor (``Variable.assign`` replaces it), so a model built this
way and never loaded computes as if its weights were zeros. Variables a custom module builds
directly with ``ember.Variable(...)`` are initialised as usual.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import ember

__all__ = ["deferred_init", "deferring", "placeholder"]

_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar("ember_nn_deferred_init",
                                                                 default=False)


@contextlib.contextmanager
def deferred_init() -> Iterator[None]:
    """Inside the block, variables that layers build through ``ember_nn.init`` are placeholders
    (zeros of the right shape and dtype that take no memory) instead of initialised values:
    for building a model whose every variable is about to be loaded.

    >>> with deferred_init():
    ...     big = ember_nn.Dense(20000, 20000)   # no 1.6 GB of random numbers
    >>> big.weight.shape
    (20000, 20000)
    """
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def deferring() -> bool:
    """Whether :func:`deferred_init` is active."""
    return _deferred.get()


def placeholder(shape: tuple[int, ...], dtype: ember.DType) -> ember.Tensor:
    """A read-only zero tensor of ``shape`` that allocates one element (a broadcast view)."""
    return ember.broadcast_to(ember.zeros((), dtype=dtype), shape)
