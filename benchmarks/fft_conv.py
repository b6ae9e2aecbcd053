"""Hyena's long convolution, forward and gradient: by FFTs or by the Toeplitz product.

    uv run python benchmarks/fft_conv.py [--device cpu|gpu] [--backends torch,mlx,numpy]
        [--batch 16] [--repeats 5]

``ember_nn.mixers.sequence._fft_conv.fft_conv`` with ``method="fft"`` (rfft, product,
irfft at size 2L) and ``method="direct"`` (each filter's L x L lower-triangular Toeplitz
matrix, every signal sharing it in one matrix product), against the native FFT convolution
(MAD-Lab's ``fftconv``: ``torch.fft`` on torch, ``mx.fft`` on MLX; NumPy has no native
gradient, so its rows compare ember's two methods only). A step is the convolution and the
gradient of ``sum(y * g)`` with respect to ``u`` and ``k``. Shapes are the MAD baseline's:

* ``mh-hyena``: MultiHeadHyena's outer products, ``u (batch, 8, 16, 16, L)``, 8 filters
  ``(8, 1, 1, L)``: ``batch * 256`` signals a filter;
* ``hyena``: Hyena's one filter per channel, ``u (batch, L, 128)``, ``k (L, 128)`` on axis -2:
  ``batch`` signals a filter.

"auto takes" is what ``method="auto"`` takes (on a CPU direct when ``L <= 1024`` and a filter
has at least ``L`` signals, never on MLX's CPU; on a GPU when ``L <= 512`` and at least ``8 L``
signals); "auto / native" is that method's time over the native FFT convolution's. Medians of
``--repeats`` alternated rounds; torch on one CPU thread.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from typing import Any

import ember
import numpy as np
from _timing import median_pair, prepare
from ember_nn.mixers.sequence._fft_conv import _direct_pays, fft_conv

CASES = {  # name: (u shape, k shape, axis, signals a filter) for a batch b and length n
    "mh-hyena": (lambda b, n: (b, 8, 16, 16, n), lambda n: (8, 1, 1, n), -1, lambda b: b * 256),
    "hyena": (lambda b, n: (b, n, 128), lambda n: (n, 128), -2, lambda b: b),
}


def _native(backend: str, axis: int) -> Callable[[Any, Any, Any], Any] | None:
    """The native step: MAD-Lab's FFT convolution and its gradient in the framework itself."""
    if backend == "torch":
        import torch

        def step_t(u: Any, k: Any, g: Any) -> Any:
            u.grad = k.grad = None
            ul, kl = u.movedim(axis, -1), k.movedim(axis, -1)
            n = ul.shape[-1]
            y = torch.fft.irfft(torch.fft.rfft(ul, n=2 * n) * torch.fft.rfft(kl, n=2 * n),
                                n=2 * n)[..., :n]
            (y.movedim(-1, axis) * g).sum().backward()
            if u.is_cuda:
                torch.cuda.synchronize()
            return u.grad

        return step_t
    if backend == "mlx":
        import mlx.core as mx

        def loss(u: Any, k: Any, g: Any) -> Any:
            ul, kl = mx.moveaxis(u, axis, -1), mx.moveaxis(k, axis, -1)
            n = ul.shape[-1]
            y = mx.fft.irfft(mx.fft.rfft(ul, n=2 * n) * mx.fft.rfft(kl, n=2 * n), n=2 * n)
            return mx.sum(mx.moveaxis(y[..., :n], -1, axis) * g)

        grad = mx.grad(loss, argnums=(0, 1))

        def step_m(u: Any, k: Any, g: Any) -> Any:
            out = grad(u, k, g)
            mx.eval(out)
            return out

        return step_m
    return None


def _ember_step(backend: str, method: str, axis: int) -> Callable[[Any, Any, Any], Any]:
    """ember's step; its gradients evaluated (MLX) or the GPU synchronised (torch)."""
    if backend == "mlx":
        import mlx.core as mx

        def sync(ts: list[Any]) -> None:
            mx.eval(*[t.native for t in ts])
    elif backend == "torch":
        import torch

        def sync(ts: list[Any]) -> None:
            if ts[0].native.is_cuda:
                torch.cuda.synchronize()
    else:
        def sync(ts: list[Any]) -> None:
            pass

    def step(u: Any, k: Any, g: Any) -> Any:
        with ember.GradientTape() as tape:
            tape.watch(u)
            tape.watch(k)
            loss = ember.sum(fft_conv(u, k, axis=axis, method=method) * g)
        out = tape.gradient(loss, [u, k])
        sync(out)
        return out

    return step


def _native_arrays(backend: str, device: str, arrays: list[np.ndarray]) -> list[Any]:
    if backend == "torch":
        import torch

        dev = "cuda" if device == "gpu" else "cpu"
        return [torch.tensor(a, device=dev, requires_grad=i < 2) for i, a in enumerate(arrays)]
    import mlx.core as mx

    return [mx.array(a) for a in arrays]


def run(backend: str, device: str, batch: int, lengths: list[int], repeats: int) -> list[str]:
    prepare(backend, device)
    rows = []
    rng = np.random.default_rng(0)
    for name, (u_shape, k_shape, axis, signals) in CASES.items():
        for n in lengths:
            arrays = [rng.standard_normal(s).astype(np.float32)
                      for s in (u_shape(batch, n), k_shape(n), u_shape(batch, n))]
            with ember.use_backend(backend):
                dev = None if device == "cpu" else ("cuda" if backend == "torch" else "gpu")
                u, k, g = (ember.asarray(a, device=dev) for a in arrays)
                fft, direct = (_ember_step(backend, m, axis) for m in ("fft", "direct"))
                t_fft, t_direct = median_pair(partial(fft, u, k, g), partial(direct, u, k, g),
                                              repeats)
            native = _native(backend, axis)
            if native is None:
                t_native, ratio = float("nan"), "—"
            else:
                nu, nk, ng = _native_arrays(backend, device, arrays)
                t_native, _ = median_pair(partial(native, nu, nk, ng), lambda: None, repeats)
            with ember.use_backend(backend):
                auto = "direct" if _direct_pays(backend, u.device, n, signals(batch)) else "fft"
            best = t_direct if auto == "direct" else t_fft
            ratio = "—" if native is None else f"{best / t_native:.2f}"
            rows.append(f"| {backend} | {name} | {n} | {signals(batch)} | "
                        f"{t_native * 1e3:.1f} | {t_fft * 1e3:.1f} | {t_direct * 1e3:.1f} | "
                        f"{t_direct / t_fft:.2f} | {auto} | {ratio} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    ap.add_argument("--backends", default="torch,mlx,numpy")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lengths", default="128,256,512,1024")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    print(f"(device: {a.device}, batch {a.batch}; ms a step: the convolution and its gradient)")
    print("| backend | shape | length | signals a filter | native FFT ms | ember fft ms | "
          "ember direct ms | direct / fft | auto takes | auto / native |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for backend in a.backends.split(","):
        run(backend, a.device, a.batch, [int(n) for n in a.lengths.split(",")], a.repeats)


if __name__ == "__main__":
    main()
