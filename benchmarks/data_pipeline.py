"""Prefetching overlaps loading with compute: one epoch of ``Trainer.fit`` fed by a slow loader,
without and with ``prefetch``, against the compute alone and the loading alone.

    uv run python benchmarks/data_pipeline.py [--backend torch] [--batches 20] [--batch 128]
        [--sleep-ms auto] [--threads 4] [--repeats 3]

The loader stands for reading and decoding files: every sample sleeps ``--sleep-ms`` (I/O,
which releases the GIL), then decodes its bytes (``ember.frombuffer``). By default the sleep is
set so that loading a batch takes about as long as one training step (an MLP 256-1024-1024-10,
Adam, softmax cross-entropy) measured first, where overlapping pays most: a serial epoch takes
load + compute, a prefetched one about max(load, compute). Rows (median seconds an epoch):

  * compute alone:  the steps on batches already in memory (a cached pipeline);
  * loading alone:  iterating the pipeline with no training;
  * serial:         ``fit`` on the pipeline, no prefetch;
  * prefetch(4):    the same pipeline ending in ``.prefetch(4)`` (one background thread);
  * map(threads=k) + prefetch(4): the per-sample loading spread over k threads as well.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time
from collections.abc import Callable
from typing import Any

import ember
import ember_nn
from ember_nn.data import Dataset

FEATURES, WIDTH, CLASSES = 256, 1024, 10


def records(n: int) -> list[bytes]:
    """``n`` encoded samples: 256 float32 features and a label, as a file would hold them."""
    out = []
    for i in range(n):
        values = [((i * 31 + k * 7) % 97) / 97.0 for k in range(FEATURES)]
        out.append(struct.pack(f"<{FEATURES}fi", *values, i % CLASSES))
    return out


def decoder(sleep_s: float) -> Callable[[bytes], tuple[ember.Tensor, int]]:
    def decode(record: bytes) -> tuple[ember.Tensor, int]:
        time.sleep(sleep_s)  # reading the file
        x = ember.frombuffer(record[:4 * FEATURES], ember.float32, (FEATURES,))
        return x, int.from_bytes(record[4 * FEATURES:], "little")
    return decode


def pipeline(recs: list[bytes], sleep_s: float, batch: int, *, prefetch: int = 0,
             threads: int = 1) -> Dataset:
    ds = Dataset.from_iterable(recs).map(decoder(sleep_s), name="decode", threads=threads)
    ds = ds.batch(batch)
    return ds.prefetch(prefetch) if prefetch else ds


def make_trainer() -> ember_nn.Trainer:
    model = ember_nn.Sequential(
        ember_nn.Dense(FEATURES, WIDTH, activation="relu", key=0),
        ember_nn.Dense(WIDTH, WIDTH, activation="relu", key=1),
        ember_nn.Dense(WIDTH, CLASSES, key=2))
    return ember_nn.Trainer(model, ember_nn.Adam(1e-3), loss="sparse_categorical_cross_entropy",
                            progress=False)


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up: first-call costs, compilation of kernels
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def sleep_overhead(s: float, tries: int = 200) -> float:
    """How much longer ``time.sleep(s)`` takes than ``s`` here (timer slack), clipped to s."""
    t0 = time.perf_counter()
    for _ in range(tries):
        time.sleep(s)
    return min(s, max(0.0, (time.perf_counter() - t0) / tries - s))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default=ember.get_backend())
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--sleep-ms", default="auto")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    ember.set_backend(a.backend)
    if a.backend == "torch":
        import torch

        torch.set_num_threads(1)
    n = a.batches * a.batch
    recs = records(n)
    cached = pipeline(recs, 0.0, a.batch).cache()
    list(cached)  # decoded once, kept in memory
    trainer = make_trainer()
    compute = median_time(lambda: trainer.fit(cached, epochs=1), a.repeats)
    step = compute / a.batches
    if a.sleep_ms == "auto":  # loading a batch (decoding + sleeping) about as long as a step
        decode = median_time(lambda: sum(1 for _ in pipeline(recs, 0.0, a.batch)), a.repeats)
        want = max(0.0, (compute - decode) / n)  # seconds of sleep a sample
        sleep_s = want - sleep_overhead(want)
    else:
        sleep_s = float(a.sleep_ms) / 1000
    rows = [("compute alone (cached batches)", compute)]
    rows.append(("loading alone (no training)",
                 median_time(lambda: sum(1 for _ in pipeline(recs, sleep_s, a.batch)), a.repeats)))
    for label, kw in (("serial: fit(pipeline)", {}),
                      ("fit(pipeline.prefetch(4))", {"prefetch": 4}),
                      (f"fit(map(threads={a.threads}) ... .prefetch(4))",
                       {"prefetch": 4, "threads": a.threads})):
        ds = pipeline(recs, sleep_s, a.batch, **kw)
        rows.append((label, median_time(lambda ds=ds: trainer.fit(ds, epochs=1), a.repeats)))
    load = rows[1][1]
    print(f"backend {a.backend}, {a.batches} batches of {a.batch}, MLP {FEATURES}-{WIDTH}-"
          f"{WIDTH}-{CLASSES} Adam; the loader sleeps {sleep_s * 1e3:.3f} ms a sample, loading "
          f"a batch takes {load / a.batches * 1e3:.1f} ms, a step {step * 1e3:.1f} ms")
    print(f"{'epoch of':48s} {'seconds':>8s} {'vs load+compute':>16s}")
    for label, t in rows:
        print(f"{label:48s} {t:8.3f} {t / (load + compute):16.2f}")
    hidden = (load + compute - rows[3][1]) / min(load, compute)
    print(f"ideal overlap max(load, compute) = {max(load, compute):.3f} s; prefetch(4) hides "
          f"{hidden:.0%} of the shorter of load and compute")


if __name__ == "__main__":
    main()
