"""Serving: dynamic batching of concurrent requests (``InferencePipeline.predict_async``)
against one-at-a-time prediction.

    uv run python benchmarks/serving.py [--requests 2000] [--clients 1,8,32,128]
                                        [--max-batch 32] [--max-wait-ms 2]
                                        [--backends numpy,torch,mlx]

The model: the digits MLP of examples/digits (64 -> 256 -> 256 -> 10, ReLU), built here with
its initial weights, behind the run's preprocessing (cast, normalise) and an argmax. Each
request is one 64-value image (random numbers in the digits' 0..16 range). Per backend:

* ``predict, one at a time``: a loop calling ``pipe.predict([x])`` (the model on the calling
  thread, no event loop): latency is one call;
* ``predict_async, batch <= 1``: K concurrent clients, the server's batch capped at 1: the cost
  of the worker thread and the event loop without batching;
* ``predict_async, batch <= M``: K concurrent clients, each awaiting its requests one after
  another, gathered into batches of up to M requests (waiting at most ``--max-wait-ms``);
* ``same, max_wait_ms=0``: no waiting: a batch is what queued while the model ran the last one
  (the lowest latency for a lone client, batches only under load).

Every client reads its label (``.tolist()``), so lazy MLX computes it inside the timing.
req/s = requests / wall time of the whole run; p50/p95 = each request's latency as its client
saw it (from the call to the result, queueing included); "batch" = mean requests a model call.
Each row is the median (by req/s) of ``--rounds`` runs: the machine may be shared. The array
libraries compute on one thread each unless ``OMP_NUM_THREADS`` says otherwise: on a busy
2-core machine torch's default pool of two made 5% of single-sample calls take 9 to 90 ms
(and ``torch.set_num_threads`` reaches the calling thread only, not the server's worker).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before the array libraries load

import argparse  # noqa: E402
import statistics  # noqa: E402
from typing import Any  # noqa: E402

import ember  # noqa: E402
import ember_nn  # noqa: E402
import numpy as np  # noqa: E402
from ember_nn.pipelines._inference import InferencePipeline  # noqa: E402
from ember_nn.pipelines._load_test import one_at_a_time, serve_concurrently  # noqa: E402
from ember_nn.pipelines._pipeline import Pipeline  # noqa: E402
from ember_nn.pipelines._stages import Argmax, Cast, Normalize  # noqa: E402


def digits_pipeline() -> InferencePipeline:
    model = ember_nn.MLP(in_features=64, hidden=[256, 256], out_features=10, key=0)
    pre = Pipeline([("cast", Cast("float32")), ("scale", Normalize(mean=4.9, std=6.0))])
    return InferencePipeline(model, pre, Pipeline([("label", Argmax())]), batch_size=256)


def percentiles(lat: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(lat, n=20, method="inclusive")
    return statistics.median(lat) * 1e3, q[18] * 1e3


def alone(pipe: InferencePipeline, rows: list[list[float]]) -> dict[str, Any]:
    run = one_at_a_time(pipe, rows)
    return {"rps": run.requests_per_second, "lat": run.latencies, "batch": run.mean_batch}


def concurrent(pipe: InferencePipeline, rows: list[list[float]], clients: int, max_batch: int,
               max_wait_ms: float) -> dict[str, Any]:
    run = serve_concurrently(pipe, rows, clients=clients, max_batch_size=max_batch,
                             max_wait_ms=max_wait_ms)
    return {"rps": run.requests_per_second, "lat": run.latencies, "batch": run.mean_batch}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--clients", default="1,8,32,128")
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--max-wait-ms", type=float, default=2.0)
    ap.add_argument("--backends", default="numpy,torch,mlx")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each row; the median is shown")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 17, size=(args.requests, 64)).astype(np.float64).tolist()
    clients = [int(c) for c in args.clients.split(",")]
    print(f"{args.requests} requests of one 64-value image; digits MLP 64-256-256-10; "
          f"max_wait_ms={args.max_wait_ms}; "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    head = f"{'backend':8} {'mode':28} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} " \
           f"{'batch':>6} {'vs one':>7}"
    print(head)
    print("-" * len(head))
    for name in args.backends.split(","):
        try:
            ember.load_backend(name)
        except ember.EmberError as e:
            print(f"{name:8} not available: {e}")
            continue
        with ember.use_backend(name):
            pipe = digits_pipeline()
            def median_run(fn: Any, *a: Any, pipe: InferencePipeline = pipe) -> dict[str, Any]:
                done = sorted((fn(pipe, rows, *a) for _ in range(args.rounds)),
                              key=lambda run: float(run["rps"]))
                return done[len(done) // 2]

            base = median_run(alone)
            runs = [("predict, one at a time", 1, base)]
            for k in clients:
                runs.append(("predict_async, batch <= 1", k,
                             median_run(concurrent, k, 1, args.max_wait_ms)))
                runs.append((f"predict_async, batch <= {args.max_batch}", k,
                             median_run(concurrent, k, args.max_batch, args.max_wait_ms)))
                runs.append(("  same, max_wait_ms=0", k,
                             median_run(concurrent, k, args.max_batch, 0.0)))
            for mode, k, r in runs:
                p50, p95 = percentiles(r["lat"])
                print(f"{name:8} {mode:28} {k:7d} {r['rps']:9.0f} {p50:8.2f} {p95:8.2f} "
                      f"{r['batch']:6.1f} {r['rps'] / base['rps']:6.2f}x")


if __name__ == "__main__":
    main()
