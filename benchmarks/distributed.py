"""Data-parallel training throughput: ``Trainer(distributed=True)`` on 1, 2 (3 ...) workers
against plain single-process training, and on torch the same model under torch's own
``DistributedDataParallel`` in the same runs.

    uv run python benchmarks/distributed.py [--backends torch,mlx] [--workers 1,2,3]
        [--device cpu|cuda] [--epochs 2] [--samples 8192] [--batch 256]
        [--model mlp|transformer] [--engine gloo|nccl] [--share-gpu] [--check]

The model (``--model mlp``): an MLP 256-512-512-10 (ReLU), softmax cross-entropy, SGD(0.01), a
global batch of ``--batch`` samples (each of W workers computes batch/W of it: strong scaling),
``--samples`` random samples. ``--model transformer``: train_step.py's transformer (4 pre-norm
layers, width 512, 8 heads, a label per token; ``--seq`` tokens, default 256), Adam(1e-3),
tokens per second in the table; the DDP side is the same model in torch.nn from the same
weights. ``--share-gpu`` puts every rank on the first GPU (NCCL refuses two ranks on one
device, so it takes ``--engine gloo``, which moves CUDA tensors through the host): what a
one-GPU machine can run of a multi-GPU job.

``--check`` trains ``--check-steps`` steps instead of timing, saves every rank's weights and
those of one process training on the global batch, and checks that the ranks hold the same
weights (bit for bit) and that they match the single process (rtol ``--rtol``). Each job trains one warm-up epoch, then times ``--epochs`` epochs (rank 0's wall
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
# mlx.launch's console script, found through the interpreter (a --target install puts the script
# elsewhere than beside sys.executable)
_MLX_LAUNCH = "import sys; from mlx._distributed_utils.launch import main; sys.exit(main())"


def _data(args: argparse.Namespace) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    if args.model == "transformer":
        from train_step import T_CLASSES, T_WIDTH

        return (rng.normal(size=(args.samples, args.seq, T_WIDTH)).astype(np.float32),
                rng.integers(0, T_CLASSES, (args.samples, args.seq)))
    return (rng.normal(size=(args.samples, SIZES[0])).astype(np.float32),
            rng.integers(0, SIZES[-1], args.samples))


def _ember_model(args: argparse.Namespace) -> Any:
    import ember
    import ember_nn

    if args.model == "mlp":
        return ember_nn.MLP(SIZES[0], list(SIZES[1:-1]), SIZES[-1], key=0)
    from train_step import T_CLASSES, TokenClassifier

    class Tokens(ember_nn.Module):
        """train_step's TokenClassifier with (batch, seq, classes) logits."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = TokenClassifier()

        def forward(self, x: Any) -> Any:
            return ember.reshape(self.inner(x), (x.shape[0], x.shape[1], T_CLASSES))

    return Tokens()


def _engine(args: argparse.Namespace) -> str | None:
    if args.engine:
        return str(args.engine)
    return "nccl" if args.device == "cuda" else None


def worker_ember(args: argparse.Namespace, distributed: bool) -> dict[str, Any]:
    import ember
    import ember_nn

    ember.set_backend(args.backend)
    device = None
    if args.device == "cuda":
        device = "cuda" if args.backend == "torch" else "gpu"
        if args.share_gpu and args.backend == "torch":
            device = "cuda:0"
    if distributed:
        ember.distributed.init(_engine(args), timeout=120)
    x, y = _data(args)
    model = _ember_model(args)
    opt = ember_nn.SGD(0.01) if args.model == "mlp" else ember_nn.Adam(1e-3)
    tr = ember_nn.Trainer(model, opt, loss="sparse_categorical_cross_entropy",
                          progress=False, distributed=distributed, device=device)
    xs, ys = tr._input(x), tr._target(y)
    if args.check:  # a few steps, then every rank's weights
        tr.fit(xs[:args.batch * args.check_steps], ys[:args.batch * args.check_steps],
               epochs=1, batch_size=args.batch, shuffle=False)
        import numpy as np

        rank = ember.distributed.rank() if distributed else 0
        name = f"rank{rank}" if distributed else "single"
        np.savez(Path(args.out).with_name(f"{name}.npz"),
                 *[np.asarray(v.numpy()) for v in model.variables])
        return {"seconds": 1.0, "loss": 0.0, "rank": rank}
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
    local = 0 if args.share_gpu else int(os.environ.get("LOCAL_RANK", 0))
    dev = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(dev)
    dist.init_process_group(_engine(args) or "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    if args.model == "transformer":
        import numpy as np
        from train_step import torch_transformer

        net = torch_transformer([np.asarray(v.numpy()) for v in _ember_model(args).variables])
    else:
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(SIZES):
            layers += [nn.Linear(a, b), nn.ReLU()]
        net = nn.Sequential(*layers[:-1])
    model = nn.parallel.DistributedDataParallel(net.to(dev), device_ids=[local] if cuda else None)
    opt = (torch.optim.SGD(model.parameters(), lr=0.01) if args.model == "mlp"
           else torch.optim.Adam(model.parameters(), lr=1e-3))
    x, y = _data(args)
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
            loss = nn.functional.cross_entropy(model(xs[part]), ys[part].reshape(-1))
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
        if args.check:
            out = Path(args.check_dir) / "result.json"
        worker = [str(HERE), "--worker", mode, "--backends", backend, "--out", str(out),
                  "--device", args.device, "--epochs", str(args.epochs), "--samples",
                  str(args.samples), "--batch", str(args.batch), "--model", args.model,
                  "--seq", str(args.seq), "--check-steps", str(args.check_steps)]
        worker += ["--engine", args.engine] if args.engine else []
        worker += ["--share-gpu"] if args.share_gpu else []
        worker += ["--check"] if args.check else []
        if mode == "plain":
            cmd = [sys.executable, *worker]
        elif backend == "torch":
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node",
                   str(workers), "--master-port", str(free_ports(1)), *worker]
        else:
            cmd = [sys.executable, "-c", _MLX_LAUNCH, "-n", str(workers),
                   "--starting-port", str(free_ports(workers)), "--", sys.executable,
                   *worker]
        env = os.environ | ({"OMP_NUM_THREADS": "1"} if args.device == "cpu" else {})
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if not out.exists():
            raise RuntimeError(f"{backend} {mode} x{workers} failed:\n{proc.stdout[-3000:]}"
                               f"\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
    result["throughput"] = args.samples * args.epochs / result["seconds"]
    if args.model == "transformer":
        result["throughput"] *= args.seq  # tokens per second
    return result


def check(args: argparse.Namespace) -> int:
    """Every rank's weights equal, and equal to one process on the global batch."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        args.check_dir = tmp
        worlds = [int(w) for w in args.workers.split(",") if int(w) > 1]
        failed = 0
        for backend in args.backends.split(","):
            run_job(args, backend, "plain", 1)
            single = np.load(Path(tmp) / "single.npz")
            ref = [single[k] for k in single.files]
            for w in worlds:
                run_job(args, backend, "ember", w)
                ranks = [np.load(Path(tmp) / f"rank{r}.npz") for r in range(w)]
                weights = [[z[k] for k in z.files] for z in ranks]
                same = all(np.array_equal(a, b) for ws in weights[1:]
                           for a, b in zip(weights[0], ws, strict=True))
                worst = max(float(np.max(np.abs(a - b))) for a, b in zip(weights[0], ref,
                                                                         strict=True))
                close = all(np.allclose(a, b, rtol=args.rtol, atol=args.rtol)
                            for a, b in zip(weights[0], ref, strict=True))
                failed += not (same and close)
                print(f"{backend:6s} {w} ranks x {args.check_steps} steps ({args.model}, "
                      f"{args.device}{', one shared GPU' if args.share_gpu else ''}, "
                      f"engine {_engine(args) or 'default'}): ranks identical: {same}; "
                      f"vs one process on the global batch: max abs diff {worst:.2e} "
                      f"({'ok' if close else 'FAIL'} at rtol = atol = {args.rtol})", flush=True)
                for r in range(w):
                    (Path(tmp) / f"rank{r}.npz").unlink()
    return 1 if failed else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backends", default="torch,mlx")
    p.add_argument("--workers", default="1,2,3")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--samples", type=int, default=8192)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--model", default="mlp", choices=["mlp", "transformer"])
    p.add_argument("--seq", type=int, default=256, help="tokens per sample (transformer)")
    p.add_argument("--engine", default=None, choices=["gloo", "nccl"],
                   help="default: nccl on cuda, gloo on the CPU")
    p.add_argument("--share-gpu", action="store_true", help="every rank on the first GPU")
    p.add_argument("--check", action="store_true", help="the weights check, no timing")
    p.add_argument("--check-steps", type=int, default=5)
    p.add_argument("--rtol", type=float, default=2e-5)
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
    if args.check:
        return check(args)
    counts = [int(w) for w in args.workers.split(",")]
    what = (f"MLP {'-'.join(map(str, SIZES))}, SGD" if args.model == "mlp" else
            f"transformer (train_step.py's), {args.seq} tokens a sample, Adam")
    unit = "samples/s" if args.model == "mlp" else "tokens/s"
    print(f"{what}, global batch {args.batch}, {args.samples} samples x {args.epochs} epochs, "
          f"device {args.device}{' (one GPU shared)' if args.share_gpu else ''}, engine "
          f"{_engine(args) or 'default'}, {os.cpu_count()} CPU cores on this machine")
    print(f"{'backend':8s} {'what':34s} {'workers':>7s} {unit:>10s} {'efficiency':>10s}")
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
