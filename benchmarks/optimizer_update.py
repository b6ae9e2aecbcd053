"""One optimiser update alone: ember_nn's optimisers vs torch.optim and mlx.optimizers.

    uv run python benchmarks/optimizer_update.py [--backends torch,mlx] [--repeats 50]
                                                 [--device gpu] [--optimizers adam,sgd]

The variables are those of the 784-512-512-10 MLP of ``train_step.py`` (6 float32 tensors,
0.67M elements), with fixed random gradients. ember: ``opt.update(model, grads)`` then the
variables evaluated (``mx.eval`` on MLX, ``torch.cuda.synchronize`` on CUDA). torch:
``torch.optim.<Opt>(...).step()`` with its default implementation (the for-loop on CPU,
foreach on CUDA) and with ``fused=True``. MLX: ``mlx.optimizers.<Opt>.update`` then
``mx.eval``. Each ratio is measured in one process (``median_pair``: interleaved, medians).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import ember
import ember_nn
import numpy as np
from _timing import median_pair, prepare

SHAPES = [(784, 512), (512,), (512, 512), (512,), (512, 10), (10,)]
LR = 1e-3
DEVICE = {"name": "cpu"}


def arrays(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) * 0.05 for s in SHAPES]


def ember_update(backend: str, name: str) -> Callable[[], Any]:
    dev = "cuda" if backend == "torch" and DEVICE["name"] == "gpu" else None
    with ember.use_backend(backend):
        variables = [ember.Variable(ember.asarray(w, device=dev)) for w in arrays(0)]
        grads = [ember.asarray(g, device=dev) for g in arrays(1)]
    opt = {"adam": lambda: ember_nn.Adam(LR), "sgd": lambda: ember_nn.SGD(LR, momentum=0.9),
           "rmsprop": lambda: ember_nn.RMSprop(LR)}[name]()
    triples = [(f"v{i}", v, g) for i, (v, g) in enumerate(zip(variables, grads))]
    if backend == "mlx":
        import mlx.core as mx

        def step() -> None:
            opt.apply(triples)
            mx.eval([v.native for v in variables])
    else:
        sync = _cuda_sync() if dev else (lambda: None)

        def step() -> None:
            opt.apply(triples)
            sync()
    return step


def _cuda_sync() -> Callable[[], None]:
    import torch

    return torch.cuda.synchronize


def torch_update(name: str, fused: bool) -> Callable[[], Any]:
    import torch

    dev = "cuda" if DEVICE["name"] == "gpu" else "cpu"
    params = [torch.nn.Parameter(torch.from_numpy(w).to(dev)) for w in arrays(0)]
    for p, g in zip(params, arrays(1)):
        p.grad = torch.from_numpy(g).to(dev)
    kw: dict[str, Any] = {"fused": True} if fused else {}
    opt = {"adam": lambda: torch.optim.Adam(params, lr=LR, **kw),
           "sgd": lambda: torch.optim.SGD(params, lr=LR, momentum=0.9, **kw),
           "rmsprop": lambda: torch.optim.RMSprop(params, lr=LR)}[name]()
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

    def step() -> None:
        opt.step()
        sync()

    return step


def mlx_update(name: str) -> Callable[[], Any]:
    import mlx.core as mx
    import mlx.optimizers as optim

    params = {f"v{i}": mx.array(w) for i, w in enumerate(arrays(0))}
    grads = {f"v{i}": mx.array(g) for i, g in enumerate(arrays(1))}
    opt = {"adam": lambda: optim.Adam(LR, bias_correction=True),
           "sgd": lambda: optim.SGD(LR, momentum=0.9),
           "rmsprop": lambda: optim.RMSprop(LR)}[name]()
    state = {"p": params}

    def step() -> None:
        state["p"] = opt.apply_gradients(grads, state["p"])
        mx.eval(state["p"], opt.state)

    return step


def run(backends: list[str], names: list[str], repeats: int) -> list[tuple[Any, ...]]:
    rows = []
    for backend in backends:
        prepare(backend, DEVICE["name"])
        for name in names:
            natives = ([(f"torch.optim ({'fused' if f else 'default'})", torch_update(name, f))
                        for f in ((False, True) if name != "rmsprop" else (False,))]
                       if backend == "torch" else [("mlx.optimizers", mlx_update(name))])
            for native_name, native in natives:
                step = ember_update(backend, name)
                tn, te = median_pair(native, step, repeats)
                rows.append((backend, name, native_name, tn * 1e3, te * 1e3, te / tn))
                print(f"{backend:6s} {name:8s} {native_name:24s} native {tn * 1e3:8.3f} ms  "
                      f"ember {te * 1e3:8.3f} ms  ratio {te / tn:6.3f}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="torch,mlx")
    ap.add_argument("--optimizers", default="adam,sgd,rmsprop")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    args = ap.parse_args()
    DEVICE["name"] = args.device
    rows = run(args.backends.split(","), args.optimizers.split(","), args.repeats)
    print(f"\n(device: {args.device}; the MLP's 6 float32 variables)\n"
          "| backend | optimiser | native | native ms | ember ms | ember / native |")
    print("|---|---|---|---:|---:|---:|")
    for b, n, nn_, tn, te, r in rows:
        print(f"| {b} | {n} | {nn_} | {tn:.3f} | {te:.3f} | {r:.3f} |")


if __name__ == "__main__":
    main()
