# ruff: noqa: B023 - each lambda is timed within the loop iteration that defines it
"""What ember's checks for ill-posed matrices cost (see docs/semantics.md, "Linear algebra
failures"): each checked kernel against the library's own unchecked call, in the same process.

    uv run python benchmarks/linalg_checks.py [numpy torch mlx] [--device cuda]

"native" is the library's call with its result ready (MLX: evaluated; torch on a GPU:
synchronised), "ember" the backend's checked kernel the same way; ratio = ember / native.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
from _timing import median_pair

SIZES = [("4x4", (4, 4)), ("512 x 8x8", (512, 8, 8)), ("256x256", (256, 256))]


def _spd(shape: tuple[int, ...]) -> np.ndarray:
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1], dtype=np.float32)


def _cases(name: str, device: str) -> tuple[Any, list[tuple[str, Any, Any]]]:
    if name == "numpy":
        from ember_numpy.kernels import linalg as k

        return (lambda a: a, lambda r: r), [
            ("inv", np.linalg.inv, k.linalg_inv),
            ("solve", lambda a: np.linalg.solve(a, a), lambda a: k.linalg_solve(a, a)),
            ("cholesky", np.linalg.cholesky, lambda a: k.linalg_cholesky(a, False)),
            ("eigvalsh", np.linalg.eigvalsh, k.linalg_eigvalsh),
            ("svdvals", lambda a: np.linalg.svd(a, compute_uv=False), k.linalg_svdvals),
        ]
    if name == "torch":
        import torch
        from ember_torch.kernels import linalg as k

        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

        def ready(r: Any) -> Any:
            sync()
            return r

        return (lambda a: torch.from_numpy(a).to(device), ready), [
            ("inv", torch.linalg.inv, k.linalg_inv),
            ("solve", lambda a: torch.linalg.solve(a, a), lambda a: k.linalg_solve(a, a)),
            ("cholesky", torch.linalg.cholesky, lambda a: k.linalg_cholesky(a, False)),
            ("eigvalsh", torch.linalg.eigvalsh, k.linalg_eigvalsh),
            ("svdvals", torch.linalg.svdvals, k.linalg_svdvals),
        ]
    import mlx.core as mx
    from ember_mlx.kernels import linalg as k

    cpu = mx.cpu

    def ready_mx(r: Any) -> Any:
        mx.eval(r)
        return r

    return (lambda a: mx.array(a), ready_mx), [
        ("inv", lambda a: mx.linalg.inv(a, stream=cpu), k.linalg_inv),
        ("solve", lambda a: mx.linalg.solve(a, a, stream=cpu), lambda a: k.linalg_solve(a, a)),
        ("cholesky", lambda a: mx.linalg.cholesky(a, stream=cpu),
         lambda a: k.linalg_cholesky(a, False)),
        ("eigvalsh", lambda a: mx.linalg.eigvalsh(a, stream=cpu), k.linalg_eigvalsh),
        ("svdvals", lambda a: mx.linalg.svd(a, compute_uv=False, stream=cpu), k.linalg_svdvals),
    ]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("backends", nargs="*", default=["numpy", "torch", "mlx"])
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    print("| backend | op | input | native µs | ember µs | ratio |\n|---|---|---|---|---|---|")
    for name in args.backends:
        (put, ready), cases = _cases(name, args.device)
        for label, shape in SIZES:
            a = put(_spd(shape))
            for op, native, checked in cases:
                tn, te = median_pair(lambda: ready(native(a)), lambda: ready(checked(a)),
                                     args.repeats)
                print(f"| {name} | {op} | {label} | {tn * 1e6:.1f} | {te * 1e6:.1f} | "
                      f"{te / tn:.2f} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
