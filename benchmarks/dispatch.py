"""Dispatch overhead: ember vs the native call, per backend, measured in the same process.

    uv run python benchmarks/dispatch.py [--backends numpy,torch,mlx] [--sizes 4,256] [--keras]

For each backend and size, each op is timed as the median over repeats of a tight loop, once
through ember and once as the native call; the table shows both, the time ember adds per call
and the ratio. MLX is lazy: both sides evaluate the result (``mx.eval``) inside the loop.
Targets (issue #2): <= 0.5 us added per call at 4x4, within 2% at 256x256.
With --keras, keras.ops is timed on its NumPy and torch backends (each in a child process,
since Keras fixes its backend at import) against the same native calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

OPS = ["add", "mul", "matmul", "sum", "exp", "reshape", "concat", "softmax", "index", "where"]


def timeit(fn: Callable[[], Any], budget: float = 0.15, repeats: int = 7) -> float:
    """Median seconds per call."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt > budget / repeats or n > 1 << 22:
            break
        n *= 4
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def native_ops(backend: str, a: Any, b: Any, cond: Any) -> dict[str, Callable[[], Any]]:
    if backend == "numpy":
        import numpy as np

        def softmax(x: Any) -> Any:
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)

        shape = (a.size,)
        return {
            "add": lambda: np.add(a, b), "mul": lambda: np.multiply(a, b),
            "matmul": lambda: np.matmul(a, b), "sum": lambda: np.sum(a), "exp": lambda: np.exp(a),
            "reshape": lambda: np.reshape(a, shape), "concat": lambda: np.concatenate([a, b], axis=0),
            "softmax": lambda: softmax(a), "index": lambda: a[:, 1], "where": lambda: np.where(cond, a, b),
        }
    if backend == "torch":
        import torch

        shape = (a.numel(),)
        return {
            "add": lambda: torch.add(a, b), "mul": lambda: torch.mul(a, b),
            "matmul": lambda: torch.matmul(a, b), "sum": lambda: torch.sum(a), "exp": lambda: torch.exp(a),
            "reshape": lambda: torch.reshape(a, shape), "concat": lambda: torch.cat([a, b], 0),
            "softmax": lambda: torch.softmax(a, -1), "index": lambda: a[:, 1],
            "where": lambda: torch.where(cond, a, b),
        }
    if backend == "mlx":
        import mlx.core as mx

        shape = (a.size,)
        ev = mx.eval
        return {
            "add": lambda: ev(mx.add(a, b)), "mul": lambda: ev(mx.multiply(a, b)),
            "matmul": lambda: ev(mx.matmul(a, b)), "sum": lambda: ev(mx.sum(a)), "exp": lambda: ev(mx.exp(a)),
            "reshape": lambda: ev(mx.reshape(a, shape)), "concat": lambda: ev(mx.concatenate([a, b], 0)),
            "softmax": lambda: ev(mx.softmax(a, -1)), "index": lambda: ev(a[:, 1]),
            "where": lambda: ev(mx.where(cond, a, b)),
        }
    raise ValueError(backend)


def ember_ops(backend: str, x: Any, y: Any, c: Any) -> dict[str, Callable[[], Any]]:
    import ember

    shape = (x.size,)
    sync: Callable[[Any], Any]
    if backend == "mlx":
        import mlx.core as mx

        def sync(t: Any) -> Any:
            return mx.eval(t.native)
    else:
        def sync(t: Any) -> Any:
            return t
    return {
        "add": lambda: sync(ember.add(x, y)), "mul": lambda: sync(ember.multiply(x, y)),
        "matmul": lambda: sync(ember.matmul(x, y)), "sum": lambda: sync(ember.sum(x)),
        "exp": lambda: sync(ember.exp(x)), "reshape": lambda: sync(ember.reshape(x, shape)),
        "concat": lambda: sync(ember.concat([x, y], axis=0)), "softmax": lambda: sync(ember.nn.softmax(x, axis=-1)),
        "index": lambda: sync(x[:, 1]), "where": lambda: sync(ember.where(c, x, y)),
    }


def run_backend(backend: str, sizes: list[int]) -> list[dict[str, Any]]:
    import ember
    import numpy as np

    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        an = rng.standard_normal((n, n)).astype(np.float32)
        bn = rng.standard_normal((n, n)).astype(np.float32)
        x = ember.asarray(an, backend=backend)
        y = ember.asarray(bn, backend=backend)
        c = x > y
        native = native_ops(backend, x.native, y.native, c.native)
        wrapped = ember_ops(backend, x, y, c)
        for op in OPS:
            t_native = timeit(native[op])
            t_ember = timeit(wrapped[op])
            rows.append({"backend": backend, "size": f"{n}x{n}", "op": op, "native_us": t_native * 1e6,
                         "ember_us": t_ember * 1e6})
    return rows


def run_keras(keras_backend: str, sizes: list[int]) -> list[dict[str, Any]]:
    """In a child process (KERAS_BACKEND is fixed at import): keras.ops vs the native call."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (
        f"import json,sys; sys.path.insert(0, {here!r}); import dispatch as d; "
        f"print(json.dumps(d._keras_rows({keras_backend!r}, {sizes!r})))"
    )
    env = dict(os.environ, KERAS_BACKEND=keras_backend)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        print(f"keras[{keras_backend}] failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return []
    return json.loads(out.stdout.strip().splitlines()[-1])


def _keras_rows(keras_backend: str, sizes: list[int]) -> list[dict[str, Any]]:
    import keras
    import numpy as np
    from keras import ops

    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        an = rng.standard_normal((n, n)).astype(np.float32)
        bn = rng.standard_normal((n, n)).astype(np.float32)
        a, b = ops.convert_to_tensor(an), ops.convert_to_tensor(bn)
        c = ops.greater(a, b)
        native = native_ops(keras_backend, a, b, c)
        k = _keras_calls(ops, keras, a, b, c, n)
        for op in OPS:
            rows.append({"backend": f"keras[{keras_backend}]", "size": f"{n}x{n}", "op": op,
                         "native_us": timeit(native[op]) * 1e6, "ember_us": timeit(k[op]) * 1e6})
    return rows


def _keras_calls(ops: Any, keras: Any, a: Any, b: Any, c: Any, n: int) -> dict[str, Callable[[], Any]]:
    return {
            "add": lambda: ops.add(a, b), "mul": lambda: ops.multiply(a, b), "matmul": lambda: ops.matmul(a, b),
            "sum": lambda: ops.sum(a), "exp": lambda: ops.exp(a), "reshape": lambda: ops.reshape(a, (n * n,)),
            "concat": lambda: ops.concatenate([a, b], axis=0), "softmax": lambda: keras.ops.softmax(a, axis=-1),
            "index": lambda: a[:, 1], "where": lambda: ops.where(c, a, b),
    }


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| backend | size | op | native µs | wrapped µs | added µs | ratio |", "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        added = r["ember_us"] - r["native_us"]
        out.append(f"| {r['backend']} | {r['size']} | {r['op']} | {r['native_us']:.3f} | {r['ember_us']:.3f} "
                   f"| {added:+.3f} | {r['ember_us'] / r['native_us']:.3f} |")
    return "\n".join(out)


def summary(rows: list[dict[str, Any]]) -> str:
    out = ["| backend | size | median added µs | max added µs | median ratio | max ratio |", "|---|---|---:|---:|---:|---:|"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["backend"], r["size"]), []).append(r)
    for (b, s), rs in groups.items():
        added = [r["ember_us"] - r["native_us"] for r in rs]
        ratio = [r["ember_us"] / r["native_us"] for r in rs]
        out.append(f"| {b} | {s} | {statistics.median(added):+.3f} | {max(added):+.3f} | "
                   f"{statistics.median(ratio):.3f} | {max(ratio):.3f} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="numpy,torch,mlx")
    p.add_argument("--sizes", default="4,256")
    p.add_argument("--keras", action="store_true", help="also time keras.ops on its numpy and torch backends")
    p.add_argument("--json", help="write the raw rows here")
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    import ember

    rows: list[dict[str, Any]] = []
    available = {b.name for b in ember.backends(probe=False)}
    for backend in args.backends.split(","):
        if backend not in available:
            print(f"skipping {backend}: not installed", file=sys.stderr)
            continue
        if backend == "torch":
            import torch

            torch.set_num_threads(1)
        print(f"timing {backend} ...", file=sys.stderr)
        rows += run_backend(backend, sizes)
    if args.keras:
        for kb in ("numpy", "torch"):
            print(f"timing keras[{kb}] ...", file=sys.stderr)
            rows += run_keras(kb, sizes)
    print(summary(rows))
    print()
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
