"""The first epochs of one MAD run along several execution paths, their losses side by side.

    uv run python benchmarks/mad_paths.py [--task compression] [--layers ...] [--lr 5e-4]
        [--wd 0] [--epochs-run 3] [--device cuda] [--paths compiled,saving,...]
        [--cpu]

A check, not a timing: each path trains the same run (the task's baseline setting, the
200-epoch schedule, seed 12345) for its first ``--epochs-run`` epochs in a process of its own
(``ember_mad.train(stop_after=...)``), and the table gives each epoch's training and test
loss. The paths, all torch float32 on ``--device``:

* ``compiled``: the grid's path (``compile_step``; on CUDA one CUDA graph a step), TF32
  matrix products (MAD-Lab's ``set_float32_matmul_precision("high")``);
* ``saving``: compiled, saving the run's progress after every epoch (as a grid run does every
  30 s);
* ``no-graph``: compiled, the CUDA graph off (``EMBER_TORCH_CUDA_GRAPHS=0``);
* ``eager-test``: the step compiled, the test set evaluated eagerly (no compiled forward
  program, which a compiled run first runs, and on CUDA captures, after epoch 1);
* ``eager``: no compilation;
* ``highest``: compiled, full float32 matrix products (``matmul_precision="highest"``);
* ``--cpu`` adds the eager step on the CPU, the reference every path should follow, and the
  same with TF32 emulated (every matrix product's float32 operands rounded to TF32's 10
  mantissa bits, forward and backward, through a torch dispatch mode).

The paths round differently, so their losses part in the later digits; a path whose loss goes
another way (rising where the others fall) is the one to look into. The GPU grids' compression
runs at lr 5e-4 did not learn where the same runs on the CPU do (MH Hyena's first three epochs:
2.56, 2.65, 2.73 on the GPU, 2.56, 2.39, 2.26 on the CPU; `docs/mad.md`). The likely cause,
a captured CUDA graph reading freed constants, is fixed since; this checks that every path now
follows the CPU's, and shows which does not if one still strays.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

#: path -> (train() arguments, environment); every path is compiled torch float32 unless it says
PATHS: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "compiled": ({"compile": True}, {}),
    "saving": ({"compile": True, "save": True}, {}),
    "no-graph": ({"compile": True}, {"EMBER_TORCH_CUDA_GRAPHS": "0"}),
    "eager-test": ({"compile": True, "eager_test": True}, {}),
    "eager": ({"compile": False}, {}),
    "highest": ({"compile": True, "matmul_precision": "highest"}, {}),
}

def tf32(t: Any) -> Any:
    """A float32 tensor rounded to TF32 (10 mantissa bits, to nearest); anything else as is."""
    import torch

    if isinstance(t, torch.Tensor) and t.dtype == torch.float32:
        return ((t.contiguous().view(torch.int32) + 0x1000) & -0x2000).view(torch.float32)
    return t


def emulate_tf32() -> Any:
    """A torch dispatch mode rounding the float32 operands of every matrix product (``mm``,
    ``bmm``, ``addmm``, ``baddbmm``: autograd's backward products too) to TF32, as an
    Ampere-or-later GPU's TF32 products read them; accumulation stays float32."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    aten = torch.ops.aten
    operands = {aten.mm.default: (0, 1), aten.bmm.default: (0, 1),
                aten.addmm.default: (1, 2), aten.baddbmm.default: (1, 2)}

    class TF32(TorchDispatchMode):
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            which = operands.get(func, ())
            args = tuple(tf32(a) if i in which else a for i, a in enumerate(args))
            return func(*args, **(kwargs or {}))

    return TF32()


def run_one(kw: dict[str, Any]) -> list[dict[str, float]]:
    """One path's ``train`` in this process (``--run-one``): its history."""
    import contextlib
    import tempfile

    import ember_mad
    import ember_mad._progress as progress
    import ember_mad._train as train

    if kw.pop("eager_test", False):  # the test set through the model, not a compiled program
        train.CompiledForward = lambda net: net  # type: ignore[assignment,misc]
    if kw.pop("save", False):  # save the progress after every epoch, as a grid run may
        progress.SAVE_SECONDS = 0.0
        kw["out"] = tempfile.mkdtemp()
    with emulate_tf32() if kw.pop("tf32", False) else contextlib.nullcontext():
        return ember_mad.train(**kw).history


def run_path(name: str, args: argparse.Namespace, device: str, options: dict[str, Any],
             env: dict[str, str]) -> list[dict[str, float]]:
    """One path's run: its history (one dict an epoch), or an empty list if it failed."""
    kw = {"task": args.task, "layers": args.layers, "lr": args.lr, "weight_decay": args.wd,
          "backend": "torch", "device": device, "precision": "32",
          "stop_after": args.epochs_run, "progress": False, **options}
    done = subprocess.run([sys.executable, __file__, "--run-one", json.dumps(kw)],
                          env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        print(f"{name}: failed (exit {done.returncode}): {' | '.join(tail)}", file=sys.stderr)
        return []
    history: list[dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return history


def main() -> int:
    if sys.argv[1:2] == ["--run-one"]:
        print(json.dumps(run_one(json.loads(sys.argv[2]))))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", default="compression")
    p.add_argument("--layers", default="mh-attention,swiglu,mh-attention,swiglu")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--epochs-run", type=int, default=3)
    p.add_argument("--device", default="cuda")
    p.add_argument("--paths", default=",".join(PATHS), help=f"of {', '.join(PATHS)}")
    p.add_argument("--cpu", action="store_true", help="add the eager step on the CPU, and the "
                   "same with TF32 products emulated")
    args = p.parse_args()
    names = [n.strip() for n in args.paths.split(",") if n.strip()]
    unknown = [n for n in names if n not in PATHS]
    if unknown:
        p.error(f"unknown path(s) {unknown}: choose from {', '.join(PATHS)}")
    runs = [(n, args.device, *PATHS[n]) for n in names]
    if args.cpu:
        runs.append(("cpu eager", "cpu", {"compile": False}, {}))
        runs.append(("cpu eager, TF32", "cpu", {"compile": False, "tf32": True}, {}))
    histories = {}
    for name, device, options, env in runs:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        histories[name] = run_path(name, args, device, options, env)
        losses = ", ".join(f"{e['train_loss']:.4f}" for e in histories[name])
        print(f"{name}: training loss {losses or '(failed)'}", file=sys.stderr, flush=True)
    print(f"{args.task} {args.layers} lr={args.lr:g} wd={args.wd:g}: training loss / test loss "
          f"by epoch")
    print("| epoch | " + " | ".join(histories) + " |")
    print("|---:|" + "---:|" * len(histories))
    for e in range(args.epochs_run):
        cells = [f"{h[e]['train_loss']:.4f} / {h[e]['test_loss']:.4f}" if e < len(h) else "—"
                 for h in histories.values()]
        print(f"| {e + 1} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
