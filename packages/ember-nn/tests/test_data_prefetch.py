"""prefetch: a background thread that runs ahead (in the consumer's backend), re-raises stage
errors in the consumer with their context, and stops and cleans up when iteration ends early."""

from __future__ import annotations

import threading
import time

import ember
import pytest
from ember_nn.data import DataError, Dataset, from_iterable


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ember-data-prefetch")]


def wait_for_no_prefetch_thread() -> None:
    deadline = time.monotonic() + 5
    while prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert prefetch_threads() == []


def test_prefetch_keeps_order_values_and_the_consumers_backend(backend: str) -> None:
    ds = Dataset.from_arrays(ember.arange(10.0)).map(lambda v: v * 3).batch(4).prefetch(2)
    out = list(ds)
    assert [b.tolist() for b in out] == [[0.0, 3.0, 6.0, 9.0], [12.0, 15.0, 18.0, 21.0],
                                         [24.0, 27.0]]
    assert all(b.backend == backend for b in out)
    assert len(ds) == 3 and [b.tolist() for b in ds] == [b.tolist() for b in out]
    assert (out[0] + 1).tolist() == [1.0, 4.0, 7.0, 10.0]  # usable on this thread
    wait_for_no_prefetch_thread()


def test_prefetch_runs_ahead_of_the_consumer() -> None:
    produced = threading.Event()

    def source():
        yield 0
        produced.set()  # reached only if someone asks for element 1 while 0 is in use
        yield 1

    it = iter(from_iterable(source).prefetch(2))
    assert next(it) == 0
    assert produced.wait(timeout=5), "the background thread did not produce ahead"
    assert list(it) == [1]


def test_prefetch_re_raises_the_stage_error_in_the_consumer(backend: str) -> None:
    def parse(v: ember.Tensor) -> ember.Tensor:
        if int(v) == 5:
            raise ValueError("corrupt record")
        return v

    ds = Dataset.from_arrays(list(range(8))).map(parse, name="parse").prefetch(3)
    got = []
    with pytest.raises(DataError, match=r"map\(parse\) failed on sample 5 \(epoch 0\): "
                                        r"ValueError: corrupt record") as info:
        for v in ds:
            got.append(int(v))
    assert got == [0, 1, 2, 3, 4] and isinstance(info.value.__cause__, ValueError)
    wait_for_no_prefetch_thread()


def test_a_plain_error_from_an_iterable_gets_its_context() -> None:
    class Reader:
        def __iter__(self):
            yield 1
            raise KeyError("index file")

    with pytest.raises(DataError, match=r"from_iterable\(Reader\) failed producing sample 1"):
        list(from_iterable(Reader()).prefetch(1))


def test_stopping_early_stops_the_thread_and_closes_the_stages() -> None:
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    ds = from_iterable(endless).prefetch(4)
    for v in ds:
        if v == 3:
            break
    assert closed.wait(timeout=5)
    wait_for_no_prefetch_thread()
    closed.clear()
    assert list(from_iterable(endless).prefetch(2).take(5)) == [0, 1, 2, 3, 4]
    assert closed.wait(timeout=5)
    wait_for_no_prefetch_thread()
    it = iter(from_iterable(endless).map(lambda v: v).prefetch(2).prefetch(2))
    assert next(it) == 0
    it.close()  # type: ignore[attr-defined]
    assert closed.wait(timeout=5)
    wait_for_no_prefetch_thread()


def test_a_consumer_error_also_cleans_up() -> None:
    ds = from_iterable(lambda: iter(range(1000))).prefetch(2)
    with pytest.raises(ZeroDivisionError):
        for v in ds:
            1 / (v - 2)
    wait_for_no_prefetch_thread()


def test_prefetch_checks_its_buffer() -> None:
    from ember_nn import ConfigError

    with pytest.raises(ConfigError, match=r"buffer_size must be an int >= 1, got 0"):
        Dataset.from_arrays([1]).prefetch(0)
