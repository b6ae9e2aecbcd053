"""``AsyncPipeline``: stages that run concurrently, joined by bounded queues.

Each stage is a coroutine function (awaited on the event loop) or a plain function (run on a
thread pool of its own, ``workers`` threads, so blocking I/O and compute leave the loop free).
Between stages sit ``asyncio.Queue(queue_size)`` queues: a slow stage or a slow consumer stops
the ones before it (back-pressure), and at most :attr:`AsyncPipeline.max_in_flight` items are
between the source and the consumer at any time, reordering buffer included. The first
exception in any stage (or in the source) ends the pipeline: the consumer gets a
:class:`StageError` naming the stage and item index, chained to the stage's exception.
Cancelling the consumer (or leaving its ``async for`` early) cancels every stage task and
waits for the stage threads to finish their current item; nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import ember

from .._core._errors import ConfigError
from ._pipeline import StageError
from ._threads import materialise

__all__ = ["AsyncPipeline", "AsyncStage"]

_END = object()


@dataclass(frozen=True)
class AsyncStage:
    """One stage of an :class:`AsyncPipeline`.

    Arguments:
        name: the stage's name (in errors).
        fn: a coroutine function or a plain function of one item.
        workers: how many items the stage works on at once (threads for a plain function,
            tasks for a coroutine function).
        thread: run a plain function on a thread (default); False runs it on the event loop
            (for cheap functions, where a thread hop would cost more than the work).
    """

    name: str
    fn: Callable[[Any], Any]
    workers: int = 1
    thread: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"AsyncStage: the name must be a non-empty string, got "
                              f"{self.name!r}")
        if not callable(self.fn):
            raise ConfigError(f"AsyncStage {self.name!r}: fn must be callable, got "
                              f"{type(self.fn).__name__}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) \
                or self.workers < 1:
            raise ConfigError(f"AsyncStage {self.name!r}: workers must be a positive integer, "
                              f"got {self.workers!r}")

    @property
    def is_coroutine(self) -> bool:
        """Whether ``fn`` is awaited (a coroutine function or an object with an async
        ``__call__``)."""
        call = type(self.fn).__call__ if not inspect.isroutine(self.fn) else None
        return inspect.iscoroutinefunction(self.fn) or inspect.iscoroutinefunction(call)


def _as_stages(stages: Any) -> list[AsyncStage]:
    items = list(stages.items()) if isinstance(stages, Mapping) else stages
    if isinstance(items, str) or not isinstance(items, Sequence) or not items:
        raise ConfigError(f"AsyncPipeline: stages must be a non-empty list of AsyncStage or "
                          f"(name, fn[, workers]) tuples, or a dict, got {stages!r}")
    out = []
    for i, s in enumerate(items):
        if isinstance(s, AsyncStage):
            out.append(s)
        elif isinstance(s, tuple | list) and len(s) in (2, 3):
            name, fn = s[0], s[1]
            if isinstance(fn, tuple):  # dict form: {name: (fn, workers)}
                fn, workers = fn
            else:
                workers = s[2] if len(s) == 3 else 1
            out.append(AsyncStage(name, fn, workers))
        else:
            raise ConfigError(f"AsyncPipeline: stage {i} must be an AsyncStage or a (name, fn) "
                              f"or (name, fn, workers) tuple, got {s!r}")
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"AsyncPipeline: stage names must be unique, {dup} repeat")
    return out


def _call(fn: Callable[[Any], Any], x: Any) -> Any:
    return materialise(fn(x))  # a lazy backend's tensors computed on the thread that made them


class AsyncPipeline:
    """Stages running concurrently over a stream of items.

    Arguments:
        stages: a list of :class:`AsyncStage` or ``(name, fn)`` / ``(name, fn, workers)``
            tuples, or a dict ``{name: fn}`` / ``{name: (fn, workers)}``.
        queue_size: the capacity of each queue between stages (a positive integer).
        ordered: yield results in the source's order (True) or as they finish (False).

    Raises ConfigError for bad stages or sizes; a run raises :class:`StageError` (naming the
    stage and item, chained to the cause) when a stage or the source fails.

    >>> async def fetch(x):
    ...     await asyncio.sleep(0.01 * (x % 3))
    ...     return x
    >>> pipe = AsyncPipeline([("fetch", fetch, 4), ("square", lambda x: x * x, 2)])
    >>> pipe.run_sync(range(6))
    [0, 1, 4, 9, 16, 25]
    """

    def __init__(self, stages: Any, *, queue_size: int = 8, ordered: bool = True) -> None:
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ConfigError(f"AsyncPipeline: queue_size must be a positive integer, got "
                              f"{queue_size!r}")
        if not isinstance(ordered, bool):
            raise ConfigError(f"AsyncPipeline: ordered must be True or False, got {ordered!r}")
        self.stages = _as_stages(stages)
        self.queue_size, self.ordered = queue_size, ordered

    @property
    def max_in_flight(self) -> int:
        """The most items taken from the source but not yet given to the consumer."""
        return self.queue_size * (len(self.stages) + 1) + sum(s.workers for s in self.stages)

    def __repr__(self) -> str:
        inner = ", ".join(f"{s.name}(workers={s.workers})" for s in self.stages)
        return f"AsyncPipeline([{inner}], queue_size={self.queue_size}, ordered={self.ordered})"

    async def run(self, source: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[Any]:
        """The results for ``source`` (an iterable or async iterable), as an async iterator:
        ``async for y in pipe.run(source)``. A sync source that is not a list, tuple or range
        (a generator that may block) is read on a thread.

        Leave early with ``contextlib.aclosing(pipe.run(...))`` to stop the stages at once.
        """
        loop = asyncio.get_running_loop()
        n = len(self.stages)
        queues: list[asyncio.Queue[Any]] = [asyncio.Queue(self.queue_size) for _ in range(n + 1)]
        slots = asyncio.Semaphore(self.max_in_flight)
        failure: list[BaseException] = []
        pools: list[ThreadPoolExecutor] = []
        tasks: list[asyncio.Task[None]] = []
        left = [s.workers for s in self.stages]

        def fail(exc: BaseException) -> None:
            if not failure:
                failure.append(exc)
                for t in tasks:
                    if t is not asyncio.current_task():
                        t.cancel()
                # wakes a consumer waiting on an empty queue; one that is not waiting sees
                # the failure at its next get
                with contextlib.suppress(asyncio.QueueFull):
                    queues[n].put_nowait(_END)

        async def feed() -> None:
            index = 0
            try:
                if isinstance(source, AsyncIterable):
                    it = aiter(source)
                    while True:
                        await slots.acquire()
                        try:
                            x = await anext(it)
                        except StopAsyncIteration:
                            break
                        await queues[0].put((index, x))
                        index += 1
                else:
                    inline = isinstance(source, list | tuple | range)
                    sync_it = iter(source)
                    pool = None if inline else ThreadPoolExecutor(1, "ember-source")
                    if pool is not None:
                        pools.append(pool)
                    while True:
                        await slots.acquire()
                        x = next(sync_it, _END) if pool is None else \
                            await loop.run_in_executor(pool, next, sync_it, _END)
                        if x is _END:
                            break
                        await queues[0].put((index, x))
                        index += 1
            except Exception as e:
                err = StageError("source", -1, index, e)
                err.__cause__ = e
                fail(err)
                return
            await queues[0].put(_END)

        async def work(pos: int, stage: AsyncStage, pool: ThreadPoolExecutor | None) -> None:
            q_in, q_out = queues[pos], queues[pos + 1]
            while True:
                item = await q_in.get()
                if item is _END:
                    q_in.put_nowait(_END)  # for this stage's other workers
                    left[pos] -= 1
                    if left[pos] == 0:
                        await q_out.put(_END)
                    return
                index, x = item
                try:
                    if stage.is_coroutine:
                        y = await stage.fn(x)
                    elif pool is None:
                        y = stage.fn(x)
                    else:
                        ctx = contextvars.copy_context()  # ember.use_backend reaches the thread
                        y = await loop.run_in_executor(
                            pool, functools.partial(ctx.run, _call, stage.fn, x))
                except Exception as e:
                    err = StageError(stage.name, pos, index, e, n)
                    err.__cause__ = e
                    fail(err)
                    return
                await q_out.put((index, y))

        try:
            tasks.append(loop.create_task(feed(), name="ember-async-source"))
            for pos, stage in enumerate(self.stages):
                pool = None
                if not stage.is_coroutine and stage.thread:
                    pool = ThreadPoolExecutor(stage.workers, f"ember-{stage.name}")
                    pools.append(pool)
                for w in range(stage.workers):
                    tasks.append(loop.create_task(work(pos, stage, pool),
                                                  name=f"ember-async-{stage.name}-{w}"))
            waiting: dict[int, Any] = {}
            next_index = 0
            while True:
                item = await queues[n].get()
                if failure:
                    raise failure[0]
                if item is _END:
                    break
                index, y = item
                if not self.ordered:
                    slots.release()
                    yield y
                    continue
                waiting[index] = y
                while next_index in waiting:
                    y = waiting.pop(next_index)
                    next_index += 1
                    slots.release()
                    yield y
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for pool in pools:
                await asyncio.to_thread(pool.shutdown, True)

    async def collect(self, source: Iterable[Any] | AsyncIterable[Any]) -> list[Any]:
        """Every result of ``run(source)`` as a list."""
        return [y async for y in self.run(source)]

    def run_sync(self, source: Iterable[Any] | AsyncIterable[Any]) -> list[Any]:
        """Every result, from synchronous code (runs an event loop; raises ArgumentError inside
        a running one: use ``async for y in pipe.run(source)`` there)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.collect(source))
        raise ember.ArgumentError("AsyncPipeline.run_sync: an event loop is already running "
                                  "here; use `async for y in pipe.run(source)` (or await "
                                  "pipe.collect(source)) instead")
