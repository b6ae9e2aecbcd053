"""The state of this process's job and the collectives on ember tensors (``ember.distributed``).

A world of one process (no launcher) needs no engine: every backend then returns its input's
values. Two or more processes go through the backend's ``BackendHooks.distributed`` engine.
"""

from __future__ import annotations

import atexit
import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _dtypes as dt
from .._errors import (
    ArgumentError,
    BackendMismatchError,
    DTypeError,
    EmberError,
    UnsupportedError,
)
from ._engine import Collectives
from ._launch import Launch, read_launch

if TYPE_CHECKING:
    from .._backend import Backend
    from .._tensor import Tensor

__all__ = ["DistributedError", "World", "all_gather", "all_reduce", "barrier", "broadcast",
           "init", "is_initialized", "local_rank", "rank", "shutdown", "world_size"]

OPS = ("sum", "mean", "max", "min")
DEFAULT_TIMEOUT = 300.0
T = TypeVar("T")


class DistributedError(EmberError, RuntimeError):
    """A collective or the start of a job failed: another rank ended, did not reach the same
    call in time, or the launcher's address could not be reached. The message names this
    process's rank and the engine's own words."""


@dataclass(frozen=True)
class World:
    """This process's place in the job, as :func:`init` returns it.

    Arguments:
        rank, world_size, local_rank: this process's rank, the number of processes, and its
            rank among the processes of its machine.
        backend: the ember backend whose engine moves the data (``"torch"``, ``"mlx"``).
        engine: the engine's backend (``"gloo"``, ``"nccl"``, ``"ring"``, ``"mpi"``); None for a
            world of one process, which needs none.
        launcher: ``"torchrun"``, ``"mlx.launch"``, ``"mpi"`` or None.
        timeout: seconds a start or a collective may wait for the other ranks (None: the
            engine's default).
    """

    rank: int
    world_size: int
    local_rank: int
    backend: str
    engine: str | None
    launcher: str | None
    timeout: float | None

    def __str__(self) -> str:
        via = f"{self.backend}/{self.engine}" if self.engine else self.backend
        return f"rank {self.rank} of {self.world_size} ({via})"


_state: list[tuple[World, Backend, Collectives | None]] = []


def _current_root() -> Backend:
    from .._backend import current_backend

    return current_backend().root


def _engine_backends() -> list[str]:
    from .._plugins import backends, load_backend

    names = []
    for info in backends(probe=False):
        try:
            if load_backend(info.name).hooks.distributed is not None:
                names.append(info.name)
        except EmberError:
            pass
    return names


def init(backend: str | None = None, *, timeout: float | None = DEFAULT_TIMEOUT) -> World:
    """Join the job a launcher started (torchrun, ``mlx.launch``, ``mpirun``), on the ember
    backend in effect; a process started on its own is rank 0 of a world of 1 and starts no
    engine. Calling it again with the same arguments returns the same :class:`World`.

    Arguments:
        backend: the engine's backend: ``"gloo"`` or ``"nccl"`` for torch (default: NCCL when
            the default device is a CUDA GPU, else gloo), ``"ring"``, ``"mpi"``, ``"nccl"`` or
            ``"jaccl"`` for MLX (default: the one ``mlx.launch`` set up). The ember backend is
            the one in effect (``ember.use_backend("torch")``), not this argument.
        timeout: seconds the start and each collective wait for the other ranks before
            failing with :class:`DistributedError` (torch: the process group's timeout; MLX,
            whose engine has none, a watchdog that ends the process, see the docs); None
            waits as long as the engine does (MLX: for ever).

    Raises :class:`ember.UnsupportedError` where the backend has no engine and the launcher
    started several processes, naming the backends that have one;
    :class:`DistributedError` where the engine cannot start (naming the rank).

    >>> with ember.use_backend("numpy"):
    ...     print(ember.distributed.init())
    rank 0 of 1 (numpy)
    >>> ember.distributed.shutdown()
    """
    if backend is not None and not isinstance(backend, str):
        raise ArgumentError(f"init: backend must be the engine's name ('gloo', 'nccl', "
                            f"'ring', 'mpi') or None, got {backend!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                                or not math.isfinite(timeout) or timeout <= 0):
        raise ArgumentError(f"init: timeout must be a positive number of seconds or None, "
                            f"got {timeout!r}")
    b = _current_root()
    if backend in ("numpy", "torch", "mlx") or (backend and backend == b.name):
        raise ArgumentError(f"init: backend={backend!r} names an ember backend; it takes the "
                            f"engine's ('gloo', 'nccl', 'ring', 'mpi'). The ember backend is the "
                            f"one in effect: ember.use_backend({backend!r})")
    launch = read_launch()
    if _state:
        world, old, _ = _state[0]
        if old is b and backend in (None, world.engine) and timeout == world.timeout:
            return world
        raise ArgumentError(f"init: this process already joined as {world} with timeout "
                            f"{world.timeout}; call ember.distributed.shutdown() first to "
                            f"change the backend, the engine or the timeout")
    hook = b.hooks.distributed
    if launch.world_size == 1:
        if backend is not None and hook is not None and backend not in hook().engines:
            raise ArgumentError(f"init: backend {b.name!r} has no engine {backend!r}; it has "
                                f"{list(hook().engines)}")
        world = World(0, 1, 0, b.name, None, launch.launcher, timeout)
        _state.append((world, b, None))
        return world
    if hook is None:
        raise UnsupportedError(
            f"ember.distributed: backend {b.name!r} has no collectives, and this process is "
            f"{launch}; use a backend that has them: {_engine_backends() or ['torch', 'mlx']} "
            f"(ember.use_backend(...) or EMBER_BACKEND)")
    engine = hook()
    if backend is not None and backend not in engine.engines:
        raise ArgumentError(f"init: backend {b.name!r} has no engine {backend!r}; it has "
                            f"{list(engine.engines)} (None picks one)")
    if engine.launchers and launch.launcher not in engine.launchers:
        raise UnsupportedError(
            f"ember.distributed: this process is {launch}, but backend {b.name!r} joins jobs "
            f"started by {' or '.join(engine.launchers)}; start it with one of those")
    name = _call(launch.rank, launch.world_size, "init",
                 lambda: engine.init(backend, launch, timeout))
    world = World(launch.rank, launch.world_size, launch.local_rank, b.name, name,
                  launch.launcher, timeout)
    _state.append((world, b, engine))
    atexit.register(_leave_at_exit)
    return world


def _leave_at_exit() -> None:
    """Leave the job as the interpreter exits (after an uncaught error too): an engine left
    running can abort the exit (gloo's threads: SIGABRT) or keep its peers waiting."""
    with contextlib.suppress(Exception):
        shutdown()


def _call(r: int, n: int, what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except EmberError:
        raise
    except Exception as exc:
        raise DistributedError(
            f"ember.distributed.{what} failed on rank {r} of {n}: {exc}. Another rank has "
            f"probably ended or not reached the same call in time: see every rank's output "
            f"(the launcher names the first rank that exited)") from exc


def is_initialized() -> bool:
    """Whether :func:`init` has run (and :func:`shutdown` has not since)."""
    return bool(_state)


def _place() -> World | Launch:
    return _state[0][0] if _state else read_launch()


def rank() -> int:
    """This process's rank, 0 to ``world_size() - 1`` (before :func:`init`: the launcher's
    environment says it; 0 without a launcher)."""
    return _place().rank


def world_size() -> int:
    """The number of processes in the job (1 without a launcher)."""
    return _place().world_size


def local_rank() -> int:
    """This process's rank among the processes of its machine (torchrun's ``LOCAL_RANK``;
    for mlx.launch, counted from its hostfile): the GPU to use, say."""
    return _place().local_rank


def shutdown() -> None:
    """Leave the job (free the engine's connections); :func:`init` may run again after it.
    MLX cannot start a second ring in one process, see the docs."""
    if not _state:
        return
    world, _, engine = _state.pop()
    if engine is not None:
        _call(world.rank, world.world_size, "shutdown", engine.shutdown)


# -- the collectives ----------------------------------------------------------------------------
def _checked(x: Any, what: str) -> tuple[Tensor, Backend, Collectives | None, World | Launch]:
    from .._tensor import Tensor

    if not isinstance(x, Tensor):
        raise ArgumentError(f"{what}: x must be an ember.Tensor, got {type(x).__name__}; "
                            f"wrap it with ember.asarray(x)")
    root = x._b.root
    if _state:
        world, b, engine = _state[0]
        if root is not b:
            raise BackendMismatchError(
                f"{what}: x is a {root.name!r} tensor but this job's collectives run on "
                f"{b.name!r} (init() ran under it); convert with x.to({b.name!r})")
        return x, b, engine, world
    launch = read_launch()
    if launch.world_size > 1:
        raise ArgumentError(f"{what}: this process is {launch}; call "
                            f"ember.distributed.init() first")
    return x, root, None, launch


def _wrap(native: Any, b: Backend) -> Tensor:
    from .._tensor import Tensor

    return Tensor(native, b)


def _copy(x: Tensor, b: Backend) -> Tensor:
    """A world of one: the collective's answer is a copy of ``x`` (mean over one included)."""
    return _wrap(b.kernels.asarray(x.native, None, None, True), b)


def all_reduce(x: Tensor, op: str = "sum") -> Tensor:
    """The elementwise ``op`` of ``x`` over every rank, as a new tensor on each (``x`` is left
    as it was): ``"sum"``, ``"mean"`` (the sum divided by the world size; floating dtypes
    only), ``"max"`` or ``"min"``. All ranks must pass the same shape and dtype. Bool tensors
    are refused (cast to an integer dtype); complex ones take sum and mean only.

    >>> with ember.use_backend("numpy"):
    ...     ember.distributed.all_reduce(ember.asarray([1.0, 2.0]), op="mean").tolist()
    [1.0, 2.0]
    """
    if op not in OPS:
        raise ArgumentError(f"all_reduce: op must be one of {list(OPS)}, got {op!r}")
    x, b, engine, place = _checked(x, "all_reduce")
    dtype = x.dtype
    if dtype == dt.bool:
        raise DTypeError(f"all_reduce: x is bool, which has no {op!r}; cast it first, e.g. "
                         f"x.astype(ember.int32) (max is 'any', min is 'all')")
    if op == "mean" and not dtype.is_inexact:
        raise DTypeError(f"all_reduce: op='mean' needs a floating or complex dtype, got {dtype}; "
                         f"cast x first or use op='sum'")
    if op in ("max", "min") and dtype.is_complex:
        raise DTypeError(f"all_reduce: complex {dtype} has no {op!r}; reduce its real part")
    if engine is None:
        return _copy(x, b)
    world = place.world_size
    native = _call(place.rank, world, "all_reduce",
                   lambda: engine.all_reduce(x.native, "sum" if op == "mean" else op))
    out = _wrap(native, b)
    return out / world if op == "mean" else out


def all_gather(x: Tensor) -> Tensor:
    """Every rank's ``x`` stacked along a new first axis: shape ``(world_size(), *x.shape)``,
    rank r's ``x`` at index r (``ember.reshape(out, (-1, *x.shape[1:]))`` concatenates them
    instead). All ranks must pass the same shape and dtype; any dtype.

    >>> with ember.use_backend("numpy"):
    ...     ember.distributed.all_gather(ember.asarray([1, 2])).tolist()
    [[1, 2]]
    """
    x, b, engine, place = _checked(x, "all_gather")
    if engine is None:
        return _copy(x, b)[None]
    return _wrap(_call(place.rank, place.world_size, "all_gather",
                       lambda: engine.all_gather(x.native)), b)


def broadcast(x: Tensor, src: int = 0) -> Tensor:
    """Rank ``src``'s ``x`` on every rank, as a new tensor (every rank passes a tensor of the
    same shape and dtype; only ``src``'s values count).

    >>> with ember.use_backend("numpy"):
    ...     ember.distributed.broadcast(ember.asarray([3.0]), src=0).tolist()
    [3.0]
    """
    x, b, engine, place = _checked(x, "broadcast")
    world = place.world_size
    if isinstance(src, bool) or not isinstance(src, int) or not 0 <= src < world:
        raise ArgumentError(f"broadcast: src must be a rank from 0 to {world - 1} (the world "
                            f"has {world} process{'es' if world > 1 else ''}), got {src!r}")
    if engine is None:
        return _copy(x, b)
    return _wrap(_call(place.rank, world, "broadcast", lambda: engine.broadcast(x.native, src)),
                 b)


def barrier() -> None:
    """Return once every rank has called ``barrier()`` (at once in a world of one)."""
    if not _state:
        launch = read_launch()
        if launch.world_size > 1:
            raise ArgumentError(f"barrier: this process is {launch}; call "
                                f"ember.distributed.init() first")
        return
    world, _, engine = _state[0]
    if engine is not None:
        _call(world.rank, world.world_size, "barrier", engine.barrier)
