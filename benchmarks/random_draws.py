# ruff: noqa: B023 - each lambda is timed within the loop iteration that defines it
"""ember.random (one Philox4x32-10 in ember ops, the same numbers everywhere) vs each backend's
own generator, measured in the same process.

    uv run python benchmarks/random_draws.py [--backends numpy,torch,mlx] [--sizes 1e3,1e5,1e6,1e7]
                                       [--device cpu|gpu] [--threads N]

For each backend and size: float32 uniform and normal draws, a dropout of a float32 vector
(mask, scale, select) and a permutation (the Trainer's shuffle). The native side is what the
backend offers for the same job, seeded per call like an ember key:
``np.random.Generator(np.random.Philox(seed))``, a ``torch.Generator`` (``torch.rand`` /
``randn`` / ``randperm``; dropout ``torch.nn.functional.dropout``), ``mx.random`` with a key
(``uniform``, ``normal``, ``bernoulli``, ``permutation``). MLX is lazy and torch on CUDA is
asynchronous: both sides are synchronised in every call. Medians of interleaved calls.
torch runs on one thread unless --threads says otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this file shares its name with the standard library's random, which statistics, tempfile and
# others import: keep this folder off the path and load _timing from its file
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

_spec = importlib.util.spec_from_file_location("_timing", _HERE / "_timing.py")
assert _spec is not None and _spec.loader is not None
_timing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_timing)
median_pair = _timing.median_pair

DRAWS = ("uniform", "normal", "dropout", "permutation")


def native_draws(backend: str, n: int, device: str) -> tuple[dict[str, Callable[[], Any]], Any]:
    """The native calls, and a function that waits for a result."""
    if backend == "numpy":
        import numpy as np

        x = np.ones(n, np.float32)

        def gen() -> Any:
            return np.random.Generator(np.random.Philox(1234))

        def drop() -> Any:
            keep = gen().random(n, dtype=np.float32) >= 0.5
            return np.where(keep, x / np.float32(0.5), np.float32(0))

        return {"uniform": lambda: gen().random(n, dtype=np.float32),
                "normal": lambda: gen().standard_normal(n, dtype=np.float32),
                "dropout": drop, "permutation": lambda: gen().permutation(n)}, lambda r: r
    if backend == "torch":
        import torch

        dev = torch.device("cuda" if device == "gpu" else "cpu")
        xt = torch.ones(n, dtype=torch.float32, device=dev)

        def g() -> Any:
            return torch.Generator(device=dev).manual_seed(1234)

        def sync(r: Any) -> Any:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            return r

        def tdrop() -> Any:
            torch.manual_seed(1234)
            return torch.nn.functional.dropout(xt, 0.5, training=True)

        return {"uniform": lambda: torch.rand(n, generator=g(), device=dev),
                "normal": lambda: torch.randn(n, generator=g(), device=dev),
                "dropout": tdrop,
                "permutation": lambda: torch.randperm(n, generator=g(), device=dev)}, sync
    if backend == "mlx":
        import mlx.core as mx

        stream = mx.gpu if device == "gpu" else mx.cpu
        xm = mx.ones((n,), dtype=mx.float32)

        def mdrop() -> Any:
            keep = mx.random.bernoulli(0.5, (n,), key=mx.random.key(1234), stream=stream)
            return mx.where(keep, xm / 0.5, 0.0, stream=stream)

        return {"uniform": lambda: mx.random.uniform(shape=(n,), key=mx.random.key(1234), stream=stream),
                "normal": lambda: mx.random.normal((n,), key=mx.random.key(1234), stream=stream),
                "dropout": mdrop,
                "permutation": lambda: mx.random.permutation(n, key=mx.random.key(1234), stream=stream),
                }, lambda r: mx.eval(r)
    raise ValueError(backend)


def ember_draws(backend: str, n: int, device: str) -> tuple[dict[str, Callable[[], Any]], Any]:
    import ember

    dev = None if device == "cpu" else ("cuda" if backend == "torch" else "gpu")
    key = ember.random.key(1234)
    x = ember.ones((n,), dtype=ember.float32, device=dev, backend=backend)
    idx = ember.arange(n, device=dev, backend=backend)
    with ember.use_backend(backend):
        return {"uniform": lambda: ember.random.uniform(key, (n,), device=dev, backend=backend),
                "normal": lambda: ember.random.normal(key, (n,), device=dev, backend=backend),
                "dropout": lambda: ember.nn.dropout(x, 0.5, key),
                "permutation": lambda: ember.random.permutation(key, idx)}, None


def run(backend: str, sizes: list[int], device: str) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        native, sync = native_draws(backend, n, device)
        wrapped, _ = ember_draws(backend, n, device)
        repeats = 5 if n >= 10**7 else 11 if n >= 10**6 else 31
        for draw in DRAWS:
            if draw == "permutation" and n > 10**6:
                continue  # a shuffle of 1e7 samples is not the case to tune for
            t_native, t_ember = median_pair(lambda: sync(native[draw]()),
                                            lambda: sync(wrapped[draw]().native), repeats)
            rows.append({"backend": backend, "device": device, "draw": draw, "n": n,
                         "native_ms": t_native * 1e3, "ember_ms": t_ember * 1e3})
            print(f"  {backend} {draw} {n:.0e}: {t_ember / t_native:.1f}x", file=sys.stderr)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| backend | device | draw | n | native ms | ember ms | ratio |",
           "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['backend']} | {r['device']} | {r['draw']} | {r['n']:.0e} | "
                   f"{r['native_ms']:.3f} | {r['ember_ms']:.3f} | "
                   f"{r['ember_ms'] / r['native_ms']:.1f} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="numpy,torch,mlx")
    p.add_argument("--sizes", default="1e3,1e5,1e6,1e7")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = p.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    import ember

    available = {b.name for b in ember.backends(probe=False)}
    rows: list[dict[str, Any]] = []
    for backend in args.backends.split(","):
        if backend not in available or (args.device == "gpu" and backend == "numpy"):
            print(f"skipping {backend}", file=sys.stderr)
            continue
        if backend == "torch":
            import torch

            torch.set_num_threads(args.threads)
        print(f"timing {backend} ...", file=sys.stderr)
        rows += run(backend, sizes, args.device)
    print(table(rows))


if __name__ == "__main__":
    main()
