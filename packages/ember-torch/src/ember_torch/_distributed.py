"""torch's side of ``ember.distributed`` (``BackendHooks.distributed``): torch.distributed's
default process group, gloo on the CPU and NCCL on CUDA GPUs, joined from torchrun's
environment (``init_method="env://"``). Every collective works on a copy, so the caller's tensor
never changes.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import ember
import torch
import torch.distributed as dist
from ember.distributed import Collectives, Launch

__all__ = ["TorchCollectives"]

_OPS = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


class TorchCollectives(Collectives):
    """torch.distributed's collectives: ``init`` is ``init_process_group`` with torchrun's
    ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT`` and the timeout (gloo applies it to
    every collective; NCCL's watchdog ends a rank whose collective exceeds it)."""

    engines = ("gloo", "nccl")
    launchers = ("torchrun",)

    def __init__(self) -> None:
        self._owner = False  # whether we started the process group (and so destroy it)
        self._engine = "gloo"
        self._device: torch.device | None = None

    def init(self, engine: str | None, launch: Launch, timeout: float | None) -> str:
        if dist.is_initialized():  # the program started the group itself: use it as it is
            if (dist.get_rank(), dist.get_world_size()) != (launch.rank, launch.world_size):
                raise ember.ArgumentError(
                    f"init: torch.distributed is already initialised as rank {dist.get_rank()} "
                    f"of {dist.get_world_size()}, but torchrun says {launch}")
            self._engine = str(dist.get_backend())
            return self._engine
        missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
        if missing:
            raise ember.ArgumentError(
                f"init: {launch}, but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'}"
                f" not set; start the job with torchrun (python -m torch.distributed.run "
                f"--nproc-per-node N script.py), which sets them")
        if engine is None:
            on_gpu = ember.get_default_device().startswith("cuda")
            engine = "nccl" if on_gpu and dist.is_nccl_available() else "gloo"
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = datetime.timedelta(seconds=timeout)
        if engine == "nccl":
            if not torch.cuda.is_available():
                raise ember.UnsupportedError("init: NCCL needs CUDA GPUs, and torch sees none; "
                                             "use backend='gloo' on the CPU")
            self._device = torch.device("cuda", launch.local_rank % torch.cuda.device_count())
            torch.cuda.set_device(self._device)
            kwargs["device_id"] = self._device
        dist.init_process_group(engine, init_method="env://", rank=launch.rank,
                                world_size=launch.world_size, **kwargs)
        self._owner, self._engine = True, engine
        return engine

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if self._engine == "nccl" and x.device.type != "cuda":
            raise ember.ArgumentError(
                f"NCCL moves CUDA tensors only, and this one is on {x.device}; create it on the "
                f"GPU (ember.set_default_device('cuda:{ember.distributed.local_rank()}')) or "
                f"init(backend='gloo')")
        return x.clone(memory_format=torch.contiguous_format)

    def all_reduce(self, x: Any, op: str) -> Any:
        y = self._check(x)
        dist.all_reduce(y, op=_OPS[op])
        return y

    def all_gather(self, x: Any) -> Any:
        y = self._check(x)
        if y.dtype == torch.bool:  # gloo has no bool: move the bytes
            return self.all_gather(y.view(torch.uint8)).view(torch.bool)
        n = dist.get_world_size()  # gloo takes the concatenated form only
        out = torch.empty(n * y.numel(), dtype=y.dtype, device=y.device)
        dist.all_gather_into_tensor(out, y.reshape(-1))
        return out.view(n, *y.shape)

    def broadcast(self, x: Any, src: int) -> Any:
        y = self._check(x)
        if y.dtype == torch.bool:
            return self.broadcast(y.view(torch.uint8), src).view(torch.bool)
        dist.broadcast(y, src=src)
        return y

    def barrier(self) -> None:
        if self._engine == "nccl" and self._device is not None:
            dist.barrier(device_ids=[self._device.index])
        else:
            dist.barrier()

    def shutdown(self) -> None:
        if self._owner and dist.is_initialized():
            dist.destroy_process_group()
        self._owner = False

