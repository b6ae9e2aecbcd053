# ruff: noqa: B023 - each lambda is timed within the loop iteration that defines it
"""CUDA check and GPU dispatch timing (run on a machine with an NVIDIA GPU; CI never has one).

    python benchmarks/gpu_check.py

1. Runs examples/same_code_three_backends.py's computation with torch's default device set to
   CUDA and with MLX on its GPU, and compares every quantity with NumPy on the CPU.
2. Checks the capability rules on the GPU: float64 on MLX's GPU is an ember.UnsupportedError
   (MLX has no float64 there), and the same tensor on MLX's CPU device works.
3. Times ember vs native for add / matmul / softmax at 4x4 and 4096x4096 on each GPU backend
   (synchronising each call: torch.cuda.synchronize, mx.eval).
4. Gradients on the GPU: a small network's tape gradients on each GPU backend, with its own
   engine (three calls, so the MLX engine's compiled replay runs) and the generic one, against
   NumPy's on the CPU.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import ember
from ember._cli import info
from same_code_three_backends import compute


def timed_pair(native: Any, wrapped: Any, sync: Any, n: int = 100, rounds: int = 7) -> tuple[float, float]:
    """Best-of-rounds µs per call, native and ember rounds interleaved (clocks drift on GPUs)."""
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, fn in enumerate((native, wrapped)):
            for _ in range(5):
                sync(fn())
            t0 = time.perf_counter()
            for _ in range(n):
                sync(fn())
            best[i] = min(best[i], (time.perf_counter() - t0) / n * 1e6)
    return best[0], best[1]


def _network_grads(backend: str, device: str | None, engine: str) -> list[Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(sh).astype(np.float32) * 0.3 for sh in ((16, 32), (32,), (32, 8))]
    x = rng.standard_normal((64, 16)).astype(np.float32)
    labels = rng.integers(0, 8, 64)
    with ember.use_backend(backend), ember.use_tape_engine(engine):
        params = [ember.Variable(ember.tensor(w, device=device)) for w in ws]
        xt, yt = ember.tensor(x, device=device), ember.tensor(labels, device=device)
        for _ in range(3):
            with ember.GradientTape() as tape:
                h = ember.nn.layer_norm(ember.nn.gelu(xt @ params[0] + params[1]))
                loss = ember.nn.cross_entropy(h @ params[2], yt)
            grads = tape.gradient(loss, params)
        return [np.asarray(g.numpy()) for g in grads]


def gradient_check(backend: str, device: str | None) -> int:
    """Tape gradients on the GPU (own engine and generic) against NumPy's on the CPU."""
    import numpy as np

    ref = _network_grads("numpy", None, "generic")
    bad = 0
    for engine in ("auto", "generic"):
        got = _network_grads(backend, device, engine)
        worst = max(float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))
                    for a, b in zip(got, ref))
        print(f"{backend} gradients on {device or 'gpu'} ({engine} engine): worst relative "
              f"difference to numpy/cpu {worst:.1e}")
        bad += worst > 1e-4
    return bad


def main() -> int:
    names = [b.name for b in ember.backends()]
    print(info())
    with ember.use_backend("numpy"):
        ref = compute()
    failures = 0
    rows = []
    if "torch" in names:
        import torch

        if torch.cuda.is_available():
            torch.set_default_device("cuda")
            with ember.use_backend("torch"):
                got = compute()
                dev = ember.ones((1,)).device
            torch.set_default_device("cpu")
            worst = max(abs(got[k] - ref[k]) / max(1.0, abs(ref[k])) for k in ref)
            print(f"torch on {dev}: worst relative difference to numpy/cpu {worst:.1e}")
            failures += worst > 1e-3 or not dev.startswith("cuda")
            failures += gradient_check("torch", "cuda")
            for n in (4, 4096):
                a = ember.ones((n, n), backend="torch", device="cuda:0")
                an = a.native
                sync = lambda _: torch.cuda.synchronize()  # noqa: E731
                for op, e, nat in [("add", lambda: a + a, lambda: torch.add(an, an)),
                                   ("matmul", lambda: a @ a, lambda: torch.matmul(an, an)),
                                   ("softmax", lambda: ember.nn.softmax(a), lambda: torch.softmax(an, -1))]:
                    rows.append(("torch cuda", n, op, *timed_pair(nat, e, sync)))
    if "mlx" in names:
        import mlx.core as mx

        if mx.default_device() == mx.gpu:
            with ember.use_backend("mlx"):
                got = compute()
                try:
                    ember.ones((2,), dtype=ember.float64)
                    print("FAIL: float64 on MLX's GPU did not raise")
                    failures += 1
                except ember.UnsupportedError as exc:
                    print(f"mlx float64 on gpu -> UnsupportedError: {exc}")
                cpu64 = ember.ones((2,), dtype=ember.float64, device="cpu") * 3
                print(f"mlx float64 on cpu device -> {cpu64.tolist()} {cpu64.dtype}")
            worst = max(abs(got[k] - ref[k]) / max(1.0, abs(ref[k])) for k in ref)
            print(f"mlx on gpu: worst relative difference to numpy/cpu {worst:.1e}")
            failures += worst > 1e-3
            failures += gradient_check("mlx", None)
            for n in (4, 4096):
                a = ember.ones((n, n), backend="mlx")
                an = a.native
                for op, e, nat in [("add", lambda: (a + a).native, lambda: mx.add(an, an)),
                                   ("matmul", lambda: (a @ a).native, lambda: mx.matmul(an, an)),
                                   ("softmax", lambda: ember.nn.softmax(a).native, lambda: mx.softmax(an, -1))]:
                    rows.append(("mlx gpu", n, op, *timed_pair(nat, e, mx.eval)))
        else:
            print("mlx: no GPU device (install mlx[cuda] on Linux)")
    print("\n| backend | size | op | native µs | ember µs | ratio |\n|---|---|---|---:|---:|---:|")
    for b, n, op, tn, te in rows:
        print(f"| {b} | {n}x{n} | {op} | {tn:.1f} | {te:.1f} | {te / tn:.3f} |")
    print(f"\nmlx cuda build present: {importlib.util.find_spec('mlx') is not None}; failures: {failures}")
    return int(failures > 0)


if __name__ == "__main__":
    sys.exit(main())
