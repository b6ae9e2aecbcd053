"""Data-parallel training throughput: ``Trainer(distributed=True)`` on 1, 2 (3 ...) workers
against plain single-process training, and on torch the same model under torch's own
``DistributedDataParallel`` in the same runs.

    uv run python benchmarks/distributed.py [--backends torch,mlx] [--workers 1,2,3]
        [--device cpu|cuda] [--epochs 2] [--samples 8192] [--batch 256]

The model: an MLP 256-512-512-10 (ReLU), softmax cross-entropy, SGD(0.01), a global batch of
``--batch`` samples (each of W workers computes batch/W of it: strong scaling), ``--samples``
random samples. Each job trains one warm-up epoch, then times ``--epochs`` epochs (rank 0's wall
clock, after a barrier); throughput is samples per second of the whole job, scaling efficiency
is throughput(W) / (W x throughput of the plain single process). Workers are started by the
backend's launcher (torchrun, mlx.launch) with OMP_NUM_THREADS=1 on CPUs; ``--device cuda``
gives each local rank its own GPU (NCCL).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
SIZES = (256, 512, 512, 10)


def _data(samples: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    return (rng.normal(size=(samples, SIZES[0])).astype(np.float32),
            rng.integers(0, SIZES[-1], samples))


def worker_ember(args: argparse.Namespace, distributed: bool) -> dict[str, Any]:
    import ember
    import ember_nn

    ember.set_backend(args.backend)
    device = None
    if args.device == "cuda":
        device = "cuda" if args.backend == "torch" else "gpu"
    if distributed:
        ember.distributed.init("nccl" if device == "cuda" else None, timeout=120)
    x, y = _data(args.samples)
    model = ember_nn.MLP(SIZES[0], list(SIZES[1:-1]), SIZES[-1], key=0)
    tr = ember_nn.Trainer(model, ember_nn.SGD(0.01), loss="sparse_categorical_cross_entropy",
                          progress=False, distributed=distributed, device=device)
    xs, ys = tr._input(x), tr._target(y)
    tr.fit(xs, ys, epochs=1, batch_size=args.batch)  # warm-up
    if distributed:
        ember.distributed.barrier()
    t0 = time.perf_counter()
    h = tr.fit(xs, ys, epochs=args.epochs, batch_size=args.batch)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "loss": h["loss"][-1],
            "rank": ember.distributed.rank() if distributed else 0}


def worker_ddp(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import torch.distributed as dist
    from torch import nn

    cuda = args.device == "cuda"
    local = int(os.environ.get("LOCAL_RANK", 0))
    dev = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(dev)
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(SIZES):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.parallel.DistributedDataParallel(nn.Sequential(*layers[:-1]).to(dev),
                                                device_ids=[local] if cuda else None)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = _data(args.samples)
    xs, ys = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    loss = torch.zeros(())

    def epoch(e: int) -> None:
        nonlocal loss
        g = torch.Generator().manual_seed(e)  # the same order on every rank
        order = torch.randperm(args.samples, generator=g).to(dev)
        for lo in range(0, args.samples, args.batch):
            idx = order[lo:lo + args.batch]
            n = len(idx)
            part = idx[rank * n // world:(rank + 1) * n // world]
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(xs[part]), ys[part])
            loss.backward()
            opt.step()
        float(loss)

    epoch(0)
    dist.barrier()
    t0 = time.perf_counter()
    for e in range(args.epochs):
        epoch(e + 1)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    dist.destroy_process_group()
    return {"seconds": seconds, "loss": float(loss), "rank": rank}


def run_job(args: argparse.Namespace, backend: str, mode: str, workers: int) -> dict[str, Any]:
    """One job of ``workers`` processes (``mode``: plain, ember or ddp); rank 0's result."""
    from ember.distributed import free_ports

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        worker = [str(HERE), "--worker", mode, "--backends", backend, "--out", str(out),
                  "--device", args.device, "--epochs", str(args.epochs), "--samples",
                  str(args.samples), "--batch", str(args.batch)]
        if mode == "plain":
            cmd = [sys.executable, *worker]
        elif backend == "torch":
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node",
                   str(workers), "--master-port", str(free_ports(1)), *worker]
        else:
            cmd = [str(Path(sys.executable).parent / "mlx.launch"), "-n", str(workers),
                   "--starting-port", str(free_ports(workers)), "--", sys.executable,
                   *worker]
        env = os.environ | ({"OMP_NUM_THREADS": "1"} if args.device == "cpu" else {})
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if not out.exists():
            raise RuntimeError(f"{backend} {mode} x{workers} failed:\n{proc.stdout[-3000:]}"
                               f"\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
    result["throughput"] = args.samples * args.epochs / result["seconds"]
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backends", default="torch,mlx")
    p.add_argument("--workers", default="1,2,3")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--samples", type=int, default=8192)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        args.backend = args.backends
        result = (worker_ddp(args) if args.worker == "ddp"
                  else worker_ember(args, args.worker == "ember"))
        if result["rank"] == 0:
            Path(args.out).write_text(json.dumps(result))
        return 0
    counts = [int(w) for w in args.workers.split(",")]
    print(f"MLP {'-'.join(map(str, SIZES))}, SGD, global batch {args.batch}, {args.samples} "
          f"samples x {args.epochs} epochs, device {args.device}, {os.cpu_count()} CPU cores "
          f"on this machine")
    print(f"{'backend':8s} {'what':34s} {'workers':>7s} {'samples/s':>10s} {'efficiency':>10s}")
    for backend in args.backends.split(","):
        base = run_job(args, backend, "plain", 1)
        rows = [("Trainer, one process", 1, base)]
        for w in counts:
            rows.append(("Trainer(distributed=True)", w, run_job(args, backend, "ember", w)))
        if backend == "torch":
            for w in counts:
                rows.append(("torch DistributedDataParallel", w,
                             run_job(args, backend, "ddp", w)))
        for what, w, r in rows:
            eff = r["throughput"] / (w * base["throughput"])
            print(f"{backend:8s} {what:34s} {w:7d} {r['throughput']:10.0f} {eff:10.2f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
