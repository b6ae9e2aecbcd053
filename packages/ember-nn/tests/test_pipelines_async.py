"""AsyncPipeline: concurrent stages, ordered and unordered results, back-pressure (counters),
cancellation without leaked tasks or threads, errors naming the stage and item."""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import threading
import time
from collections.abc import AsyncIterator, Iterator

import ember
import ember_nn
import numpy as np
import pytest
from ember_nn import ConfigError
from ember_nn.pipelines import _async
from ember_nn.pipelines._async import AsyncPipeline, AsyncStage
from ember_nn.pipelines._pipeline import StageError


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("ember-")}


async def _jitter(x: int) -> int:
    await asyncio.sleep(0.002 * ((7 * x) % 5))  # finishes out of order
    return x


def test_ordered_results_keep_the_source_order() -> None:
    pipe = AsyncPipeline([("fetch", _jitter, 4), ("square", lambda x: x * x, 3)])
    assert pipe.run_sync(range(40)) == [x * x for x in range(40)]
    assert _threads() == set()


def test_unordered_results_are_all_there_in_finishing_order() -> None:
    pipe = AsyncPipeline([("fetch", _jitter, 8)], ordered=False)
    out = pipe.run_sync(list(range(40)))
    assert sorted(out) == list(range(40))
    assert out != list(range(40))  # the delays reorder them


def test_sources_of_every_kind() -> None:
    def gen() -> Iterator[int]:
        yield from range(5)

    async def agen() -> AsyncIterator[int]:
        for i in range(5):
            await asyncio.sleep(0)
            yield i

    pipe = AsyncPipeline({"double": lambda x: 2 * x, "inc": (lambda x: x + 1, 2)})
    for source in (range(5), [0, 1, 2, 3, 4], (0, 1, 2, 3, 4), gen(), agen()):
        assert pipe.run_sync(source) == [1, 3, 5, 7, 9]
    assert pipe.run_sync([]) == []
    inline = AsyncPipeline([AsyncStage("cheap", lambda x: x + 1, thread=False)])
    assert inline.run_sync(range(3)) == [1, 2, 3]


def test_thread_stages_run_concurrently() -> None:
    active = peak = 0
    lock = threading.Lock()

    def slow(x: int) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.01)
        with lock:
            active -= 1
        return x

    assert AsyncPipeline([("slow", slow, 4)]).run_sync(range(16)) == list(range(16))
    assert peak == 4  # four threads at once, never more


def test_back_pressure_bounds_how_far_the_source_runs_ahead() -> None:
    pulled = 0

    def source() -> Iterator[int]:
        nonlocal pulled
        for i in range(200):
            pulled += 1
            yield i

    pipe = AsyncPipeline([("a", lambda x: x, 2), ("b", lambda x: x, 1)], queue_size=2)
    ahead = []

    async def consume() -> int:
        got = 0
        async for _ in pipe.run(source()):
            got += 1
            await asyncio.sleep(0.001)  # a slow consumer
            ahead.append(pulled - got)
        return got

    assert asyncio.run(consume()) == 200
    # the source is never more than max_in_flight items ahead of the consumer
    assert max(ahead) <= pipe.max_in_flight == 2 * 3 + 3
    assert max(ahead) >= 2 * 3  # and the queues do fill (the bound is what stops it)


def test_cancelling_the_consumer_stops_every_stage() -> None:
    started = []

    def slow(x: int) -> int:
        started.append(x)
        time.sleep(0.02)
        return x

    async def fetch(x: int) -> int:
        await asyncio.sleep(0.005)
        return x

    async def main() -> tuple[list[int], int]:
        got: list[int] = []
        pipe = AsyncPipeline([("fetch", fetch, 2), ("slow", slow, 2)], queue_size=2)

        async def consume() -> None:
            async for y in pipe.run(range(10_000)):
                got.append(y)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.15)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == []  # no stage task left behind
        return got, len(started)

    got, n_started = asyncio.run(main())
    assert 0 < len(got) < 10_000 and n_started < 100
    assert _threads() == set()  # the stage threads are gone too
    time.sleep(0.05)
    assert len(_threads()) == 0


def test_leaving_early_with_aclosing_cleans_up() -> None:
    async def main() -> list[int]:
        out = []
        pipe = AsyncPipeline([("fetch", _jitter, 3), ("id", lambda x: x, 2)])
        async with contextlib.aclosing(pipe.run(range(1000))) as results:
            async for y in results:
                out.append(y)
                if len(out) == 5:
                    break
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        return out

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert _threads() == set()


@pytest.mark.parametrize("ordered", [True, False])
def test_an_error_in_a_stage_ends_the_pipeline(ordered: bool) -> None:
    def parse(x: int) -> int:
        if x == 13:
            raise ValueError(f"cannot parse {x}")
        return x

    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x

    pipe = AsyncPipeline([("fetch", fetch, 2), ("parse", parse, 2), ("id", lambda x: x)],
                         ordered=ordered)
    with pytest.raises(StageError) as info:
        pipe.run_sync(range(1000))
    err = info.value
    assert (err.stage, err.position, err.index) == ("parse", 1, 13)
    assert str(err) == "stage 'parse' (2 of 3) failed on item 13: ValueError: cannot parse 13"
    assert isinstance(err.__cause__, ValueError)
    assert _threads() == set()

    async def broken(x: int) -> int:
        raise KeyError(x)

    with pytest.raises(StageError, match=r"stage 'broken' \(1 of 1\) failed on item 0: KeyError"):
        AsyncPipeline([("broken", broken)]).run_sync([0, 1])


def test_an_error_in_the_source_names_the_item() -> None:
    def source() -> Iterator[int]:
        yield 0
        yield 1
        raise OSError("disk gone")

    with pytest.raises(StageError, match="the source failed on item 2: OSError: disk gone"):
        AsyncPipeline([("id", lambda x: x)]).run_sync(source())


def test_thread_stages_see_the_callers_backend(backend: str) -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)

    def to_tensor(row: list[float]) -> ember.Tensor:
        return ember.asarray(row)  # made on a stage thread: must be on the caller's backend

    def features(t: ember.Tensor) -> ember.Tensor:
        return ember.sum(t * t, axis=-1)

    pipe = AsyncPipeline([("tensor", to_tensor, 2), ("features", features, 2)])
    out = pipe.run_sync(x.tolist())
    assert [t.backend for t in out] == [backend] * 4
    np.testing.assert_allclose([t.item() for t in out], (x * x).sum(-1))


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="queue_size must be a positive integer"):
        AsyncPipeline([("a", abs)], queue_size=0)
    with pytest.raises(ConfigError, match="workers must be a positive integer"):
        AsyncPipeline([("a", abs, 0)])
    with pytest.raises(ConfigError, match=r"stage names must be unique, \['a'\]"):
        AsyncPipeline([("a", abs), ("a", abs)])
    with pytest.raises(ConfigError, match="non-empty list"):
        AsyncPipeline([])

    async def inside() -> None:
        AsyncPipeline([("a", abs)]).run_sync([1])

    with pytest.raises(ember.ArgumentError, match="event loop is already running"):
        asyncio.run(inside())


def test_docstring_examples() -> None:
    globs = {"ember": ember, "ember_nn": ember_nn, "asyncio": asyncio, "AsyncPipeline":
             AsyncPipeline}
    assert doctest.testmod(_async, globs=globs).failed == 0
