"""The MAD mixers, forward plus backward: ember against the same mixer written natively in torch.

    uv run python benchmarks/mixers.py [--mixers mh-attention,mamba,...] [--lengths 256,1024]
        [--batch 16] [--dim 128] [--repeats 5] [--device gpu] [--backends torch,mlx]
        [--no-memory] [--plot docs/images/mixers.png]

Each mixer is built by ``ember_nn.blocks.build_layer(name, dim)`` (MAD-Lab's defaults) and its
native counterpart (``benchmarks/_native_*.py``: plain torch modules, the weights copied from
the ember layer; attention on ``F.scaled_dot_product_attention``, LSTM/GRU on torch.nn, CfC on
ncps's ``CfC``) runs the same equations. A step is ``y = mixer(x)`` on ``(batch, length,
dim)``, then the gradient of ``sum(y * g)`` for every weight and ``x``. Both sides start from
the same weights and input and must give the same outputs (a fast wrong mixer cannot pass). The timings are medians of
alternated repeats in one process; on the CPU torch runs on one thread (as every CPU table).

Columns: native torch ms, ember-torch ms and their ratio (target <= 1.10, issue 14), ember-MLX
ms where asked, and the peak memory of an ember-torch step in MiB (on a GPU
``torch.cuda.max_memory_allocated`` over the step; on the CPU the resident set's peak in a
fresh process): across lengths it shows which mixers are quadratic in memory (attention only).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import ember
import ember_nn
import numpy as np
from _memory import FREEING_MALLOC, reset_hwm, status
from _timing import median_pair, prepare

#: the mixers timed by default (MAD-Lab names) and the module holding each native counterpart
NATIVE_MODULES = {
    "mh-attention": "_native_attention", "mh-sliding-attention": "_native_attention",
    "mh-linear-attention": "_native_attention", "mh-gated-linear-attention": "_native_attention",
    "hyena": "_native_hyena", "mh-hyena": "_native_hyena", "hyena-experts": "_native_hyena",
    "mamba": "_native_ssm", "rwkv6-time-mixer": "_native_ssm",
    "rwkv6-channel-mixer": "_native_ssm",
    "mlp": "_native_channel", "swiglu": "_native_channel", "moe-mlp": "_native_channel",
    "lstm": "_native_channel", "gru": "_native_channel", "cfc": "_native_channel",
}
TARGET = 1.10
DEVICE = {"name": "cpu"}
CLOCK: dict[str, Callable[[], float]] = {"fn": time.perf_counter}


def _torch_device() -> str:
    return "cuda" if DEVICE["name"] == "gpu" else "cpu"


def _native(name: str, layer: Any) -> Any:
    """The native torch module of mixer ``name``, its weights copied from the ember layer."""
    module = importlib.import_module(NATIVE_MODULES[name])
    built = module.NATIVE[name](layer)
    return built.to(_torch_device())


def _layer(name: str, dim: int, length: int) -> Any:
    return ember_nn.blocks.build_layer(name, dim, max_length=length, key=0)


def _inputs(batch: int, length: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, length, dim)).astype(np.float32)
    return x, rng.standard_normal((batch, length, dim)).astype(np.float32)


def native_step(name: str, layer: Any, x: np.ndarray, g: np.ndarray
                ) -> tuple[Callable[[], Any], Callable[[], np.ndarray]]:
    import torch

    dev = _torch_device()
    module = _native(name, layer)
    params = [p for p in module.parameters() if p.requires_grad]
    xt = torch.tensor(x, device=dev, requires_grad=True)
    gt = torch.tensor(g, device=dev)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

    def step() -> Any:
        y = module(xt)
        grads = torch.autograd.grad((y * gt).sum(), [xt, *params])
        sync()
        return grads

    def out() -> np.ndarray:
        with torch.no_grad():
            return module(xt).float().cpu().numpy()

    return step, out


def ember_step(backend: str, name: str, x: np.ndarray, g: np.ndarray, length: int
               ) -> tuple[Callable[[], Any], Callable[[], np.ndarray], Any]:
    dev = "cuda" if backend == "torch" and DEVICE["name"] == "gpu" else None
    with ember.use_backend(backend):
        layer = _layer(name, x.shape[-1], length)
        xe = ember.tensor(x, device=dev)
        ge = ember.tensor(g, device=dev)
    params = [v for _, v in layer.named_variables() if v.trainable]
    sync = _sync(backend)

    def step() -> Any:
        with ember.use_backend(backend):
            xv = ember.Variable(xe)
            with ember.GradientTape() as tape:
                y = layer(xv)
                loss = ember.sum(y * ge)
            grads = tape.gradient(loss, [xv, *params])
            sync(grads)
        return grads

    def out() -> np.ndarray:
        with ember.use_backend(backend):
            return np.asarray(layer(xe).numpy(), dtype=np.float32)

    return step, out, layer


def _sync(backend: str) -> Callable[[list[Any]], None]:
    if backend == "mlx":
        import mlx.core as mx

        return lambda ts: mx.eval(*[t.native for t in ts if t is not None])
    if backend == "torch" and DEVICE["name"] == "gpu":
        import torch

        return lambda ts: torch.cuda.synchronize()
    return lambda ts: None


def check(name: str, length: int, ember_out: np.ndarray, native_out: np.ndarray) -> None:
    scale = max(1.0, float(np.abs(native_out).max()))
    err = float(np.abs(ember_out - native_out).max()) / scale
    if not err < 2e-3:
        raise SystemExit(f"{name} at length {length}: ember and the native mixer differ by "
                         f"{err:.3g} (relative to the largest output): not the same mixer")


# -- peak memory ----------------------------------------------------------------------------------
def peak_mib(name: str, batch: int, length: int, dim: int) -> float:
    """MiB an ember-torch step needs at most beyond what its inputs and weights hold."""
    if DEVICE["name"] == "gpu":
        return _measure(name, batch, length, dim)
    args = [sys.executable, __file__, "--_peak", json.dumps([name, batch, length, dim])]
    out = subprocess.run(args, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore", **FREEING_MALLOC})
    return float(json.loads(out.stdout.strip().splitlines()[-1])["mib"])


def _measure(name: str, batch: int, length: int, dim: int) -> float:
    prepare("torch", DEVICE["name"])
    x, g = _inputs(batch, length, dim)
    step = ember_step("torch", name, x, g, length)[0]
    step()
    if DEVICE["name"] == "gpu":
        import torch

        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
        step()
        return (torch.cuda.max_memory_allocated() - start) / 2**20
    start = reset_hwm()
    step()
    return max(0, status("VmHWM") - start) / 2**20


# -- the table --------------------------------------------------------------------------------------
def run(names: list[str], lengths: list[int], batch: int, dim: int, backends: list[str],
        repeats: int, memory: bool) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        for length in lengths:
            x, g = _inputs(batch, length, dim)
            e_step, e_out, layer = ember_step("torch", name, x, g, length)
            n_step, n_out = native_step(name, layer, x, g)
            check(name, length, e_out(), n_out())
            tn, te = median_pair(n_step, e_step, repeats, CLOCK["fn"])
            row = {"mixer": name, "length": length, "native": tn * 1e3, "ember": te * 1e3,
                   "ratio": te / tn, "mlx": float("nan"), "mib": float("nan")}
            if "mlx" in backends:
                m_step, m_out, _ = ember_step("mlx", name, x, g, length)
                check(name, length, m_out(), n_out())
                row["mlx"] = median_pair(m_step, m_step, max(1, repeats // 2))[0] * 1e3
            if memory:
                row["mib"] = peak_mib(name, batch, length, dim)
            rows.append(row)
            print(f"{name:26s} L={length:5d}  native {row['native']:9.2f} ms  ember-torch "
                  f"{row['ember']:9.2f} ms  ratio {row['ratio']:5.2f}  ember-mlx "
                  f"{row['mlx']:9.2f} ms  peak {row['mib']:8.1f} MiB", flush=True)
    return rows


def plot(rows: list[dict[str, Any]], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    names = list(dict.fromkeys(r["mixer"] for r in rows))
    cmap = plt.get_cmap("tab20")
    for i, name in enumerate(names):
        mine = [r for r in rows if r["mixer"] == name]
        ls = [r["length"] for r in mine]
        ax.plot(ls, [r["ember"] for r in mine], "-o", color=cmap(i), label=name, ms=3)
        ax.plot(ls, [r["native"] for r in mine], ":", color=cmap(i), lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length")
    ax.set_ylabel("forward + backward, ms (solid: ember-torch, dotted: native torch)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mixers", default=",".join(NATIVE_MODULES))
    ap.add_argument("--lengths", default=None, help="default 256,1024,2048 on the CPU, "
                    "256,1024,4096,8192 on a GPU")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--backends", default="torch", help="torch, or torch,mlx for an MLX column")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: this thread's CPU time (steadier on a shared CPU machine; the "
                    "torch sides run on this one thread; not for --device gpu)")
    ap.add_argument("--plot", default=None, help="write the time-vs-length plot here (PNG)")
    ap.add_argument("--json", default=None, help="write the rows here (JSON), to plot elsewhere")
    ap.add_argument("--from-json", default=None, help="print and plot the rows of a --json "
                    "file instead of measuring (e.g. a GPU run on a machine without matplotlib)")
    ap.add_argument("--_peak", help=argparse.SUPPRESS)
    args = ap.parse_args()
    DEVICE["name"] = args.device
    if args.device == "gpu":  # ember-torch's layers and tensors on the GPU, as the native side's
        ember.set_default_device("cuda", backend="torch")
    if args.clock == "cpu":
        if args.device == "gpu":
            ap.error("--clock cpu measures this thread's CPU time: not GPU work")
        CLOCK["fn"] = time.thread_time
    if args._peak:
        name, batch, length, dim = json.loads(args._peak)
        print(json.dumps({"mib": _measure(name, batch, length, dim)}))
        return
    names = [n for n in args.mixers.split(",") if n]
    unknown = sorted(set(names) - set(NATIVE_MODULES))
    if unknown:
        ap.error(f"unknown --mixers {unknown}; choose from {', '.join(NATIVE_MODULES)}")
    lengths = [int(v) for v in (args.lengths or ("256,1024,2048" if args.device == "cpu"
                                                  else "256,1024,4096,8192")).split(",")]
    backends = args.backends.split(",")
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        rows, args.device, args.clock = saved["rows"], saved["device"], saved["clock"]
        args.batch, args.dim = saved["batch"], saved["dim"]
    else:
        for b in backends:
            prepare(b, args.device)
        rows = run(names, lengths, args.batch, args.dim, backends, args.repeats,
                   not args.no_memory)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "device": args.device, "clock": args.clock,
                       "batch": args.batch, "dim": args.dim}, f)
    print(f"\n(device: {args.device}, {args.clock} clock; batch {args.batch}, dim {args.dim}; "
          f"forward and backward; "
          f"target ember-torch / native <= {TARGET})\n"
          "| mixer | length | native torch ms | ember-torch ms | ember / native | met "
          "| ember-MLX ms | ember-torch peak MiB |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        met = "yes" if r["ratio"] <= TARGET else "no"
        mlx = "—" if r["mlx"] != r["mlx"] else f"{r['mlx']:.1f}"
        mib = "—" if r["mib"] != r["mib"] else f"{r['mib']:.0f}"
        print(f"| {r['mixer']} | {r['length']} | {r['native']:.1f} | {r['ember']:.1f} | "
              f"{r['ratio']:.2f} | {met} | {mlx} | {mib} |")
    if args.plot:
        plot(rows, args.plot, f"MAD mixers, batch {args.batch}, dim {args.dim} "
             f"({args.device})")


if __name__ == "__main__":
    main()
