"""Cold-start costs: what the first import, op, gradient and backend listing cost in a fresh
process, ember against the native framework.

    uv run python benchmarks/cold_start.py [--runs 15] [--backends numpy,torch,mlx] [--no-train]

Every case runs in a new Python process (``sys.executable -c ...``), ``--runs`` times, and the
table gives medians in milliseconds. The imports are timed twice: without bytecode caching
(``PYTHONDONTWRITEBYTECODE=1``, as on this project's VM, whose site-packages and workspace hold
no .pyc files: every module but the standard library's is compiled at each start) and with it
(a temporary ``PYTHONPYCACHEPREFIX``, as after ``pip install``, which compiles); the other
cases run without unless ``--bytecode`` is given. A child times only its case with
``time.perf_counter`` (``--clock cpu``: its CPU time and that of the processes it waited for,
for a machine other jobs share; the interpreter's own start-up is left out), after the setup
named:

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
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_TIMED = """
import json, sys, time
CLOCK_DEF
{setup}
t0 = clock()
{body}
t1 = clock()
print(json.dumps({{"ms": (t1 - t0) * 1e3}}))
"""
#: the child's clock: wall time, or CPU time (the child's, all its threads, and that of the
#: processes it waited for, as ``ember.backends()``'s probe): what to compare on a machine other
#: jobs share, where wall times swing 3x
CLOCKS = {
    "wall": "clock = time.perf_counter",
    "cpu": ("import resource\n"
            "def clock():\n"
            "    r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "    return time.process_time() + r.ru_utime + r.ru_stime"),
}
CLOCK = {"name": "wall"}

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


def bytecode_env(cached: bool, prefix: str) -> dict[str, str]:
    """Children that read and write compiled bytecode under ``prefix`` (``cached``), or that
    write none (``PYTHONDONTWRITEBYTECODE=1``, as on this project's VM, where the installed
    packages and the workspace have no .pyc files: ``uv sync`` compiles none unless asked, so
    every module but the standard library's is compiled from source at each start)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    if cached:
        env["PYTHONPYCACHEPREFIX"] = prefix
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


BASE_ENV: dict[str, str] = dict(os.environ)


def run_child(code: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter (environment ``env``, else ``BASE_ENV``); its last
    line of output, as JSON."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=BASE_ENV if env is None else env, cwd=ROOT, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}):\n{code}\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _timed_code(setup: str, body: str) -> str:
    return _TIMED.replace("CLOCK_DEF", CLOCKS[CLOCK["name"]]).format(setup=setup, body=body)


def timed(setup: str, body: str, runs: int, env: dict[str, str] | None = None) -> float:
    code = _timed_code(setup, body)
    return statistics.median(run_child(code, env)["ms"] for _ in range(runs))


def backends_times(runs: int) -> tuple[float, float]:
    """Median ms of ``ember.backends()`` with an empty cache directory and with a filled one."""
    body = "ember.backends()"
    cold = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            cold.append(run_child(_timed_code("import ember", body),
                                  {**BASE_ENV, "XDG_CACHE_HOME": d})["ms"])
    with tempfile.TemporaryDirectory() as d:
        env = {**BASE_ENV, "XDG_CACHE_HOME": d}
        run_child(_timed_code("import ember", body), env)
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
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="the children's clock: wall time, or their CPU time (process_time; "
                         "for a machine shared with other jobs)")
    ap.add_argument("--backends", default="numpy,torch,mlx")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--bytecode", action="store_true",
                    help="let the children cache compiled bytecode (in a temporary "
                         "PYTHONPYCACHEPREFIX; the first run of a case fills it); by default "
                         "they compile every module from source, as this VM does")
    args = ap.parse_args()
    CLOCK["name"] = args.clock
    global BASE_ENV
    prefix = tempfile.mkdtemp(prefix="cold-start-pyc-")
    BASE_ENV = bytecode_env(args.bytecode, prefix)
    names = [b for b in args.backends.split(",") if b]
    n = args.runs
    rows: list[tuple[str, float, str, str]] = []  # case, ember ms, native case, native ms

    def add(case: str, ember_ms: float, native_case: str = "", native_ms: float | None = None):
        rows.append((case, ember_ms, native_case, "" if native_ms is None else f"{native_ms:.1f}"))
        print(f"  {case}: {ember_ms:.1f} ms", file=sys.stderr, flush=True)

    for cached in (False, True):
        env = bytecode_env(cached, os.path.join(prefix, f"imports-{cached}"))
        label = "bytecode cached" if cached else "no bytecode cache"
        for module in ("ember", "ember_nn"):
            run_child(_timed_code("", f"import {module}"), env)  # fills the cache
            add(f"`import {module}`, {label}", timed("", f"import {module}", n, env))
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
          f"{max(3, n // 5)}); bytecode {'cached' if args.bytecode else 'not cached'} "
          f"outside the import rows; clock: {args.clock} time of each child (training rows: "
          f"wall)\n")
    print("| case | ember ms | native | native ms |")
    print("|---|---:|---|---:|")
    for case, ms, ncase, nms in rows:
        print(f"| {case} | {ms:.1f} | {ncase or '—'} | {nms or '—'} |")
    shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    main()
