"""Where layers get their initialisation keys: an explicit ``key=``, else a seeded stream.

``ember_nn.manual_seed(s)`` restarts the stream for this context; ``with ember_nn.seeded(s):``
does so for a block. Each layer built without a key takes the next key of the stream, so the
same seed and the same sequence of constructions give the same weights, on every backend
(``ember.random`` draws the same numbers everywhere).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import ember

__all__ = ["manual_seed", "next_key", "seeded"]


class _Stream:
    __slots__ = ("count", "key")

    def __init__(self, seed: int) -> None:
        self.key = ember.random.key(seed)
        self.count = 0

    def next(self) -> ember.random.Key:
        self.count += 1
        return ember.random.fold_in(self.key, self.count)


_GLOBAL = _Stream(0)  # the process's stream until manual_seed/seeded set one for a context
_stream: contextvars.ContextVar[_Stream | None] = contextvars.ContextVar("ember_nn_init_stream",
                                                                         default=None)


def manual_seed(seed: int) -> None:
    """Restart the initialisation stream from ``seed`` (in this thread/task context)."""
    _stream.set(_Stream(int(seed)))


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Layers built inside the block draw their keys from a stream started at ``seed``."""
    token = _stream.set(_Stream(int(seed)))
    try:
        yield
    finally:
        _stream.reset(token)


def next_key(key: Any = None) -> ember.random.Key:
    """``key`` as a Key (an int is a seed), or the stream's next key when it is None."""
    if key is None:
        return (_stream.get() or _GLOBAL).next()
    if isinstance(key, ember.random.Key):
        return key
    return ember.random.key(int(key))
