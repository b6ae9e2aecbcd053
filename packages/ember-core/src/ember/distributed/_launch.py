"""Where this process stands in a launched job, read from the launcher's environment: torchrun
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), ``mlx.launch``
(``MLX_RANK`` with ``MLX_HOSTFILE`` for its ring backend, ``MLX_WORLD_SIZE`` for NCCL,
``MLX_IBV_DEVICES`` for JACCL) and MPI's ``mpirun`` (Open MPI's ``OMPI_COMM_WORLD_*``, MPICH's
``PMI_*``). Nothing here talks to another process: the engines do that.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .._errors import ArgumentError

__all__ = ["Launch", "read_launch"]


@dataclass(frozen=True)
class Launch:
    """This process's place in the job: ``launcher`` is ``"torchrun"``, ``"mlx.launch"``,
    ``"mpi"`` or None (a process started on its own: rank 0 of 1)."""

    launcher: str | None
    rank: int
    world_size: int
    local_rank: int

    def __str__(self) -> str:
        if self.launcher is None:
            return "a single process (no launcher)"
        return f"rank {self.rank} of {self.world_size} (started by {self.launcher})"


def _int(env: Mapping[str, str], name: str) -> int:
    text = env[name]
    try:
        value = int(text)
    except ValueError:
        raise ArgumentError(f"ember.distributed: the environment variable {name}={text!r} is "
                            f"not an integer; the launcher sets it, do not set it by hand") from None
    if value < 0:
        raise ArgumentError(f"ember.distributed: {name}={value} must not be negative")
    return value


def _mlx_ring_hosts(path: str) -> list[str]:
    """The first ``ip:port`` of each rank in mlx.launch's ring hostfile (a JSON list of lists);
    empty where mlx.launch wrote an empty file (a single host)."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError as exc:
        raise ArgumentError(f"ember.distributed: MLX_HOSTFILE={path!r} cannot be read ({exc}); "
                            f"start the job with mlx.launch, which writes it") from exc
    if not text:
        return []
    try:
        ranks = json.loads(text)
        return [str(r[0] if isinstance(r, list) else r) for r in ranks]
    except (ValueError, IndexError, TypeError) as exc:
        raise ArgumentError(f"ember.distributed: MLX_HOSTFILE={path!r} is not mlx.launch's "
                            f"ring hostfile (a JSON list of lists of 'ip:port'): {exc}") from exc


def read_launch(env: Mapping[str, str] | None = None) -> Launch:
    """Read the launcher's variables from ``env`` (default: ``os.environ``); checks that the
    rank is below the world size."""
    env = os.environ if env is None else env
    if "RANK" in env and "WORLD_SIZE" in env:  # torchrun (and torch.distributed.launch)
        launch = Launch("torchrun", _int(env, "RANK"), _int(env, "WORLD_SIZE"),
                        _int(env, "LOCAL_RANK") if "LOCAL_RANK" in env else 0)
    elif "MLX_RANK" in env:
        rank = _int(env, "MLX_RANK")
        local = 0
        if env.get("MLX_HOSTFILE"):
            hosts = _mlx_ring_hosts(env["MLX_HOSTFILE"])
            world = max(len(hosts), 1)
            if hosts and rank < world:  # ranks before this one on the same IP
                ip = hosts[rank].rsplit(":", 1)[0]
                local = sum(h.rsplit(":", 1)[0] == ip for h in hosts[:rank])
        elif "MLX_WORLD_SIZE" in env:
            world = _int(env, "MLX_WORLD_SIZE")
        elif env.get("MLX_IBV_DEVICES"):
            try:
                world = len(json.loads(env["MLX_IBV_DEVICES"]))
            except ValueError:
                world = 1
        else:
            world = 1
        launch = Launch("mlx.launch", rank, world, local)
    elif "OMPI_COMM_WORLD_RANK" in env and "OMPI_COMM_WORLD_SIZE" in env:
        launch = Launch("mpi", _int(env, "OMPI_COMM_WORLD_RANK"),
                        _int(env, "OMPI_COMM_WORLD_SIZE"),
                        _int(env, "OMPI_COMM_WORLD_LOCAL_RANK")
                        if "OMPI_COMM_WORLD_LOCAL_RANK" in env else 0)
    elif "PMI_RANK" in env and "PMI_SIZE" in env:
        launch = Launch("mpi", _int(env, "PMI_RANK"), _int(env, "PMI_SIZE"),
                        _int(env, "MPI_LOCALRANKID") if "MPI_LOCALRANKID" in env else 0)
    else:
        return Launch(None, 0, 1, 0)
    if launch.world_size < 1 or launch.rank >= launch.world_size:
        raise ArgumentError(f"ember.distributed: the launcher's environment says rank "
                            f"{launch.rank} of a world of {launch.world_size} ({launch.launcher}); "
                            f"the rank must be below the world size")
    return launch
