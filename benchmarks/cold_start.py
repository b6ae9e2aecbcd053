"""Cold-start costs: what the first import, op, gradient and backend listing cost in a fresh
process, ember against the native framework.

    uv run python benchmarks/cold_start.py [--runs 15] [--backends numpy,torch,mlx] [--no-train]

Every case runs in a new Python process (``sys.executable -c ...``), ``--runs`` times, and the
table gives medians in milliseconds. A child times only its case with ``time.perf_counter``
(the interpreter's own start-up is left out), after the setup named in the case:

* ``import ember`` / ``import ember_nn``: the import statement alone;
* ``ember.backends()``, cold: a fresh, empty cache directory (``XDG_CACHE_HOME``) every run;
  warm: the same cache directory, filled by one call before the timed runs;
* first op on a backend: ember and the native library already imported, then
  ``ember.set_backend`` (which builds the backend: its kernel modules), ``asarray`` of a 2x2
  list, ``x * x + x`` and the result evaluated (``mx.eval`` on MLX); native: the same steps
  with the library's own functions (the library imported before the timer too);
* first gradient: setup as for the first op, then the gradient of ``sum(x * x)`` through
  ``ember.GradientTape`` against the native autodiff (``torch.autograd.grad``, ``mx.grad``);
* training (``--no-train`` skips it): ``examples/digits/digits.toml`` for 4 epochs through
  ``train_from_config`` in one process: the first epoch's seconds against the median of the
  later epochs (the first pays the one-time costs: tracing, compiling, lazy imports).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_TIMED = """
import json, sys, time
{setup}
t0 = time.perf_counter()
{body}
t1 = time.perf_counter()
print(json.dumps({{"ms": (t1 - t0) * 1e3}}))
"""

NATIVE_SETUP = {
    "numpy": "import numpy as np",
    "torch": "import torch",
    "mlx": "import mlx.core as mx",
}
NATIVE_OP = {
    "numpy": "x = np.asarray([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32); y = x * x + x",
    "torch": "x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]); y = x * x + x",
    "mlx": "x = mx.array([[1.0, 2.0], [3.0, 4.0]]); y = x * x + x; mx.eval(y)",
}
NATIVE_GRAD = {
    "torch": ("x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)\n"
              "(g,) = torch.autograd.grad((x * x).sum(), x)"),
    "mlx": ("x = mx.array([[1.0, 2.0], [3.0, 4.0]])\n"
            "g = mx.grad(lambda a: (a * a).sum())(x); mx.eval(g)"),
}
EMBER_OP = ("ember.set_backend({backend!r})\n"
            "x = ember.asarray([[1.0, 2.0], [3.0, 4.0]], dtype=ember.float32); y = x * x + x\n"
            "{sync}")
EMBER_GRAD = ("ember.set_backend({backend!r})\n"
              "x = ember.Variable(ember.asarray([[1.0, 2.0], [3.0, 4.0]], dtype=ember.float32))\n"
              "with ember.GradientTape() as tape:\n"
              "    y = ember.sum(x * x)\n"
              "g = tape.gradient(y, x)\n"
              "{sync}")
SYNC = {"numpy": "", "torch": "", "mlx": "mx.eval(y.native)"}
GSYNC = {"numpy": "", "torch": "", "mlx": "mx.eval(g.native)"}


def ember_setup(backend: str) -> str:
    return f"import ember\n{NATIVE_SETUP[backend]}"


def run_child(code: str, env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, cwd=ROOT, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}):\n{code}\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def timed(setup: str, body: str, runs: int, env: dict[str, str] | None = None) -> float:
    code = _TIMED.format(setup=setup, body=body)
    return statistics.median(run_child(code, env)["ms"] for _ in range(runs))


def backends_times(runs: int) -> tuple[float, float]:
    """Median ms of ``ember.backends()`` with an empty cache directory and with a filled one."""
    body = "ember.backends()"
    cold = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            cold.append(run_child(_TIMED.format(setup="import ember", body=body),
                                  {"XDG_CACHE_HOME": d})["ms"])
    with tempfile.TemporaryDirectory() as d:
        env = {"XDG_CACHE_HOME": d}
        run_child(_TIMED.format(setup="import ember", body=body), env)
        warm = timed("import ember", body, runs, env)
    return statistics.median(cold), warm


TRAIN = """
import json, statistics, tempfile
from pathlib import Path
from ember_nn.pipelines._run import read_config, train_from_config
path = Path("examples/digits/digits.toml")
cfg = read_config(path)
cfg["output"] = {{"dir": tempfile.mkdtemp(), "plot": False}}
r = train_from_config(cfg, base_dir=path.parent, backend={backend!r}, epochs=4, progress=False)
s = r.history.epoch_seconds
print(json.dumps({{"first": s[0] * 1e3, "later": statistics.median(s[1:]) * 1e3}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--backends", default="numpy,torch,mlx")
    ap.add_argument("--no-train", action="store_true")
    args = ap.parse_args()
    names = [b for b in args.backends.split(",") if b]
    n = args.runs
    rows: list[tuple[str, float, str, str]] = []  # case, ember ms, native case, native ms

    def add(case: str, ember_ms: float, native_case: str = "", native_ms: float | None = None):
        rows.append((case, ember_ms, native_case, "" if native_ms is None else f"{native_ms:.1f}"))
        print(f"  {case}: {ember_ms:.1f} ms", file=sys.stderr, flush=True)

    add("`import ember`", timed("", "import ember", n))
    add("`import ember_nn`", timed("", "import ember_nn", n))
    cold, warm = backends_times(n)
    add("`ember.backends()`, no cache", cold)
    add("`ember.backends()`, cached", warm)
    for b in names:
        add(f"first op on {b}", timed(ember_setup(b), EMBER_OP.format(backend=b, sync=SYNC[b]), n),
            f"plain {b}", timed(NATIVE_SETUP[b], NATIVE_OP[b], n))
    for b in names:
        native = (f"plain {b} ({'torch.autograd.grad' if b == 'torch' else 'mx.grad'})",
                  timed(NATIVE_SETUP[b], NATIVE_GRAD[b], n)) if b in NATIVE_GRAD else ("", None)
        add(f"first tape gradient on {b}",
            timed(ember_setup(b), EMBER_GRAD.format(backend=b, sync=GSYNC[b]), n), *native)
    if not args.no_train:
        for b in names:
            runs = [run_child(TRAIN.format(backend=b)) for _ in range(max(3, n // 5))]
            add(f"digits MLP on {b}, epoch 1", statistics.median(r["first"] for r in runs),
                "median of epochs 2-4", statistics.median(r["later"] for r in runs))

    print(f"\nPython {sys.version.split()[0]}, medians of {n} fresh processes (training: "
          f"{max(3, n // 5)})\n")
    print("| case | ember ms | native | native ms |")
    print("|---|---:|---|---:|")
    for case, ms, ncase, nms in rows:
        print(f"| {case} | {ms:.1f} | {ncase or '—'} | {nms or '—'} |")


if __name__ == "__main__":
    main()
