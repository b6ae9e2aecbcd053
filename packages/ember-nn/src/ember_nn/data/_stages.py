"""The element-wise and ordering stages: map, filter, shuffle, cache, repeat, take, shard."""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import ember

from .._core._errors import ConfigError
from ._dataset import INFINITE, Dataset, Stage, close_iterator
from ._errors import DataError, describe_fn, stage_error
from ._sources import settle

__all__ = ["Cache", "Filter", "Map", "Repeat", "Shard", "Shuffle", "Take"]


def positive_int(op: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{op}: {name} must be an int >= {minimum}, got {value!r}")
    return value


def call(fn: Callable[..., Any], element: Any) -> Any:
    """``fn(*element)`` for a tuple element, ``fn(element)`` otherwise."""
    return fn(*element) if type(element) is tuple else fn(element)


def call_settled(fn: Callable[..., Any], element: Any) -> Any:
    """``call`` on a worker thread: the result's tensors computed there (see ``settle``)."""
    return settle(call(fn, element))


class Map(Stage):
    def __init__(self, parent: Dataset, fn: Callable[..., Any], name: str | None,
                 threads: int) -> None:
        super().__init__(parent)
        if not callable(fn):
            raise ConfigError(f"map: fn must be callable, got {type(fn).__name__}")
        self.fn, self.threads = fn, positive_int("map", "threads", threads)
        self.name = f"map({describe_fn(fn, name)})"

    def _describe(self) -> str:
        return self.name

    def _iterate(self, epoch: int) -> Iterator[Any]:
        assert self.parent is not None
        if self.threads > 1:
            yield from self._parallel(epoch)
            return
        fn, name = self.fn, self.name
        it = self.parent._iterate(epoch)
        try:
            for i, element in enumerate(it):
                try:
                    out = call(fn, element)
                except Exception as e:
                    raise stage_error(name, i, epoch, e) from e
                yield out
        finally:
            close_iterator(it)

    def _parallel(self, epoch: int) -> Iterator[Any]:
        """``fn`` on ``threads`` threads, a window of ``2 * threads`` samples in flight, results
        in the input order (the thread pool runs in the caller's context: its backend)."""
        import contextvars
        from concurrent.futures import Future, ThreadPoolExecutor

        assert self.parent is not None
        fn, window = self.fn, 2 * self.threads
        it = self.parent._iterate(epoch)
        pending: deque[tuple[int, Future[Any]]] = deque()
        pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ember-data-map")
        try:
            for i, element in enumerate(it):
                ctx = contextvars.copy_context()
                pending.append((i, pool.submit(ctx.run, call_settled, fn, settle(element))))
                if len(pending) >= window:
                    yield self._result(*pending.popleft(), epoch)
            while pending:
                yield self._result(*pending.popleft(), epoch)
        finally:
            for _, f in pending:
                f.cancel()
            pool.shutdown(wait=True)
            close_iterator(it)

    def _result(self, i: int, future: Any, epoch: int) -> Any:
        try:
            return future.result()
        except Exception as e:
            raise stage_error(self.name, i, epoch, e) from e


class Filter(Stage):
    def __init__(self, parent: Dataset, predicate: Callable[..., Any], name: str | None) -> None:
        super().__init__(parent)
        if not callable(predicate):
            raise ConfigError(f"filter: predicate must be callable, got "
                              f"{type(predicate).__name__}")
        self.predicate = predicate
        self.name = f"filter({describe_fn(predicate, name)})"

    def _describe(self) -> str:
        return self.name

    def _length(self) -> int | float | None:
        assert self.parent is not None
        return INFINITE if self.parent._length() == INFINITE else None

    def _iterate(self, epoch: int) -> Iterator[Any]:
        assert self.parent is not None
        pred, name = self.predicate, self.name
        it = self.parent._iterate(epoch)
        try:
            for i, element in enumerate(it):
                try:
                    keep = call(pred, element)
                except Exception as e:
                    raise stage_error(name, i, epoch, e) from e
                if isinstance(keep, ember.Tensor) and keep.size == 1:
                    keep = bool(keep)
                if not isinstance(keep, bool):
                    raise DataError(
                        f"{name} returned {type(keep).__name__} {keep!r} for sample {i} (epoch "
                        f"{epoch}); a predicate must return True or False (or a one-element "
                        f"tensor), so that no sample is dropped by mistake",
                        stage=name, index=i, epoch=epoch)
                if keep:
                    yield element
        finally:
            close_iterator(it)


def epoch_rng(seed: int, epoch: int) -> random.Random:
    """The host-side generator of ``shuffle(seed=seed)`` in ``epoch`` (a str seed is hashed
    with SHA-512 by ``random``: the same numbers in every process and on every backend)."""
    return random.Random(f"ember_nn.data.shuffle:{seed}:{epoch}")


class Shuffle(Stage):
    def __init__(self, parent: Dataset, buffer_size: int, seed: int) -> None:
        super().__init__(parent)
        self.buffer_size = positive_int("shuffle", "buffer_size", buffer_size)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"shuffle: seed must be an int, got {seed!r}")
        self.seed = seed

    def _describe(self) -> str:
        return f"shuffle({self.buffer_size}, seed={self.seed})"

    def _iterate(self, epoch: int) -> Iterator[Any]:
        assert self.parent is not None
        rng, size = epoch_rng(self.seed, epoch), self.buffer_size
        buffer: list[Any] = []
        it = self.parent._iterate(epoch)
        try:
            for element in it:
                if len(buffer) < size:
                    buffer.append(element)
                    continue
                j = rng.randrange(size)
                out, buffer[j] = buffer[j], element
                yield out
            rng.shuffle(buffer)
            yield from buffer
        finally:
            close_iterator(it)


class Cache(Stage):
    def __init__(self, parent: Dataset) -> None:
        super().__init__(parent)
        self.elements: list[Any] | None = None

    def _describe(self) -> str:
        return "cache()" if self.elements is None else f"cache({len(self.elements)} cached)"

    def _length(self) -> int | float | None:
        assert self.parent is not None
        return len(self.elements) if self.elements is not None else self.parent._length()

    def _iterate(self, epoch: int) -> Iterator[Any]:
        assert self.parent is not None
        if self.elements is not None:
            yield from self.elements
            return
        if self.parent._length() == INFINITE:
            raise DataError(f"{self!r}: cache() after an endless dataset would fill memory; "
                            f"put cache() before repeat()", stage="cache()", epoch=epoch)
        seen: list[Any] = []
        it = self.parent._iterate(epoch)
        try:
            for element in it:
                seen.append(element)
                yield element
        finally:
            close_iterator(it)
        self.elements = seen  # only a complete pass gets here


def pair(epoch: int, r: int) -> int:
    """Cantor's pairing: a distinct epoch number for pass ``r`` of an endless repeat."""
    return (epoch + r) * (epoch + r + 1) // 2 + r


class Repeat(Stage):
    def __init__(self, parent: Dataset, count: int | None) -> None:
        super().__init__(parent)
        self.count = None if count is None else positive_int("repeat", "count", count)

    def _describe(self) -> str:
        return f"repeat({self.count if self.count is not None else ''})"

    def _length(self) -> int | float | None:
        assert self.parent is not None
        n = self.parent._length()
        if self.count is None:
            return 0 if n == 0 else INFINITE
        return None if n is None else n * self.count

    def _iterate(self, epoch: int) -> Iterator[Any]:
        assert self.parent is not None
        count = self.count
        for r in itertools.count() if count is None else range(count):
            inner = pair(epoch, r) if count is None else epoch * count + r
            it = self.parent._iterate(inner)
            produced = False
            try:
                for element in it:
                    produced = True
                    yield element
            finally:
                close_iterator(it)
            if not produced:  # an empty pass: repeating it forever would never yield
                return


class Take(Stage):
    def __init__(self, parent: Dataset, n: int) -> None:
        super().__init__(parent)
        self.n = positive_int("take", "n", n, minimum=0)

    def _describe(self) -> str:
        return f"take({self.n})"

    def _length(self) -> int | float | None:
        assert self.parent is not None
        n = self.parent._length()
        if n is None:
            return None
        return min(self.n, n)

    def _iterate(self, epoch: int) -> Iterator[Any]:
        assert self.parent is not None
        if self.n == 0:
            return
        it = self.parent._iterate(epoch)
        try:
            for i, element in enumerate(it):
                yield element
                if i + 1 >= self.n:
                    return
        finally:
            close_iterator(it)


class Shard(Stage):
    def __init__(self, parent: Dataset, num_shards: int, index: int) -> None:
        super().__init__(parent)
        self.num_shards = positive_int("shard", "num_shards", num_shards)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < num_shards:
            raise ConfigError(f"shard: index must be an int in [0, {num_shards}) (this rank), "
                              f"got {index!r}")
        self.index = index

    def _describe(self) -> str:
        return f"shard({self.num_shards}, {self.index})"

    def _length(self) -> int | float | None:
        assert self.parent is not None
        n = self.parent._length()
        if n is None or n == INFINITE:
            return n
        return max(0, -(-(int(n) - self.index) // self.num_shards))

    def _iterate(self, epoch: int) -> Iterator[Any]:
        assert self.parent is not None
        k, index = self.num_shards, self.index
        it = self.parent._iterate(epoch)
        try:
            for i, element in enumerate(it):
                if i % k == index:
                    yield element
        finally:
            close_iterator(it)
