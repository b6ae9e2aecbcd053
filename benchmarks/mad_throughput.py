"""Training throughput of the MAD transformer baseline run: ember vs the same model in torch.

    uv run python benchmarks/mad_throughput.py [--device cuda] [--steps 50] [--modes ...]
        [--precisions 32,bf16-mixed] [--task in-context-recall] [--layers ...]

The run: the task's baseline setting (in-context recall: 12,800 sequences of 127 tokens, vocab
16), ``mh-attention, swiglu, mh-attention, swiglu`` at width 128, batch 128, AdamW (lr 5e-4)
with cross entropy over every position (-100 ignored). A step is forward, gradient and update
on a batch of the task's training data.

* ember: the step ``ember_mad.train`` runs (``ember_mad._train._Run``): eager
  (``value_and_grad`` + ``AdamW``), ``compile_step`` (float32), ``MixedPrecision`` bf16-mixed
  (its update compiled when compiled); ``compile_step`` is one CUDA graph on CUDA;
* torch: the same model written natively (embedding, pre-norm residual blocks of
  benchmarks/_native_attention.py's ``MHA`` and _native_channel.py's ``SwiGLU``, final
  ``F.rms_norm``, untied head) from ember's weights, ``torch.optim.AdamW``, eager or
  ``torch.compile(model)`` (on CUDA ``mode="reduce-overhead"``: forward and backward as
  CUDA graphs, as ember's compiled step is) + the optimiser step under ``torch.compile``;
  bf16-mixed is
  ``torch.autocast(bfloat16)`` (Lightning's "bf16-mixed", MAD-Lab's).

Both sides start from the same weights and see the same batches; their losses after three
steps must agree (float32: 1e-3 relative). Each pair of steps is alternated and timed with
the result synchronised; the table gives the median step, training tokens per second, the
ratio, and runs per hour at 200 epochs (100 steps an epoch, the evaluation left out).
On a CPU, ``--steps 20`` gives a quick table (torch on one thread; compiled modes are slow
to build there: use ``--modes eager``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import ember
import ember_mad
import numpy as np
import torch
import torch.nn.functional as F
from _native_attention import NATIVE as NATIVE_ATTENTION
from _native_channel import NATIVE as NATIVE_CHANNEL
from _native_common import dense, param, variables
from ember_mad._train import _Run, build_model
from torch import nn

NATIVE = {**NATIVE_ATTENTION, **NATIVE_CHANNEL}


class NativeLM(nn.Module):
    """MAD-Lab's language model in torch, with an ember LanguageModel's weights."""

    def __init__(self, model: Any, layers: list[str]) -> None:
        super().__init__()
        v = variables(model)
        self.embed = nn.Embedding.from_pretrained(torch.tensor(v["token_embedding.weight"]),
                                                  freeze=False)
        self.mixers = nn.ModuleList(NATIVE[name](b.mixer)
                                    for name, b in zip(layers, model.blocks, strict=True))
        self.norms = nn.ParameterList(param(v[f"blocks.{i}.norm_1.weight"])
                                      for i in range(len(model.blocks)))
        self.norm = param(v["norm.weight"])
        self.head = dense(v, "head")

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        for norm, mixer in zip(self.norms, self.mixers, strict=True):
            x = x + mixer(F.rms_norm(x, (x.shape[-1],), norm, eps=1e-5))
        return self.head(F.rms_norm(x, (x.shape[-1],), self.norm, eps=1e-5))


def torch_step(model: Any, layers: list[str], lr: float, device: str, precision: str,
               compiled: bool) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    net = NativeLM(model, layers).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    dev = torch.device(device).type
    # on CUDA, torch's fastest compiled mode: the model's forward and backward as CUDA graphs
    graphs = compiled and dev == "cuda"
    forward = torch.compile(net, mode="reduce-overhead" if graphs else None) if compiled else net
    update = torch.compile(opt.step) if compiled else opt.step
    warm: list[torch.Tensor] = []

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if graphs:
            if not warm:  # the rotary tables cached eagerly, not as a graph's output
                with torch.no_grad():
                    warm.append(net(x[:1]))
            torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
            logits = forward(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1),
                               ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        update()
        return loss.detach()

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=50, help="timed steps per side")
    ap.add_argument("--modes", default="eager,compiled")
    ap.add_argument("--precisions", default=None,
                    help="default 32,bf16-mixed on CUDA, 32 on the CPU")
    ap.add_argument("--task", default="in-context-recall")
    ap.add_argument("--layers", default="mh-attention,swiglu,mh-attention,swiglu")
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    device = args.device
    precisions = (args.precisions or ("32,bf16-mixed" if device.startswith("cuda") else "32"))
    if device == "cpu":
        torch.set_num_threads(1)
    torch.set_float32_matmul_precision("high")
    data = ember_mad.make_dataset(args.task, **ember_mad.task_settings(args.task)[0])
    layers = args.layers.split(",")
    bs, length = args.batch_size, data.train_inputs.shape[1]
    steps_per_epoch = -(-len(data.train_inputs) // bs)
    rng = np.random.default_rng(0)
    batches = [rng.permutation(len(data.train_inputs))[:bs] for _ in range(8)]
    print(f"{args.task} baseline, {','.join(layers)}, width 128, batch {bs} x {length} tokens, "
          f"{device}, torch {torch.__version__}, ember {ember.__version__}")
    print(f"{'precision':11s} {'mode':9s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s} "
          f"{'ember tok/s':>12s} {'torch tok/s':>12s} {'ember runs/h':>12s} {'torch runs/h':>12s}")
    with ember.use_backend("torch"):
        for precision in precisions.split(","):
            for mode in args.modes.split(","):
                compiled = mode == "compiled"
                model = build_model(data, layers, dim=128, seed=12345)
                model.to(device=device)
                native = torch_step(model, layers, 5e-4, device, precision, compiled)
                run = _Run(model, 5e-4, 0.0, 200, steps_per_epoch, precision, compiled)
                ex = [(ember.asarray(data.train_inputs[b], device=device),
                       ember.asarray(data.train_targets[b], device=device)) for b in batches]
                tx = [(torch.tensor(data.train_inputs[b], device=device),
                       torch.tensor(data.train_targets[b], device=device)) for b in batches]
                a = [float(run.step(*ex[i])) for i in range(3)]
                b = [float(native(*tx[i])) for i in range(3)]
                tol = 1e-3 if precision == "32" else 3e-2
                if not np.allclose(a, b, rtol=tol):
                    raise SystemExit(f"{precision} {mode}: losses differ: ember {a}, torch {b}")
                ta, tb = [], []
                for i in range(args.steps):
                    t0 = time.perf_counter()
                    float(run.step(*ex[i % 8]))
                    t1 = time.perf_counter()
                    float(native(*tx[i % 8]))
                    t2 = time.perf_counter()
                    ta.append(t1 - t0)
                    tb.append(t2 - t1)
                ma, mb = statistics.median(ta), statistics.median(tb)
                tokens = bs * length

                def per_hour(s: float) -> float:
                    return 3600 / (200 * steps_per_epoch * s)

                print(f"{precision:11s} {mode:9s} {ma * 1e3:9.2f} {mb * 1e3:9.2f} "
                      f"{ma / mb:6.2f} {tokens / ma:12,.0f} {tokens / mb:12,.0f} "
                      f"{per_hour(ma):12.2f} {per_hour(mb):12.2f}")


if __name__ == "__main__":
    main()
