"""Dynamic batching: concurrent ``await server.predict(x)`` calls gathered into one batch
call, run on a worker thread so that the event loop stays free.

A batch starts with the first waiting request and closes when it holds ``max_batch_size``
requests or ``max_wait_ms`` after that request arrived, whichever comes first; while the
worker computes one batch the next requests queue up, so under load batches fill without
waiting. Each caller gets its own row of the result (or its own error).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import ember

__all__ = ["BatchServer", "Failure", "ServeStats"]


class Failure:
    """What a batch function returns for an item that failed on its own (``error`` is
    raised to that item's caller; the others get their results)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


@dataclass
class ServeStats:
    """Counters of a :class:`BatchServer`: requests answered, batch calls made, and the size of
    each batch (in order)."""

    requests: int = 0
    batches: int = 0
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def mean_batch_size(self) -> float:
        """Requests a batch, on average (0.0 before the first batch)."""
        return sum(self.batch_sizes) / len(self.batch_sizes) if self.batch_sizes else 0.0


@dataclass
class _Request:
    x: Any
    future: asyncio.Future[Any]
    arrived: float


class BatchServer:
    """Gathers concurrent requests into calls of ``fn(list_of_inputs)`` (one a batch, on a
    worker thread) and hands each caller its own result.

    Arguments:
        fn: called with a list of inputs; returns a sequence with one result per input
            (a :class:`Failure` for an input that failed alone).
        max_batch_size: the most requests in one call (a positive integer).
        max_wait_ms: how long the first request of a batch waits for others (>= 0).

    Use it as an async context manager (``async with``), or call :meth:`aclose` when done;
    after that ``predict`` raises ArgumentError. An exception ``fn`` raises goes to every
    caller of that batch.

    >>> async def main():
    ...     async with BatchServer(lambda xs: [2 * x for x in xs], max_batch_size=4) as server:
    ...         out = await asyncio.gather(*(server.predict(i) for i in range(6)))
    ...     return out, server.stats.batch_sizes
    >>> asyncio.run(main())
    ([0, 2, 4, 6, 8, 10], [4, 2])
    """

    def __init__(self, fn: Callable[[list[Any]], Any], *, max_batch_size: int = 32,
                 max_wait_ms: float = 5.0) -> None:
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) \
                or max_batch_size < 1:
            raise ember.ArgumentError(f"serve_async: max_batch_size must be a positive integer, "
                                      f"got {max_batch_size!r}")
        if isinstance(max_wait_ms, bool) or not isinstance(max_wait_ms, int | float) \
                or not math.isfinite(max_wait_ms) or max_wait_ms < 0:
            raise ember.ArgumentError(f"serve_async: max_wait_ms must be a number >= 0, got "
                                      f"{max_wait_ms!r}")
        self.fn, self.max_batch_size, self.max_wait = fn, max_batch_size, max_wait_ms / 1000
        self.stats = ServeStats()
        self._pending: list[_Request] = []
        self._task: asyncio.Task[None] | None = None
        self._full: asyncio.Future[None] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    async def predict(self, x: Any) -> Any:
        """The result for one input, computed in a batch with the concurrent requests."""
        if self._closed:
            raise ember.ArgumentError("BatchServer.predict: the server is closed; start another "
                                      "with serve_async()")
        loop = asyncio.get_running_loop()
        request = _Request(x, loop.create_future(), loop.time())
        self._pending.append(request)
        if len(self._pending) >= self.max_batch_size and self._full is not None \
                and not self._full.done():
            self._full.set_result(None)
        if self._task is None:
            self._task = loop.create_task(self._work())
        return await request.future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                wait = self._pending[0].arrived + self.max_wait - loop.time()
                if len(self._pending) < self.max_batch_size and wait > 0:
                    self._full = loop.create_future()
                    try:
                        await asyncio.wait_for(self._full, wait)
                    except TimeoutError:
                        pass
                    finally:
                        self._full = None
                batch = self._pending[:self.max_batch_size]
                del self._pending[:self.max_batch_size]
                batch = [r for r in batch if not r.future.done()]  # callers that gave up
                if batch:
                    await self._run(batch, loop)
        except asyncio.CancelledError:
            for r in self._pending:
                r.future.cancel()
            self._pending.clear()
            raise
        finally:
            self._task = None

    async def _run(self, batch: list[_Request], loop: asyncio.AbstractEventLoop) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ember-serve")
        self.stats.batches += 1
        self.stats.batch_sizes.append(len(batch))
        try:
            try:
                results = await loop.run_in_executor(self._pool, self.fn, [r.x for r in batch])
                if len(results) != len(batch):
                    raise ember.ShapeError(f"the batch function returned {len(results)} results "
                                           f"for {len(batch)} inputs")
            except asyncio.CancelledError:
                for r in batch:
                    r.future.cancel()
                raise
            except Exception as e:
                for r in batch:
                    if not r.future.done():
                        r.future.set_exception(e)
                return
            for i, r in enumerate(batch):
                if r.future.done():
                    continue
                try:
                    res = results[i]
                except Exception as e:  # a row that cannot be taken out of the batch
                    r.future.set_exception(e)
                    continue
                if isinstance(res, Failure):
                    r.future.set_exception(res.error)
                else:
                    r.future.set_result(res)
        finally:
            self.stats.requests += len(batch)

    async def aclose(self) -> None:
        """Stop: waiting requests are cancelled and the worker thread ends (after the batch it
        may be computing)."""
        self._closed = True
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for r in self._pending:
            r.future.cancel()
        self._pending.clear()
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True)

    async def __aenter__(self) -> BatchServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
