"""MLX's side of ``ember.distributed`` (``BackendHooks.distributed``): ``mx.distributed``'s
global group, joined from ``mlx.launch``'s environment (its ring, MPI, NCCL or JACCL backend).

MLX has ``all_sum``, ``all_max``, ``all_min`` and ``all_gather`` (which concatenates); ember
composes the rest from them: ``all_gather`` stacks by gathering ``x[None]``; ``broadcast`` is the
``all_sum`` of ``x`` on rank ``src`` and zeros elsewhere (exact, except that a -0.0 arrives as
0.0); ``barrier`` is the ``all_sum`` of one number, evaluated. Each collective is evaluated at
once (``mx.eval``) so that its errors and its timeout belong to the call.

MLX's engines have no timeout: ember adds a watchdog. A collective still waiting after
``timeout`` seconds prints which rank and call waited, then ends the process (status 1), as
NCCL's watchdog does; the start (``mx.distributed.init``, which holds the interpreter) is
guarded by ``faulthandler.dump_traceback_later``, which prints the stack and ends the process.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ember
import mlx.core as mx
from ember.distributed import Collectives, Launch

__all__ = ["MLXCollectives"]

_CPU_ENGINES = ("ring", "mpi")  # their collectives run on the CPU stream


def _engine_from_env(launch: Launch) -> str:
    env = os.environ
    if launch.launcher == "mpi":
        return "mpi"
    if env.get("MLX_HOSTFILE"):
        return "ring"
    if env.get("MLX_IBV_DEVICES"):
        return "jaccl"
    if env.get("NCCL_HOST_IP") or env.get("MLX_WORLD_SIZE"):
        return "nccl"
    return "any"


def _mlx_distributed_init_waiting_for_other_ranks(engine: str) -> Any:
    """(named for the watchdog's traceback, the only message it can print here)"""
    return mx.distributed.init(strict=True, backend=engine)


class MLXCollectives(Collectives):
    """``mx.distributed``'s collectives on the global group, with ember's watchdog."""

    engines = ("ring", "mpi", "nccl", "jaccl", "any")
    launchers = ("mlx.launch", "mpi")

    def __init__(self) -> None:
        self._group: Any = None
        self._timeout: float | None = None
        self._where = ""
        self._stream: Any = None

    def init(self, engine: str | None, launch: Launch, timeout: float | None) -> str:
        engine = engine or _engine_from_env(launch)
        self._timeout = timeout
        self._where = f"rank {launch.rank} of {launch.world_size} (MLX {engine})"
        if timeout is not None:
            faulthandler.dump_traceback_later(timeout, exit=True)
        try:
            group = _mlx_distributed_init_waiting_for_other_ranks(engine)
        finally:
            if timeout is not None:
                faulthandler.cancel_dump_traceback_later()
        if (group.rank(), group.size()) != (launch.rank, launch.world_size):
            raise ember.ArgumentError(
                f"init: MLX's {engine} backend joined as rank {group.rank()} of {group.size()}, "
                f"but the launcher's environment says {launch}; start the job with mlx.launch")
        self._group = group
        self._stream = mx.cpu if engine in _CPU_ENGINES else None
        if engine == "ring":
            n, r = launch.world_size, launch.rank
            self._where += f", ring neighbours {(r - 1) % n} and {(r + 1) % n}"
        return engine

    @contextmanager
    def _watchdog(self, what: str) -> Iterator[None]:
        if self._timeout is None:
            yield
            return

        def expire() -> None:
            sys.stderr.write(
                f"ember.distributed: {what} on {self._where} waited {self._timeout:g} s for the "
                f"other ranks (MLX's engines have no timeout of their own: this is ember's "
                f"watchdog); a rank stalled or is gone: ending this process with status 1\n")
            sys.stderr.flush()
            os._exit(1)

        timer = threading.Timer(self._timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _run(self, what: str, fn: Callable[..., Any], x: Any) -> Any:
        y = fn(x, group=self._group, stream=self._stream)
        with self._watchdog(what):
            try:
                mx.eval(y)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc} ({self._where})") from exc
        return y

    def all_reduce(self, x: Any, op: str) -> Any:
        fn = {"sum": mx.distributed.all_sum, "max": mx.distributed.all_max,
              "min": mx.distributed.all_min}[op]
        return self._run(f"all_reduce(op={op!r})", fn, x)

    def all_gather(self, x: Any) -> Any:
        return self._run("all_gather", mx.distributed.all_gather, x[None])

    def broadcast(self, x: Any, src: int) -> Any:
        if x.dtype == mx.bool_:
            return self.broadcast(x.astype(mx.uint8), src).astype(mx.bool_)
        mine = x if self._group.rank() == src else mx.zeros_like(x)
        return self._run(f"broadcast(src={src})", mx.distributed.all_sum, mine)

    def barrier(self) -> None:
        self._run("barrier", mx.distributed.all_sum, mx.array(0, dtype=mx.int32))

    def shutdown(self) -> None:
        self._group = None  # MLX keeps its global group for the life of the process
