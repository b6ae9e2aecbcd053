"""``python -m ember.distributed.check``: run every collective once under a launcher and print
what this rank got, one JSON line per rank; a quick test of a set-up and what the
multi-process tests of ember-torch and ember-mlx run.

    python -m torch.distributed.run --nproc-per-node 2 -m ember.distributed.check --backend torch
    mlx.launch -n 2 -- python -m ember.distributed.check --backend mlx

Rank r contributes ``r + arange(n)`` (float32) to the reductions. ``--die R`` makes rank R
exit with status 3 once the job has started, ``--stall R`` makes it sleep for two timeouts: the
other ranks then print the error they get (``{"rank": r, "error": ...}``) and exit with status
1, or (MLX, past the timeout) are ended by ember's watchdog.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import ember

__all__ = ["expected", "main", "parse", "verify"]


def _results(n: int) -> dict[str, object]:
    d = ember.distributed
    r = d.rank()
    x = ember.arange(n, dtype=ember.float32) + r
    before = x.tolist()
    out: dict[str, object] = {
        op: d.all_reduce(x, op=op).tolist() for op in ("sum", "mean", "max", "min")
    }
    out["unchanged"] = x.tolist() == before
    out["int_sum"] = d.all_reduce(ember.asarray([r, 2 * r], dtype=ember.int32)).tolist()
    out["gather"] = d.all_gather(x).tolist()
    out["gather_scalar"] = d.all_gather(ember.asarray(float(r))).tolist()
    out["gather_bool"] = d.all_gather(ember.asarray([r % 2 == 0, True])).tolist()
    src = 1 if d.world_size() > 1 else 0
    out["broadcast"] = d.broadcast(x * 10, src=src).tolist()
    out["broadcast_bool"] = d.broadcast(ember.asarray([r == src, r != src]), src=src).tolist()
    many = [ember.full((2, 2), float(r)), ember.arange(3, dtype=ember.float32) * (r + 1),
            ember.asarray([r], dtype=ember.int64), ember.asarray(float(r))]
    out["many_sum"] = [t.tolist() for t in d.all_reduce_many(many, op="sum", bucket_bytes=16)]
    d.barrier()
    return out


def expected(world: int, size: int = 4) -> dict[str, object]:
    """What every rank of a job of ``world`` ranks must print (as ``_results`` computes it,
    rank ``r`` contributing ``arange(size) + r``), in plain Python."""
    xs = [[float(i + r) for i in range(size)] for r in range(world)]
    cols = list(zip(*xs, strict=True))
    total = sum(range(world))
    src = 1 if world > 1 else 0
    return {"sum": [sum(c) for c in cols], "mean": [sum(c) / world for c in cols],
            "max": [max(c) for c in cols], "min": [min(c) for c in cols], "unchanged": True,
            "int_sum": [total, 2 * total], "gather": xs,
            "gather_scalar": [float(r) for r in range(world)],
            "gather_bool": [[r % 2 == 0, True] for r in range(world)],
            "broadcast": [10 * v for v in xs[src]], "broadcast_bool": [True, False],
            "many_sum": [[[float(total)] * 2] * 2,
                         [float(i * sum(r + 1 for r in range(world))) for i in range(3)],
                         [total], float(total)]}


def parse(text: str) -> dict[int, dict[str, Any]]:
    """The JSON line of each rank in ``text`` (a launcher's output), by rank."""
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return {r["rank"]: r for r in records}


def verify(by_rank: dict[int, dict[str, Any]], world: int, engine: str) -> None:
    """Raise AssertionError naming the rank and the collective where ``by_rank`` (``parse``'s
    result) is not what a correct job of ``world`` ranks on ``engine`` prints."""
    if sorted(by_rank) != list(range(world)):
        raise AssertionError(f"ranks {sorted(by_rank)} printed, expected 0..{world - 1}")
    want = expected(world)
    for r, got in by_rank.items():
        head = (got.get("world"), got.get("local_rank"), got.get("engine"))
        if head != (world, r, engine):
            raise AssertionError(f"rank {r}: (world, local_rank, engine) {head}, expected "
                                 f"{(world, r, engine)}")
        for key, value in want.items():
            if key == "mean":
                means: list[float] = list(value)  # type: ignore[call-overload]
                close = len(got[key]) == len(means) and all(
                    abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(got[key], means))
            else:
                close = got[key] == value
            if not close:
                raise AssertionError(f"rank {r}: {key} is {got[key]}, expected {value}")


def _emit(record: dict[str, Any]) -> None:
    """One JSON line in one write: lines of several ranks sharing a pipe never interleave
    (a write of under PIPE_BUF bytes is atomic; ``print`` writes the line and its newline
    apart when the stream is unbuffered, as launchers often make it)."""
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ember.distributed.check")
    p.add_argument("--backend", default=None, help="ember backend (default: the default one)")
    p.add_argument("--engine", default=None, help="gloo, nccl, ring, mpi (default: chosen)")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--size", type=int, default=4)
    p.add_argument("--die", type=int, default=None, help="this rank exits with status 3")
    p.add_argument("--stall", type=int, default=None,
                   help="this rank sleeps (2 timeouts) instead of joining the next collective")
    args = p.parse_args(argv)
    if args.backend:
        ember.set_backend(args.backend)
    d = ember.distributed
    world = d.init(args.engine, timeout=args.timeout)
    head = {"rank": world.rank, "world": world.world_size, "local_rank": world.local_rank,
            "backend": world.backend, "engine": world.engine, "launcher": world.launcher}
    if args.die is not None or args.stall is not None:
        d.barrier()
        if world.rank == args.die:
            sys.exit(3)
        if world.rank == args.stall:
            time.sleep(2 * args.timeout)
            return 0
        start = time.perf_counter()
        try:
            d.all_reduce(ember.ones(4))
            d.barrier()
        except ember.EmberError as exc:
            seconds = round(time.perf_counter() - start, 1)
            _emit(head | {"error": f"{type(exc).__name__}: {exc}", "seconds": seconds})
            return 1
        _emit(head | {"error": None})
        return 0
    _emit(head | _results(args.size))
    d.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
