"""Load tests of an :class:`InferencePipeline`: requests answered one at a time, and the same
requests sent by concurrent clients through its dynamic-batching server. What ``ember train``'s
``[serve]`` table runs and ``benchmarks/serving.py`` measures.

Every request's result is read as a client would (``.tolist()``), so a lazy backend (MLX)
computes it inside the timing; latency is each request's time as its client saw it, from the
call to the result, queueing included.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ember

from ._inference import InferencePipeline

__all__ = ["LoadTest", "one_at_a_time", "serve_concurrently"]


@dataclass
class LoadTest:
    """How a run of requests went: ``outputs`` in request order (each as ``.tolist()``),
    ``latencies`` in seconds (in completion order), ``seconds`` of wall time, and the mean
    requests a model call (1.0 one at a time)."""

    mode: str
    clients: int
    outputs: list[Any]
    latencies: list[float]
    seconds: float
    mean_batch: float

    @property
    def requests_per_second(self) -> float:
        return len(self.outputs) / self.seconds if self.seconds > 0 else float("inf")

    def latency_ms(self, q: float = 0.5) -> float:
        """The ``q`` quantile of the latencies in milliseconds (0.5: the median)."""
        if not 0.0 < q < 1.0:
            raise ember.ArgumentError(f"latency_ms: q must be in (0, 1), got {q!r}")
        if len(self.latencies) < 2:
            return self.latencies[0] * 1e3 if self.latencies else float("nan")
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cuts[min(98, max(0, round(q * 100) - 1))] * 1e3

    def summary(self) -> dict[str, Any]:
        """The numbers of this run, for a JSON report."""
        return {"mode": self.mode, "clients": self.clients, "requests": len(self.outputs),
                "seconds": round(self.seconds, 4),
                "requests_per_second": round(self.requests_per_second, 1),
                "p50_ms": round(self.latency_ms(0.5), 3), "p95_ms": round(self.latency_ms(0.95), 3),
                "mean_batch": round(self.mean_batch, 2)}


def _check(requests: Sequence[Any], clients: int = 1) -> None:
    if len(requests) == 0:
        raise ember.ArgumentError("load test: no requests (the list is empty)")
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
        raise ember.ArgumentError(f"load test: clients must be a positive integer, got "
                                  f"{clients!r}")


def one_at_a_time(pipe: InferencePipeline, requests: Sequence[Any], *,
                  warmup: int = 20) -> LoadTest:
    """Each request alone through ``pipe.predict([x])`` on the calling thread, one after
    another (after ``warmup`` untimed calls): the baseline dynamic batching must beat.

    >>> pipe = InferencePipeline(ember_nn.Dense(2, 1, key=0))
    >>> one_at_a_time(pipe, [[1.0, 2.0]] * 3, warmup=0).mean_batch
    1.0
    """
    _check(requests)
    for x in requests[:warmup]:
        pipe.predict([x]).tolist()
    outputs, lat = [], []
    t0 = time.perf_counter()
    for x in requests:
        t = time.perf_counter()
        outputs.append(pipe.predict([x]).tolist()[0])
        lat.append(time.perf_counter() - t)
    return LoadTest("one at a time", 1, outputs, lat, time.perf_counter() - t0, 1.0)


def serve_concurrently(pipe: InferencePipeline, requests: Sequence[Any], *, clients: int,
                       max_batch_size: int = 32, max_wait_ms: float = 0.0,
                       warmup: int = 64) -> LoadTest:
    """``clients`` concurrent clients share ``requests`` (client ``c`` sends requests ``c,
    c + clients, ...``, each awaiting its answer before its next request) through
    ``pipe.serve_async(max_batch_size, max_wait_ms)``. Runs its own event loop (call it from
    synchronous code).

    >>> pipe = InferencePipeline(ember_nn.Dense(2, 1, key=0))
    >>> run = serve_concurrently(pipe, [[1.0, 2.0]] * 8, clients=4, warmup=0)
    >>> len(run.outputs), run.clients
    (8, 4)
    """
    _check(requests, clients)

    async def main() -> LoadTest:
        async with pipe.serve_async(max_batch_size=max_batch_size,
                                    max_wait_ms=max_wait_ms) as srv:
            await asyncio.gather(*(srv.predict(x) for x in requests[:warmup]))
            done_batches, done_requests = srv.stats.batches, srv.stats.requests
            outputs: list[Any] = [None] * len(requests)
            lat: list[float] = []

            async def client(first: int) -> None:
                for i in range(first, len(requests), clients):
                    t = time.perf_counter()
                    y = await srv.predict(requests[i])
                    outputs[i] = y.tolist() if isinstance(y, ember.Tensor) else y
                    lat.append(time.perf_counter() - t)

            t0 = time.perf_counter()
            await asyncio.gather(*(client(c) for c in range(clients)))
            seconds = time.perf_counter() - t0
            batches = srv.stats.batches - done_batches
            mean = (srv.stats.requests - done_requests) / max(batches, 1)
        return LoadTest(f"served, batch <= {max_batch_size}, wait {max_wait_ms:g} ms", clients,
                        outputs, lat, seconds, mean)

    return asyncio.run(main())
