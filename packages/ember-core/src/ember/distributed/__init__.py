"""``ember.distributed``: collectives across the processes of one job, on the engines the
backends already have: torch.distributed (gloo on the CPU, NCCL on CUDA GPUs; start with
torchrun) and MLX's ``mx.distributed`` (its ring, MPI, NCCL and JACCL backends; start with
``mlx.launch``). Ember writes no communication layer of its own.

A process started on its own is rank 0 of a world of 1 on every backend (NumPy included):
the collectives then return their input's values, so one script runs with and without a
launcher. ``docs/distributed.md`` has the launch commands.

>>> with ember.use_backend("numpy"):
...     x = ember.asarray([1.0, 2.0])
...     ember.distributed.all_reduce(x, op="sum").tolist(), ember.distributed.world_size()
([1.0, 2.0], 1)

A backend provides its engine through ``ember.BackendHooks(distributed=...)``, a factory of a
:class:`Collectives` (``docs/writing-a-backend.md``).
"""

from __future__ import annotations

from ._api import (
    DistributedError,
    World,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    init,
    is_initialized,
    local_rank,
    rank,
    shutdown,
    world_size,
)
from ._buckets import all_reduce_many
from ._engine import Collectives
from ._launch import Launch, read_launch
from ._ports import free_ports

__all__ = [
    "Collectives", "DistributedError", "Launch", "World", "all_gather", "all_reduce",
    "all_reduce_many", "barrier", "broadcast", "free_ports", "init", "is_initialized",
    "local_rank", "rank",
    "read_launch", "shutdown", "world_size",
]
