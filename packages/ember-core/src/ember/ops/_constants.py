"""Small constant tensors that ops build from shapes alone — attention's causal/window band,
avg_pool's divisor, the initial values of cumulative ops — cached per backend, device, dtype
and shape, so a call that repeats a shape (every training step) does not rebuild them.

Only small constants belong here (the callers decide: a few MiB at most); the cache holds at
most ``_LIMIT`` of them and starts afresh when full. It is a plain dict, not
``functools.lru_cache``: ``torch.compile`` warns about tracing through lru_cache.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["constant"]

C = TypeVar("C")
_LIMIT = 128
_CACHE: dict[Hashable, Any] = {}


def constant(key: Hashable, build: Callable[[], C]) -> C:
    """The tensor ``build()`` made for ``key`` (which names the op, the root backend, the
    device, the dtype and the shapes it depends on), built on the first call only."""
    try:
        return _CACHE[key]
    except KeyError:
        pass
    if len(_CACHE) >= _LIMIT:
        _CACHE.clear()
    value = _CACHE[key] = build()
    return value
