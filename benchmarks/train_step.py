"""One training step: ember-nn vs the same model written natively in torch and in MLX.

    uv run python benchmarks/train_step.py [--backends torch,mlx] [--models mlp,conv,transformer]
        [--modes eager,compiled,cross] [--repeats 20] [--device gpu]

A step is forward, gradient, Adam update, with the results evaluated. Three models:
  * mlp:  784-512-512-10 with ReLU, batch 128, softmax cross-entropy;
  * tiny: the same MLP at 32-32-32-10, batch 16: almost no arithmetic, so the difference of
          the two sides is each one's fixed cost per step (the Python a GPU step pays);
  * conv: 28x28x1 -> Conv(16, 3x3) ReLU MaxPool(2) -> Conv(32, 3x3) ReLU MaxPool(2) -> Dense(10),
          batch 128;
  * transformer: 4 pre-norm encoder layers (width 512, 8 heads, GELU MLP 2048, attention with
          biases, no dropout), a final LayerNorm and Dense(10) on every token, batch 32 of 256
          random float tokens, softmax cross-entropy over random token labels. ember:
          ember_nn.TransformerEncoder; torch: nn.TransformerEncoder(nn.TransformerEncoderLayer(
          norm_first=True, activation="gelu", batch_first=True), norm=nn.LayerNorm);
          MLX: mlx.nn.TransformerEncoder(norm_first=True, activation=gelu) with biases given to
          its attention projections (mlx.nn's Linear uses a bias when it has one).
Three comparisons, each ratio measured in one run (the two steps alternated):
  * eager:    ember (ember_nn layers, ``ember_nn.value_and_grad``: a GradientTape on
              torch.autograd or MLX's engine, ``ember_nn.Adam``: the fused update ops) against
              torch eager (nn.Module, F.cross_entropy, loss.backward(), torch.optim.Adam, its
              default: foreach) or MLX uncompiled (mlx.nn, nn.value_and_grad,
              mlx.optimizers.Adam(bias_correction=True));
  * compiled: ``ember_nn.compile_step`` (mx.compile of the whole step on MLX; on torch an ATen
              trace of forward, backward and update, compiled by inductor) against torch
              compiled the way its docs recommend (``torch.compile(model)``, the optimiser step
              under ``torch.compile``) or MLX's whole step under mx.compile (state captured);
  * compiled ember against eager native.
Both sides start from the same weights and see the same batch; their losses after 3 steps must
agree, so a fast wrong step cannot pass. Targets (issue 11): eager ember <= 1.10x eager torch and
<= 1.05x eager MLX for mlp and conv, <= 1.03x for the transformer; compiled ember <= 1.0x
compiled native; compiled ember faster than eager native on a GPU.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from typing import Any

import ember
import ember_nn
import numpy as np
from _timing import median_pair, prepare

BATCH = 128
DEVICE = {"name": "cpu"}
LR = 1e-3
MODELS = ("mlp", "conv", "transformer", "tiny")
#: the MLPs: inputs, hidden widths, classes, batch
MLPS = {"mlp": (784, 512, 10, BATCH), "tiny": (32, 32, 10, 16)}
#: the transformer: layers, width, heads, sequence length, batch, classes per token
T_LAYERS, T_WIDTH, T_HEADS, T_SEQ, T_BATCH, T_CLASSES = 4, 512, 8, 256, 32, 10
T = {"seq": T_SEQ, "batch": T_BATCH}  # --t-seq/--t-batch: a smaller transformer for CPUs


def data(problem: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if problem == "transformer":  # one label per token, flat like the models' logits
        x = rng.standard_normal((T["batch"], T["seq"], T_WIDTH)).astype(np.float32)
        return x, rng.integers(0, T_CLASSES, T["batch"] * T["seq"])
    if problem in MLPS:
        n_in, _, classes, batch = MLPS[problem]
        return (rng.standard_normal((batch, n_in)).astype(np.float32),
                rng.integers(0, classes, batch))
    return (rng.standard_normal((BATCH, 28, 28, 1)).astype(np.float32),
            rng.integers(0, 10, BATCH))


class TokenClassifier(ember_nn.Module):
    """The transformer benchmark model: encoder, then Dense logits for every token, flattened
    to (batch * seq, classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = ember_nn.TransformerEncoder(T_LAYERS, T_WIDTH, T_HEADS, key=4)
        self.head = ember_nn.Dense(T_WIDTH, T_CLASSES, key=5)

    def forward(self, x: ember.Tensor) -> ember.Tensor:
        return ember.reshape(self.head(self.encoder(x)), (-1, T_CLASSES))


def ember_model(problem: str) -> ember_nn.Module:
    nn = ember_nn
    if problem in MLPS:
        n_in, width, classes, _ = MLPS[problem]
        return nn.MLP(n_in, [width, width], classes, key=0)
    if problem == "transformer":
        return TokenClassifier()
    return nn.Sequential(nn.Conv2d(1, 16, 3, key=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, key=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dense(800, 10, key=3))


def weights(model: ember_nn.Module) -> list[np.ndarray]:
    return [np.asarray(v.numpy()) for v in model.variables]


# -- ember ---------------------------------------------------------------------------------------
def ember_step(backend: str, problem: str, compile: bool) -> tuple[Callable[[], Any], list[Any]]:
    dev = "cuda" if backend == "torch" and DEVICE["name"] == "gpu" else None
    with ember.use_backend(backend):
        model = ember_model(problem).to(backend, device=dev)
        opt = ember_nn.Adam(LR)
        xn, yn = data(problem)
        x, y = ember.asarray(xn, device=dev), ember.asarray(yn, device=dev)

        def loss_fn(x: Any, y: Any) -> Any:
            return ember_nn.sparse_categorical_cross_entropy(model(x), y)

        sync = _sync(backend)
        if compile:
            compiled = ember_nn.compile_step(model, loss_fn, opt)

            def step() -> float:
                loss = compiled(x, y)
                sync(loss, model.variables)
                return float(loss)
        else:
            vg = ember_nn.value_and_grad(model, loss_fn)

            def step() -> float:
                loss, grads = vg(x, y)
                opt.update(model, grads)
                sync(loss, model.variables)
                return float(loss)

    return step, weights(model)


def _sync(backend: str) -> Callable[[Any, list[Any]], None]:
    if backend == "mlx":
        import mlx.core as mx

        return lambda loss, vs: mx.eval(loss.native, *[v.native for v in vs])
    if backend == "torch" and DEVICE["name"] == "gpu":
        import torch

        return lambda loss, vs: torch.cuda.synchronize()
    return lambda loss, vs: None


# -- torch ---------------------------------------------------------------------------------------
def torch_step(problem: str, w: list[np.ndarray], compile: bool = False) -> Callable[[], float]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    dev = "cuda" if DEVICE["name"] == "gpu" else "cpu"
    if problem in MLPS:
        n_in, width, classes, _ = MLPS[problem]
        model = nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, width),
                              nn.ReLU(), nn.Linear(width, classes))
        linears = [model[0], model[2], model[4]]
        with torch.no_grad():
            for lin, (wk, bk) in zip(linears, zip(w[::2], w[1::2])):
                lin.weight.copy_(torch.from_numpy(wk.T.copy()))
                lin.bias.copy_(torch.from_numpy(bk))
    elif problem == "transformer":
        model = torch_transformer(w)
    else:
        model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 10))
        with torch.no_grad():  # ember: (out, kh, kw, in) kernels, channels-last flatten order
            for conv, wk, bk in ((model[0], w[0], w[1]), (model[3], w[2], w[3])):
                conv.weight.copy_(torch.from_numpy(wk.transpose(0, 3, 1, 2).copy()))
                conv.bias.copy_(torch.from_numpy(bk))
            dense = w[4].reshape(5, 5, 32, 10).transpose(2, 0, 1, 3).reshape(800, 10)
            model[7].weight.copy_(torch.from_numpy(dense.T.copy()))
            model[7].bias.copy_(torch.from_numpy(w[5]))
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    forward = torch.compile(model) if compile else model
    update = torch.compile(opt.step) if compile else opt.step
    xn, yn = data(problem)
    x = torch.from_numpy(xn if problem != "conv" else xn.transpose(0, 3, 1, 2).copy()).to(dev)
    y = torch.from_numpy(yn).to(dev)
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        update()
        sync()
        return float(loss)

    return step


def torch_transformer(w: list[np.ndarray]) -> Any:
    """The transformer in torch.nn, with ember's weights (its variable order: per layer the
    attention's in_proj (dim, 3 dim) and out_proj, norm1, norm2, linear1, linear2; then the
    final norm and the head; ember's weights are (in, out), torch's (out, in))."""
    import torch
    from torch import nn

    class Tokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layer = nn.TransformerEncoderLayer(T_WIDTH, T_HEADS, 4 * T_WIDTH, dropout=0.0,
                                               activation="gelu", batch_first=True,
                                               norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, T_LAYERS, norm=nn.LayerNorm(T_WIDTH),
                                                 enable_nested_tensor=False)
            self.head = nn.Linear(T_WIDTH, T_CLASSES)

        def forward(self, x: Any) -> Any:
            return self.head(self.encoder(x)).reshape(-1, T_CLASSES)

    model, it = Tokens(), iter(w)

    def put(p: Any, transpose: bool = False) -> None:
        v = next(it)
        p.copy_(torch.from_numpy(v.T.copy() if transpose else v))

    with torch.no_grad():
        for layer in model.encoder.layers:
            put(layer.self_attn.in_proj_weight, True)
            put(layer.self_attn.in_proj_bias)
            put(layer.self_attn.out_proj.weight, True)
            put(layer.self_attn.out_proj.bias)
            for p, t in ((layer.norm1.weight, False), (layer.norm1.bias, False),
                         (layer.norm2.weight, False), (layer.norm2.bias, False),
                         (layer.linear1.weight, True), (layer.linear1.bias, False),
                         (layer.linear2.weight, True), (layer.linear2.bias, False)):
                put(p, t)
        for p, t in ((model.encoder.norm.weight, False), (model.encoder.norm.bias, False),
                     (model.head.weight, True), (model.head.bias, False)):
            put(p, t)
    assert next(it, None) is None, "torch_transformer: ember's variables did not all fit"
    return model


# -- mlx -----------------------------------------------------------------------------------------
def mlx_transformer(w: list[np.ndarray]) -> Any:
    """The transformer in mlx.nn with ember's weights (order as in ``torch_transformer``):
    mlx.nn.TransformerEncoder, whose attention projections (query, key, value, out) are built
    without biases, get ember's (mlx.nn.Linear adds a bias when it holds one)."""
    import mlx.core as mx
    import mlx.nn as mnn

    class Tokens(mnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = mnn.TransformerEncoder(T_LAYERS, T_WIDTH, T_HEADS, 4 * T_WIDTH,
                                                  activation=mnn.gelu, norm_first=True)
            self.head = mnn.Linear(T_WIDTH, T_CLASSES)

        def __call__(self, x: Any) -> Any:
            return self.head(self.encoder(x, None)).reshape(-1, T_CLASSES)

    model, it, d = Tokens(), iter(w), T_WIDTH
    for layer in model.encoder.layers:
        att = layer.attention
        w_in, b_in = next(it), next(it)
        for i, proj in enumerate((att.query_proj, att.key_proj, att.value_proj)):
            proj.weight = mx.array(w_in[:, i * d:(i + 1) * d].T)
            proj.bias = mx.array(b_in[i * d:(i + 1) * d])
        att.out_proj.weight, att.out_proj.bias = mx.array(next(it).T), mx.array(next(it))
        for norm in (layer.ln1, layer.ln2):
            norm.weight, norm.bias = mx.array(next(it)), mx.array(next(it))
        for lin in (layer.linear1, layer.linear2):
            lin.weight, lin.bias = mx.array(next(it).T), mx.array(next(it))
    model.encoder.ln.weight, model.encoder.ln.bias = mx.array(next(it)), mx.array(next(it))
    model.head.weight, model.head.bias = mx.array(next(it).T), mx.array(next(it))
    assert next(it, None) is None, "mlx_transformer: ember's variables did not all fit"
    return model


def mlx_steps(problem: str, w: list[np.ndarray]) -> dict[str, Callable[[], float]]:
    import mlx.core as mx
    import mlx.nn as mnn
    import mlx.optimizers as optim

    out = {}
    for name in ("mlx (uncompiled)", "mlx (mx.compile)"):
        if problem in MLPS:
            n_in, width, classes, _ = MLPS[problem]
            model = mnn.Sequential(mnn.Linear(n_in, width), mnn.ReLU(), mnn.Linear(width, width),
                                   mnn.ReLU(), mnn.Linear(width, classes))
            for i, layer in enumerate([model.layers[0], model.layers[2], model.layers[4]]):
                layer.weight = mx.array(w[2 * i].T)
                layer.bias = mx.array(w[2 * i + 1])
        elif problem == "transformer":
            model = mlx_transformer(w)
        else:
            model = mnn.Sequential(mnn.Conv2d(1, 16, 3), mnn.ReLU(), mnn.MaxPool2d(2),
                                   mnn.Conv2d(16, 32, 3), mnn.ReLU(), mnn.MaxPool2d(2),
                                   lambda t: t.reshape(t.shape[0], -1), mnn.Linear(800, 10))
            for layer, wk, bk in ((model.layers[0], w[0], w[1]), (model.layers[3], w[2], w[3]),
                                  (model.layers[7], w[4].T, w[5])):
                layer.weight = mx.array(wk)
                layer.bias = mx.array(bk)
        mx.eval(model.parameters())
        opt = optim.Adam(learning_rate=LR, bias_correction=True)
        xn, yn = data(problem)
        x, y = mx.array(xn), mx.array(yn)

        def loss_fn(model: Any, x: Any, y: Any) -> Any:
            return mnn.losses.cross_entropy(model(x), y, reduction="mean")

        vg = mnn.value_and_grad(model, loss_fn)

        def plain(x: Any, y: Any, model: Any = model, opt: Any = opt, vg: Any = vg) -> Any:
            loss, grads = vg(model, x, y)
            opt.update(model, grads)
            return loss

        state = [model.state, opt.state]
        fn = partial(mx.compile, inputs=state, outputs=state)(plain) if "compile" in name \
            else plain

        def step(fn: Any = fn, state: Any = state, x: Any = x, y: Any = y) -> float:
            loss = fn(x, y)
            mx.eval(loss, state)
            return loss.item()

        out[name] = step
    return out


# -- timing --------------------------------------------------------------------------------------
#: mode -> (native side compiled?, ember side compiled?)
MODES = {"eager": (False, False), "compiled": (True, True), "cross": (False, True)}


def native_step(backend: str, problem: str, w: list[np.ndarray], compiled: bool,
                ) -> tuple[str, Callable[[], float]]:
    if backend == "torch":
        return ("torch (compiled)" if compiled else "torch (eager)"), torch_step(problem, w,
                                                                                compiled)
    name = "mlx (mx.compile)" if compiled else "mlx (uncompiled)"
    return name, mlx_steps(problem, w)[name]


def run(backends: list[str], repeats: int, models: tuple[str, ...] = MODELS,
        modes: tuple[str, ...] = tuple(MODES)) -> list[tuple[Any, ...]]:
    rows = []
    for backend in backends:
        prepare(backend, DEVICE["name"])
        for problem in models:
            for mode in modes:
                native_compiled, ember_compiled = MODES[mode]
                step, w = ember_step(backend, problem, ember_compiled)
                native_name, native = native_step(backend, problem, w, native_compiled)
                got = [step() for _ in range(3)]
                want = [native() for _ in range(3)]
                np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)
                tn, te = median_pair(native, step, repeats)
                side = "ember compile_step" if ember_compiled else "ember"
                rows.append((backend, problem, native_name, side, tn * 1e3, te * 1e3, te / tn))
                print(f"{backend:6s} {problem:11s} {native_name:18s} native {tn * 1e3:8.3f} ms  "
                      f"{side:18s} {te * 1e3:8.3f} ms  ratio {te / tn:6.3f}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="torch,mlx")
    ap.add_argument("--models", default=None,
                    help=f"comma-separated, from {', '.join(MODELS)} (default: all on a GPU; "
                         f"mlp,conv,tiny on a CPU, where a full-size transformer step takes 14 s on "
                         f"torch and minutes on MLX)")
    ap.add_argument("--t-seq", type=int, default=T_SEQ, help="the transformer's sequence length")
    ap.add_argument("--t-batch", type=int, default=T_BATCH, help="the transformer's batch")
    ap.add_argument("--modes", default=",".join(MODES),
                    help="eager (both eager), compiled (both compiled), cross (ember compiled, "
                         "native eager)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    args = ap.parse_args()
    DEVICE["name"] = args.device
    T.update(seq=args.t_seq, batch=args.t_batch)
    chosen = args.models or (",".join(MODELS) if args.device == "gpu" else "mlp,conv,tiny")
    models = tuple(m for m in chosen.split(",") if m)
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        ap.error(f"unknown --models {unknown}; choose from {', '.join(MODELS)}")
    modes = tuple(m for m in args.modes.split(",") if m)
    if sorted(set(modes) - set(MODES)):
        ap.error(f"unknown --modes; choose from {', '.join(MODES)}")
    rows = run(args.backends.split(","), args.repeats, models, modes)
    print(f"\n(device: {args.device}; batch {BATCH} for mlp and conv, 16 for tiny, "
          f"{T['batch']} sequences of {T['seq']} for the transformer)\n"
          "| backend | model | native | native ms | ember side | ember ms | ember / native |")
    print("|---|---|---|---:|---|---:|---:|")
    for b, p, n, s, tn, te, r in rows:
        print(f"| {b} | {p} | {n} | {tn:.3f} | {s} | {te:.3f} | {r:.3f} |")


if __name__ == "__main__":
    main()
