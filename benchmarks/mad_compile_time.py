"""Where the first (compiling) training step of a MAD language model spends its time on torch:
ember's trace of the step (``make_fx``) against ``torch.compile`` of the traced graph.

    uv run python benchmarks/mad_compile_time.py [--layers cfc,swiglu,cfc,swiglu]
        [--tokens 128,256] [--batch 8] [--device cpu]

A recurrent mixer (CfC, LSTM, ...) is a loop over the tokens that the trace unrolls, so its
graph grows with the sequence; this measures how the compile grows with it. Each length runs in
a fresh process (inductor's in-memory caches would otherwise serve the second) with a fresh
inductor cache directory. Prints one row per length: the trace's seconds and node count, the
inductor call's seconds (its own autograd trace included), and the whole first step's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def measure(layers: list[str], tokens: int, batch: int, device: str) -> dict[str, float]:
    """The first compiled training step of ``layers`` on selective copying at ``tokens``."""
    import ember
    import torch.fx.experimental.proxy_tensor as proxy
    from ember_mad import make_dataset
    from ember_mad._train import _Run, build_model
    from ember_torch import _compiler

    ember.set_backend("torch")
    found: dict[str, float] = {}
    make_fx = proxy.make_fx

    def timed_make_fx(*args, **kwargs):  # ember's trace: the first make_fx call only
        traced = make_fx(*args, **kwargs)
        if "trace_s" in found:
            return traced

        def run(*inputs):
            t = time.perf_counter()
            module = traced(*inputs)
            found["trace_s"] = time.perf_counter() - t
            found["nodes"] = len(module.graph.nodes)
            return module
        return run

    proxy.make_fx = timed_make_fx
    inductor_call = _compiler._Inductor.__call__

    def timed_inductor(self, *inputs):
        t = time.perf_counter()
        out = inductor_call(self, *inputs)
        found.setdefault("compile_s", time.perf_counter() - t)
        return out

    _compiler._Inductor.__call__ = timed_inductor
    data = make_dataset("selective-copying", seq_len=tokens, num_train_examples=batch,
                        num_test_examples=batch)
    model = build_model(data, layers, dim=128, seed=0)
    model.to(device=device)
    run = _Run(model, 5e-4, 0.0, 200, 1, "32", True)
    x = ember.asarray(data.train_inputs, device=device)
    y = ember.asarray(data.train_targets, device=device)
    t = time.perf_counter()
    float(run.step(x, y))
    found["first_step_s"] = time.perf_counter() - t
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", default="cfc,swiglu,cfc,swiglu")
    p.add_argument("--tokens", default="128,256", help="comma-separated sequence lengths")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cpu")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process's length
    a = p.parse_args()
    layers = a.layers.split(",")
    if a.one is not None:
        print(json.dumps(measure(layers, a.one, a.batch, a.device)))
        return
    print(f"{a.layers}, batch {a.batch}, torch on {a.device}, a fresh inductor cache each\n")
    print("| tokens | ember's trace (make_fx) | nodes | torch.compile of the graph | "
          "first step in all |")
    print("| --- | --- | --- | --- | --- |")
    for tokens in (int(t) for t in a.tokens.split(",")):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
            out = subprocess.run([sys.executable, __file__, "--one", str(tokens), "--layers",
                                  a.layers, "--batch", str(a.batch), "--device", a.device],
                                 env=env, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {tokens} | {r['trace_s']:.1f} s | {r['nodes']:,} | {r['compile_s']:.1f} s | "
              f"{r['first_step_s']:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
