"""Gradient cost: ember's GradientTape vs each framework's own autodiff, in the same process.

    uv sync --group bench     # autograd (the NumPy reference) and friends
    uv run python benchmarks/tape.py [--backends numpy,torch,mlx] [--repeats 15] [--device gpu]

Three problems, each a full gradient computation (forward + backward, results evaluated):
  * mlp: loss = mean((tanh(tanh(x W1 + b1) W2 + b2) W3 + b3 - y)^2), width 256, batch 64;
  * rnn: h_t = tanh(x_t Wx + h_{t-1} Wh), 100 steps, width 64, batch 32, loss = mean(h_T^2);
  * vars: 6 variables of 4x4, loss = sum(v1 + v2 + ... + v6) (5 adds): many small variables and
    few ops, so the tape's fixed cost per tape and per variable (watching, seeding, releasing)
    is what is measured.
Native sides: torch.autograd.grad; mx.value_and_grad uncompiled and under mx.compile; for
NumPy the `autograd` package (HIPS). The ember side is the same model written with ember ops
inside a GradientTape (on its backend's default engine), gradients w.r.t. Variables. Each
repeat times native and ember back to back; the table gives medians and ember / native.
Gradients are also compared (they must agree to float32 precision), so a fast wrong answer
cannot pass. Targets (issue #3): torch <= 1.10x native; MLX <= 1.0x uncompiled native;
NumPy faster than autograd.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import ember
import numpy as np
from _timing import median_pair, prepare

MLP = {"batch": 64, "width": 256}
DEVICE = {"name": "cpu"}  # --device gpu: torch on CUDA, MLX on its GPU
RNN = {"steps": 100, "batch": 32, "width": 64}
VARS = {"count": 6, "shape": (4, 4), "inner": 50}  # inner: calls per timed repeat (µs each)
PROBLEMS = ("mlp", "rnn", "vars")


def data(seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    w, b = MLP["width"], MLP["batch"]
    f = np.float32
    out: dict[str, Any] = {
        "mlp_W": [(rng.standard_normal((w, w)) / np.sqrt(w)).astype(f) for _ in range(3)],
        "mlp_b": [np.zeros(w, f) for _ in range(3)],
        "mlp_x": rng.standard_normal((b, w)).astype(f),
        "mlp_y": rng.standard_normal((b, w)).astype(f),
    }
    h, n, t = RNN["width"], RNN["batch"], RNN["steps"]
    out["rnn_Wx"] = (rng.standard_normal((h, h)) * 0.1).astype(f)
    out["rnn_Wh"] = (rng.standard_normal((h, h)) * 0.1).astype(f)
    out["rnn_x"] = rng.standard_normal((t, n, h)).astype(f)
    out["vars"] = [rng.standard_normal(VARS["shape"]).astype(f) for _ in range(VARS["count"])]
    return out


# -- ember: one program for every backend -------------------------------------------------------
def ember_mlp(params: list[Any], x: Any, y: Any) -> Any:
    h = x
    for i in range(3):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < 2:
            h = ember.tanh(h)
    return ember.mean((h - y) ** 2)


def ember_rnn(params: list[Any], xs: Any) -> Any:
    wx, wh = params
    h = ember.zeros((RNN["batch"], RNN["width"]), backend=xs.backend, device=xs.device)
    for t in range(RNN["steps"]):
        h = ember.tanh(xs[t] @ wx + h @ wh)
    return ember.mean(h * h)


def ember_vars(params: list[Any]) -> Any:
    total = params[0]
    for p in params[1:]:
        total = total + p
    return ember.sum(total)


def _dev(backend: str) -> str | None:
    return "cuda" if backend == "torch" and DEVICE["name"] == "gpu" else None


def ember_step(backend: str, d: dict[str, Any], problem: str) -> tuple[Callable[[], Any], list[Any]]:
    dev = _dev(backend)
    with ember.use_backend(backend):
        def t(a: Any) -> Any:
            # a copy, as the native sides make: a shared NumPy buffer may be unaligned for
            # torch, whose matmul is then slower (10-14 us of the mlp step)
            return ember.asarray(a, device=dev, copy=True)

        if problem == "mlp":
            params = [ember.Variable(t(a)) for pair in zip(d["mlp_W"], d["mlp_b"]) for a in pair]
            x, y = t(d["mlp_x"]), t(d["mlp_y"])

            def loss() -> Any:
                return ember_mlp(params, x, y)
        elif problem == "vars":
            params = [ember.Variable(t(a)) for a in d["vars"]]

            def loss() -> Any:
                return ember_vars(params)
        else:
            params = [ember.Variable(t(d["rnn_Wx"])), ember.Variable(t(d["rnn_Wh"]))]
            xs = t(d["rnn_x"])

            def loss() -> Any:
                return ember_rnn(params, xs)
    sync = _sync(backend)

    def step() -> Any:
        with ember.GradientTape() as tape:
            value = loss()
        grads = tape.gradient(value, params)
        sync(value, *grads)
        return grads

    return step, params


def _sync(backend: str) -> Callable[..., None]:
    if backend == "mlx":
        import mlx.core as mx

        return lambda *ts: mx.eval(*[t.native for t in ts])
    if _dev(backend):
        import torch

        return lambda *ts: torch.cuda.synchronize()
    return lambda *ts: None


# -- native ---------------------------------------------------------------------------------------
def torch_step(d: dict[str, Any], problem: str) -> Callable[[], Any]:
    import torch

    dev = _dev("torch") or "cpu"
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

    def leaf(a: Any) -> Any:
        return torch.tensor(a, device=dev, requires_grad=True)

    if problem == "mlp":
        ps = [leaf(a) for pair in zip(d["mlp_W"], d["mlp_b"]) for a in pair]
        x, y = torch.tensor(d["mlp_x"], device=dev), torch.tensor(d["mlp_y"], device=dev)

        def step() -> Any:
            h = x
            for i in range(3):
                h = h @ ps[2 * i] + ps[2 * i + 1]
                if i < 2:
                    h = torch.tanh(h)
            g = torch.autograd.grad(torch.mean((h - y) ** 2), ps)
            sync()
            return g
    elif problem == "vars":
        ps = [leaf(a) for a in d["vars"]]

        def step() -> Any:
            total = ps[0]
            for p in ps[1:]:
                total = total + p
            g = torch.autograd.grad(torch.sum(total), ps)
            sync()
            return g
    else:
        ps = [leaf(d["rnn_Wx"]), leaf(d["rnn_Wh"])]
        xs = torch.tensor(d["rnn_x"], device=dev)

        def step() -> Any:
            h = torch.zeros(RNN["batch"], RNN["width"], device=dev)
            for t in range(RNN["steps"]):
                h = torch.tanh(xs[t] @ ps[0] + h @ ps[1])
            g = torch.autograd.grad(torch.mean(h * h), ps)
            sync()
            return g
    return step


def mlx_steps(d: dict[str, Any], problem: str) -> dict[str, Callable[[], Any]]:
    import mlx.core as mx

    if problem == "mlp":
        ps = [mx.array(a) for pair in zip(d["mlp_W"], d["mlp_b"]) for a in pair]
        x, y = mx.array(d["mlp_x"]), mx.array(d["mlp_y"])

        def loss(p: list[Any]) -> Any:
            h = x
            for i in range(3):
                h = h @ p[2 * i] + p[2 * i + 1]
                if i < 2:
                    h = mx.tanh(h)
            return mx.mean((h - y) ** 2)
    elif problem == "vars":
        ps = [mx.array(a) for a in d["vars"]]

        def loss(p: list[Any]) -> Any:
            total = p[0]
            for q in p[1:]:
                total = total + q
            return mx.sum(total)
    else:
        ps = [mx.array(d["rnn_Wx"]), mx.array(d["rnn_Wh"])]
        xs = mx.array(d["rnn_x"])

        def loss(p: list[Any]) -> Any:
            h = mx.zeros((RNN["batch"], RNN["width"]))
            for t in range(RNN["steps"]):
                h = mx.tanh(xs[t] @ p[0] + h @ p[1])
            return mx.mean(h * h)
    vg = mx.value_and_grad(loss)
    cvg = mx.compile(vg)

    def plain() -> Any:
        v, g = vg(ps)
        mx.eval(v, g)
        return g

    def compiled() -> Any:
        v, g = cvg(ps)
        mx.eval(v, g)
        return g

    return {"mx.value_and_grad": plain, "mx.compile(value_and_grad)": compiled}


def autograd_step(d: dict[str, Any], problem: str) -> Callable[[], Any]:
    import autograd
    import autograd.numpy as anp

    if problem == "mlp":
        ps = [a for pair in zip(d["mlp_W"], d["mlp_b"]) for a in pair]
        x, y = d["mlp_x"], d["mlp_y"]

        def loss(p: list[Any]) -> Any:
            h = x
            for i in range(3):
                h = anp.dot(h, p[2 * i]) + p[2 * i + 1]
                if i < 2:
                    h = anp.tanh(h)
            return anp.mean((h - y) ** 2)
    elif problem == "vars":
        ps = list(d["vars"])

        def loss(p: list[Any]) -> Any:
            total = p[0]
            for q in p[1:]:
                total = total + q
            return anp.sum(total)
    else:
        ps = [d["rnn_Wx"], d["rnn_Wh"]]
        xs = d["rnn_x"]

        def loss(p: list[Any]) -> Any:
            h = np.zeros((RNN["batch"], RNN["width"]), np.float32)
            for t in range(RNN["steps"]):
                h = anp.tanh(anp.dot(xs[t], p[0]) + anp.dot(h, p[1]))
            return anp.mean(h * h)
    g = autograd.grad(loss)
    return lambda: g(ps)


def natives(backend: str, d: dict[str, Any], problem: str) -> dict[str, Callable[[], Any]]:
    if backend == "torch":
        return {"torch.autograd": torch_step(d, problem)}
    if backend == "mlx":
        return mlx_steps(d, problem)
    return {"autograd (HIPS)": autograd_step(d, problem)}


def _host(g: Any) -> np.ndarray:
    if isinstance(g, ember.Tensor):
        return np.asarray(g.numpy())
    if hasattr(g, "detach"):
        return g.detach().cpu().numpy()
    return np.asarray(g)


def _times(f: Callable[[], Any], n: int) -> Callable[[], Any]:
    """``f`` called ``n`` times (a step of a few µs is timed over n calls)."""
    if n == 1:
        return f

    def loop() -> Any:
        for _ in range(n):
            out = f()
        return out

    return loop


def run(backends: list[str], repeats: int,
        problems: tuple[str, ...] = PROBLEMS) -> list[tuple[Any, ...]]:
    d = data()
    rows = []
    for backend in backends:
        prepare(backend, DEVICE["name"])
        if backend == "numpy" and DEVICE["name"] == "gpu":
            continue
        for problem in problems:
            step, _ = ember_step(backend, d, problem)
            ember_grads = [_host(g) for g in step()]
            for name, native in natives(backend, d, problem).items():
                want = [_host(g) for g in native()]
                for got, exp in zip(ember_grads, want):
                    np.testing.assert_allclose(got, exp, rtol=2e-3, atol=2e-5)
                n = VARS["inner"] if problem == "vars" else 1
                tn, te = median_pair(_times(native, n), _times(step, n), repeats)
                tn, te = tn / n, te / n
                rows.append((backend, problem, name, tn * 1e3, te * 1e3, te / tn))
                print(f"{backend:6s} {problem}  {name:28s} native {tn * 1e3:9.3f} ms  "
                      f"ember {te * 1e3:9.3f} ms  ratio {te / tn:6.3f}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="numpy,torch,mlx")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--problems", default=",".join(PROBLEMS),
                    help=f"comma-separated, of {', '.join(PROBLEMS)}")
    args = ap.parse_args()
    DEVICE["name"] = args.device
    problems = tuple(args.problems.split(","))
    unknown = [p for p in problems if p not in PROBLEMS]
    if unknown:
        ap.error(f"unknown problems {unknown}; choose from {list(PROBLEMS)}")
    rows = run(args.backends.split(","), args.repeats, problems)
    print(f"\n(device: {args.device})\n| backend | problem | native | native ms | ember ms | ember / native |")
    print("|---|---|---|---:|---:|---:|")
    for b, p, n, tn, te, r in rows:
        print(f"| {b} | {p} | {n} | {tn:.3f} | {te:.3f} | {r:.3f} |")


if __name__ == "__main__":
    main()
