"""Recurrent layers, forward plus backward: ember against ncps (torch), torch.nn and mlx.nn.

    uv run python benchmarks/recurrent.py [--backends torch,mlx] [--models cfc,wired,ltc,lstm,gru]
        [--modes eager,compiled] [--repeats 10] [--device gpu] [--no-memory]

One step is the loss of a whole sequence and its gradients with respect to every weight, with
the results evaluated: batch 64, 100 steps, 32 inputs, 64 units, the loss the mean squared
difference of every step's output from a fixed random target. Models:
  * cfc:   ncps.torch.CfC(32, 64) (mode "default", its backbone of 128 lecun_tanh units);
  * wired: ncps.torch.CfC(32, AutoNCP(64, 8)) (one masked cell per NCP layer);
  * ltc:   ncps.torch.LTC(32, 64) (a fully connected wiring, 6 ODE unfolds, affine maps);
  * lstm, gru: torch.nn.LSTM/GRU(32, 64, batch_first=True) and mlx.nn.LSTM/GRU(32, 64).
The ember model is built from the reference module (``ember_nn.from_ncps`` / ``from_torch``),
so both sides hold the same weights; mlx.nn gets them in its layout (``Wx``, ``Wh`` and one
``bias`` = ``bias_ih + bias_hh`` for the LSTM; for the GRU ``b`` = ``bias_ih`` plus
``bias_hh`` on the r and z rows and ``bhn`` = ``bias_hh``'s n rows). Before anything is timed
the losses and every gradient are checked equal (rtol 1e-4), so a fast wrong step cannot pass.

Sides, each ratio measured in one process (``_timing.median_pair``, the two alternated):
  * eager:    ``ember_nn.value_and_grad(model, loss)`` (torch: torch.autograd; MLX: its tape)
              against the reference eager: ncps (torch) for the liquid models on every backend
              (the MLX rows compare with ncps on the same CPU), torch.nn or mlx.nn for
              LSTM/GRU (uncompiled ``mlx.nn.value_and_grad``);
  * compiled: ``ember_nn.compile_step`` of the same loss with ``SGD(0.0)`` (forward, gradients
              and an update that leaves the weights as they are, compiled as one program by
              ``ember.compile``: mx.compile on MLX, inductor on torch) against the same eager
              reference; its gradients are checked first with one step at rate 1 (the weights
              move by minus the gradient).
Targets (issue 13): eager ember-torch <= 1.0x ncps; compiled ember <= 0.5x ncps on the same
device; ember-MLX <= 0.8x ncps-torch on the same CPU; LSTM/GRU <= 1.10x torch.nn and
<= 1.0x mlx.nn.

Peak memory (the last columns): on a GPU the allocator's peak over 3 steps above what was in use
before them (``torch.cuda.max_memory_allocated``, ``ember.memory_info`` / ``mx.get_peak_memory``).
A CPU has no allocator statistics for torch, so each side runs in a fresh process that builds
the model, takes one step (compiling, for compiled sides), sets the kernel's peak resident set
(``VmHWM``) to the resident set now, and reports how far 3 more steps raise it: the memory a
step needs at most beyond what the process holds between steps, the same measure for both sides
(Linux only), and what the first step left held (``held``: the resident set between steps
less the one before the first; compiled programs, caches, buffers a side keeps). Allocators'
caches would hide the peak (a step's memory kept after the first), so glibc returns every block
of 4 KiB or more when it is freed and MLX keeps no buffer cache there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import ember
import ember_nn
import numpy as np
from _memory import FREEING_MALLOC, reset_hwm, status
from _timing import median_pair, prepare

BATCH, STEPS, INPUTS, UNITS, MOTOR = 64, 100, 32, 64, 8
MODELS = ("cfc", "wired", "ltc", "lstm", "gru")
MODES = ("eager", "compiled")
DEVICE = {"name": "cpu"}
#: (model, backend) -> the target ratio of ember to the reference, per mode
LIQUID_TARGET = {"eager": {"torch": 1.0, "mlx": 0.8}, "compiled": {"torch": 0.5, "mlx": 0.5}}
RNN_TARGET = {"torch": 1.10, "mlx": 1.0}


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, STEPS, INPUTS)).astype(np.float32)
    out = MOTOR if seed == 1 else UNITS
    return x, rng.standard_normal((BATCH, STEPS, out)).astype(np.float32)


def out_size(model: str) -> int:
    return MOTOR if model == "wired" else UNITS


def targets(model: str) -> np.ndarray:
    return data(1 if model == "wired" else 0)[1]


def torch_device() -> str:
    return "cuda" if DEVICE["name"] == "gpu" else "cpu"


# -- the torch references --------------------------------------------------------------------------
def reference_module(model: str) -> Any:
    """The torch module (ncps or torch.nn), seeded, on the CPU."""
    import torch

    torch.manual_seed(0)
    if model in ("lstm", "gru"):
        cls = torch.nn.LSTM if model == "lstm" else torch.nn.GRU
        return cls(INPUTS, UNITS, batch_first=True)
    import ncps.torch
    import ncps.wirings

    if model == "cfc":
        return ncps.torch.CfC(INPUTS, UNITS, batch_first=True)
    if model == "wired":
        return ncps.torch.CfC(INPUTS, ncps.wirings.AutoNCP(UNITS, MOTOR), batch_first=True)
    return ncps.torch.LTC(INPUTS, UNITS, batch_first=True)


def torch_side(model: str) -> tuple[Callable[[], float], Callable[[], dict[str, np.ndarray]]]:
    """(step, gradients): the reference's forward and backward on ``torch_device()``."""
    import torch

    dev = torch_device()
    module = reference_module(model).to(dev)
    xn, _ = data()
    x, y = torch.from_numpy(xn).to(dev), torch.from_numpy(targets(model)).to(dev)
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

    def step() -> float:
        for _, p in params:
            p.grad = None
        loss = torch.mean((module(x)[0] - y) ** 2)
        loss.backward()
        sync()
        return loss.item()

    def grads() -> dict[str, np.ndarray]:
        return {n: p.grad.detach().cpu().numpy() for n, p in params}

    return step, grads


# -- mlx.nn --------------------------------------------------------------------------------------
def mlx_module(model: str) -> Any:
    """mlx.nn.LSTM/GRU holding the torch reference's weights (in MLX's layout)."""
    import mlx.core as mx
    import mlx.nn as mnn

    sd = {k: v.detach().numpy() for k, v in reference_module(model).state_dict().items()}
    wi, wh, bi, bh = (sd[f"{k}_l0"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    if model == "lstm":
        m = mnn.LSTM(INPUTS, UNITS)
        m.update({"Wx": mx.array(wi), "Wh": mx.array(wh), "bias": mx.array(bi + bh)})
    else:
        m = mnn.GRU(INPUTS, UNITS)
        b = bi.copy()
        b[:2 * UNITS] += bh[:2 * UNITS]
        m.update({"Wx": mx.array(wi), "Wh": mx.array(wh), "b": mx.array(b),
                  "bhn": mx.array(bh[2 * UNITS:])})
    mx.eval(m.parameters())
    return m


def mlx_side(model: str, compiled: bool = False,
             ) -> tuple[Callable[[], float], Callable[[], dict[str, np.ndarray]]]:
    import mlx.core as mx
    import mlx.nn as mnn

    m = mlx_module(model)
    xn, _ = data()
    x, y = mx.array(xn), mx.array(targets(model))

    def loss_fn(m: Any, x: Any, y: Any) -> Any:
        out = m(x)  # the LSTM gives (hidden states, cell states), the GRU hidden states
        return mx.mean(((out[0] if isinstance(out, tuple) else out) - y) ** 2)

    vg = mnn.value_and_grad(m, loss_fn)
    fn = mx.compile(vg, inputs=[m.state]) if compiled else vg
    last: dict[str, Any] = {}

    def step() -> float:
        loss, g = fn(m, x, y)
        mx.eval(loss, g)
        last["g"] = g
        return loss.item()

    def grads() -> dict[str, np.ndarray]:  # in torch's names and layout
        g = {k: np.array(v) for k, v in last["g"].items()}
        if model == "lstm":
            return {"weight_ih_l0": g["Wx"], "weight_hh_l0": g["Wh"], "bias_ih_l0": g["bias"],
                    "bias_hh_l0": g["bias"]}
        return {"weight_ih_l0": g["Wx"], "weight_hh_l0": g["Wh"], "bias_ih_l0": g["b"],
                "bias_hh_l0": np.concatenate([g["b"][:2 * UNITS], g["bhn"]])}

    return step, grads


# -- ember ---------------------------------------------------------------------------------------
def ember_side(backend: str, model: str, compiled: bool,
               ) -> tuple[Callable[[], float], Callable[[], dict[str, np.ndarray]]]:
    dev = "cuda" if backend == "torch" and DEVICE["name"] == "gpu" else None
    ref = reference_module(model)
    with ember.use_backend(backend):
        m = (ember_nn.from_torch(ref) if model in ("lstm", "gru")
             else ember_nn.from_ncps(ref)).to(backend, device=dev)
        xn, _ = data()
        x = ember.asarray(xn, device=dev)
        y = ember.asarray(targets(model), device=dev)

        def loss_fn(x: Any, y: Any) -> Any:
            return ember.mean((m(x)[0] - y) ** 2)

        sync = _sync(backend)
        trainable = [(n, v) for n, v in m.named_variables() if v.trainable]
        last: dict[str, Any] = {}
        if compiled:
            opt = ember_nn.SGD(1.0)
            step_fn = ember_nn.compile_step(m, loss_fn, opt)
            before = {n: v.numpy().copy() for n, v in trainable}
            last["loss"] = step_fn(x, y)  # compiles; the weights move by minus the gradient
            last["g"] = {n: before[n] - v.numpy() for n, v in trainable}
            for n, v in trainable:
                v.assign(ember.asarray(before[n], dtype=v.dtype, device=dev))
            opt.learning_rate = 0.0  # an input of the program: no new compilation

            def step() -> float:
                loss = step_fn(x, y)
                sync(loss, [v for _, v in trainable])
                return float(loss)

            def grads() -> dict[str, np.ndarray]:
                return dict(last["g"])
        else:
            vg = ember_nn.value_and_grad(m, loss_fn)

            def step() -> float:
                loss, g = vg(x, y)
                sync(loss, list(g.values()))
                last["g"] = g
                return float(loss)

            def grads() -> dict[str, np.ndarray]:
                return {n: np.asarray(v.numpy()) for n, v in last["g"].items()}

    return step, grads


def _sync(backend: str) -> Callable[[Any, list[Any]], None]:
    if backend == "mlx":
        import mlx.core as mx

        return lambda loss, vs: mx.eval(loss.native, *[v.native for v in vs])
    if backend == "torch" and DEVICE["name"] == "gpu":
        import torch

        return lambda loss, vs: torch.cuda.synchronize()
    return lambda loss, vs: None


# -- the comparison --------------------------------------------------------------------------------
def reference(backend: str, model: str) -> tuple[str, Any]:
    if model in ("lstm", "gru"):
        return ((f"mlx.nn.{model.upper()}", mlx_side(model)) if backend == "mlx"
                else (f"torch.nn.{model.upper()}", torch_side(model)))
    return "ncps (torch)", torch_side(model)


def check(backend: str, model: str, ember_pair: Any, ref_pair: Any, compiled: bool) -> None:
    """Loss and every gradient of the two sides equal (rtol 1e-4), or AssertionError. The loss
    gets 5e-4 on MLX: its float32 ``mean`` of 409,600 terms on a CPU is ~1e-4 off the exactly
    rounded one (NumPy and torch sum pairwise); its gradient (1/N everywhere) is not."""
    (e_step, e_grads), (r_step, r_grads) = ember_pair, ref_pair
    if not compiled:
        e_loss = e_step()
    r_loss = r_step()
    if not compiled:
        np.testing.assert_allclose(e_loss, r_loss, rtol=5e-4 if backend == "mlx" else 1e-4,
                                   err_msg=f"{model}: losses differ")
    got, want = e_grads(), r_grads()
    assert set(got) == set(want), f"{model}: gradients of {sorted(got)} vs {sorted(want)}"
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-6,
                                   err_msg=f"{model}: the gradient of {name} differs")


def target(backend: str, model: str, mode: str) -> float:
    if model in ("lstm", "gru"):
        return RNN_TARGET[backend] if mode == "eager" else float("nan")
    return LIQUID_TARGET[mode][backend]


def setup_backend(backend: str) -> None:
    """torch set up as the CPU tables have it on every row (the liquid references are torch's),
    and ``backend``."""
    prepare("torch", DEVICE["name"])
    prepare(backend, DEVICE["name"])


def run(backends: list[str], models: tuple[str, ...], modes: tuple[str, ...], repeats: int,
        memory: bool) -> list[tuple[Any, ...]]:
    rows = []
    for backend in backends:
        setup_backend(backend)
        for model in models:
            for mode in modes:
                compiled = mode == "compiled"
                mine = ember_side(backend, model, compiled)
                ref_name, ref = reference(backend, model)
                check(backend, model, mine, ref, compiled)
                tr, te = median_pair(ref[0], mine[0], repeats)
                mem = ((peak(backend, model, "ember", compiled), peak(backend, model, "ref"))
                       if memory else ((float("nan"),) * 2,) * 2)
                goal = target(backend, model, mode)
                rows.append((backend, model, mode, ref_name, tr * 1e3, te * 1e3, te / tr, goal,
                             *mem))
                print(f"{backend:6s} {model:6s} {mode:9s} {ref_name:18s} {tr * 1e3:9.2f} ms  "
                      f"ember {te * 1e3:9.2f} ms  ratio {te / tr:6.3f} (target {goal})  "
                      f"MiB peak/held ember {_mib(mem[0])} ref {_mib(mem[1])}", flush=True)
    return rows


# -- peak memory ---------------------------------------------------------------------------------
def peak(backend: str, model: str, side: str, compiled: bool = False) -> tuple[float, float]:
    """(MiB a step needs at most, MiB the first step left held: NaN on a GPU); see the module
    docstring."""
    if DEVICE["name"] == "gpu":
        return _measure(backend, model, side, compiled), float("nan")
    args = [sys.executable, __file__, "--_peak", f"{backend},{model},{side},{int(compiled)}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore", **FREEING_MALLOC})
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return float(got["mib"]), float(got["held"])


#: on a CPU: MiB the first step left held (caches, compiled programs, kept buffers)
HELD = {"mib": float("nan")}


def _measure(backend: str, model: str, side: str, compiled: bool) -> float:
    setup_backend(backend)
    if side == "ember":
        step = ember_side(backend, model, compiled)[0]
    else:
        step = reference(backend, model)[1][0]
    gpu = DEVICE["name"] == "gpu"
    before = 0 if gpu else status("VmRSS")
    step()
    mlx_pool = backend == "mlx" and (side == "ember" or model in ("lstm", "gru"))
    if gpu and mlx_pool:
        import mlx.core as mx

        mx.clear_cache()
        mx.reset_peak_memory()
        start = mx.get_active_memory()
    elif gpu:
        import torch

        torch.cuda.reset_peak_memory_stats()
        start = torch.cuda.memory_allocated()
    else:
        if backend == "mlx":  # MLX keeps freed buffers in its cache: none kept here
            import mlx.core as mx

            mx.set_cache_limit(0)
            mx.clear_cache()
        start = reset_hwm()
    HELD["mib"] = (start - before) / 2**20 if not gpu else float("nan")
    for _ in range(3):
        step()
    if gpu and mlx_pool:
        top = mx.get_peak_memory()
    elif gpu:
        top = torch.cuda.max_memory_allocated()
    else:
        top = status("VmHWM")
    return max(0, top - start) / 2**20


def _mib(pair: tuple[float, float]) -> str:
    peak_mib, held = pair
    if peak_mib != peak_mib:  # --no-memory
        return "—"
    return f"{peak_mib:.1f}" + ("" if held != held else f" / {held:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="torch,mlx")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory columns")
    ap.add_argument("--_peak", help=argparse.SUPPRESS)
    args = ap.parse_args()
    DEVICE["name"] = args.device
    if args._peak:
        backend, model, side, compiled = args._peak.split(",")
        mib = _measure(backend, model, side, compiled == "1")
        print(json.dumps({"mib": mib, "held": HELD["mib"]}))
        return
    models = tuple(m for m in args.models.split(",") if m)
    modes = tuple(m for m in args.modes.split(",") if m)
    if set(models) - set(MODELS):
        ap.error(f"unknown --models {sorted(set(models) - set(MODELS))}; choose from "
                 f"{', '.join(MODELS)}")
    if set(modes) - set(MODES):
        ap.error(f"unknown --modes; choose from {', '.join(MODES)}")
    rows = run(args.backends.split(","), models, modes, args.repeats, not args.no_memory)
    print(f"\n(device: {args.device}; batch {BATCH}, {STEPS} steps, {INPUTS} inputs, {UNITS} "
          f"units; forward and backward)\n"
          "| backend | model | ember | reference | ref ms | ember ms | ember / ref | target "
          "| met | ember MiB peak / held | ref MiB peak / held |")
    print("|---|---|---|---|---:|---:|---:|---:|---|---:|---:|")
    for b, m, mode, rn, tr, te, r, goal, me, mr in rows:
        met = "—" if goal != goal else ("yes" if r <= goal else "no")
        side = "compile_step" if mode == "compiled" else "eager"
        print(f"| {b} | {m} | {side} | {rn} | {tr:.1f} | {te:.1f} | {r:.2f} | "
              f"{'—' if goal != goal else f'≤ {goal:.2f}'} | {met} | {_mib(me)} | {_mib(mr)} |")


if __name__ == "__main__":
    main()
