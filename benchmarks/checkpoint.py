"""Checkpoint speed: ember_nn.save / ember_nn.load against the safetensors library.

    uv run python benchmarks/checkpoint.py [--mb 200] [--repeats 5] [--backends numpy,torch,mlx]

The model: Dense layers holding ``--mb`` MB of float32 weights (random values). For each
backend, in one process, alternating, medians of ``--repeats`` rounds after one warm-up:

* ``ember_nn.save``: a whole checkpoint (weights, config.json, SHA256SUMS), every file fsynced,
  the previous version deleted; ``ember_nn.load``: the newest version found, its checksums
  verified, the model built from config.json (initialisers not run) and filled;
* ``ember_nn.save_file`` / ``load_file``: one bare safetensors file of the same tensors;
* the safetensors library's ``save_file`` / ``load_file`` for the backend's framework
  (``safetensors.numpy``, ``.torch``, ``.mlx``) on the same native arrays: no fsync, no
  checksum; its torch and MLX loaders are lazy (torch maps the file), so their tensors are
  cloned / evaluated: every byte read, as ember's loads do;
* "library writer + sha256 + fsync": what ember_nn.save would cost if it wrote through the
  library (``safetensors.serialize_file`` from each tensor's bytes), hashed the file and
  fsynced it, as a checkpoint must.

GB/s counts the tensors' bytes. Files go to a temporary directory on the disk of ``--dir``
(default: the system's temporary directory); the page cache is warm for every reader alike.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import math
import mmap
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ember
import ember_nn
import numpy as np


def model_of(mb: int) -> ember_nn.Module:
    n = int(math.sqrt(mb * 1e6 / 4 / 8))
    m = ember_nn.Sequential(*[ember_nn.Dense(n, n, kernel_init="zeros") for _ in range(8)])
    rng = np.random.default_rng(0)
    for v in m.variables:
        v.assign(ember.asarray(rng.standard_normal(v.shape, dtype=np.float32)))
    return m


def library(backend: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The library's save_file and a load_file that reads every byte: torch's maps the file
    and reads nothing until a tensor is used, MLX's is lazy until evaluated; ember's loads
    copy (and verify) everything, so the library's tensors are cloned / evaluated here."""
    if backend == "numpy":
        import safetensors.numpy as fw

        return fw.save_file, fw.load_file
    if backend == "torch":
        import safetensors.torch as fw

        return fw.save_file, lambda p: {k: v.clone() for k, v in fw.load_file(p).items()}
    import mlx.core as mx
    import safetensors.mlx as fw

    def load(p: str) -> dict[str, Any]:
        out = fw.load_file(p)
        mx.eval(list(out.values()))
        return out

    return fw.save_file, load


def lib_writer_hashed(tensors: dict[str, ember.Tensor], path: Path) -> str:
    """The library's writer from each tensor's bytes, then sha256 of the file, then fsync."""
    from safetensors import TensorSpec, serialize_file

    raw = {k: t.tobytes() for k, t in tensors.items()}
    specs = {k: TensorSpec(dtype=t.dtype.name, shape=list(t.shape),
                           data_ptr=ctypes.cast(ctypes.c_char_p(raw[k]), ctypes.c_void_p).value,
                           data_len=len(raw[k])) for k, t in tensors.items()}
    serialize_file(specs, str(path))
    with open(path, "rb+") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        digest = hashlib.sha256(m).hexdigest()
        os.fsync(f.fileno())
    return digest


def timed(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def run(backend: str, mb: int, repeats: int, root: Path) -> list[tuple[str, str, float, float]]:
    with ember.use_backend(backend):
        model = model_of(mb)
        tensors = model.state_dict()
        natives = {k: t.native for k, t in tensors.items()}
        nbytes = sum(math.prod(t.shape) * t.dtype.itemsize for t in tensors.values())
        lib_save, lib_load = library(backend)
        d = root / backend
        d.mkdir()
        ck, bare, ref, hashed = d / "ckpt", d / "bare.safetensors", d / "lib.safetensors", \
            d / "hashed.safetensors"
        t = timed({
            "ember_nn.save": lambda: ember_nn.save(model, ck),
            "ember_nn.save_file": lambda: ember_nn.save_file(tensors, bare),
            "safetensors save_file": lambda: lib_save(natives, str(ref)),
            "library writer + sha256 + fsync": lambda: lib_writer_hashed(tensors, hashed),
        }, repeats)
        t.update(timed({
            "ember_nn.load": lambda: ember_nn.load(ck),
            "ember_nn.load_file": lambda: ember_nn.load_file(bare),
            "safetensors load_file": lambda: lib_load(str(ref)),
        }, repeats))
        assert ember_nn.load(ck).variables[0].tobytes() == tensors["layers.0.weight"].tobytes()
        assert bare.read_bytes()[:64] == ref.read_bytes()[:64]
    rows = []
    for lib, names in (("safetensors save_file", ("ember_nn.save", "ember_nn.save_file",
                                                  "library writer + sha256 + fsync")),
                       ("safetensors load_file", ("ember_nn.load", "ember_nn.load_file"))):
        for name in (*names, lib):
            rows.append((backend, name, nbytes / t[name] / 1e9, t[lib] / t[name]))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mb", type=int, default=200)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--backends", default="numpy,torch,mlx")
    p.add_argument("--dir", default=None)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ember-ckpt-bench-", dir=args.dir))
    try:
        rows = []
        for b in args.backends.split(","):
            try:
                ember.load_backend(b)
            except ember.EmberError as exc:
                print(f"skipping {b}: {exc}")
                continue
            rows += run(b, args.mb, args.repeats, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.mb} MB of float32 weights, medians of {args.repeats}\n")
    print("| backend | what | GB/s | speed / library's |")
    print("|---|---|---:|---:|")
    for backend, name, gbs, ratio in rows:
        print(f"| {backend} | {name} | {gbs:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
