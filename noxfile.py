"""Test matrix: `uvx nox` runs every session below; `uvx nox -s "tests(backend='mlx')"` one.

Each tests(backend) session installs only ember-core and that backend first and checks that
they work alone; then it adds ember-numpy (the conformance kit's reference answer, not a
backend under test) and ember-nn, and runs ember-core's, the backend's and ember-nn's tests
(ember-nn's on that backend: the same models train on each), and ember-mad's.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "typecheck", "tests", "docs", "wheels"]
nox.options.error_on_external_run = True

ROOT = Path(__file__).parent
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PKG = {name: str(ROOT / "packages" / name) for name in
       ("ember-core", "ember-numpy", "ember-torch", "ember-mlx", "ember-nn", "ember-mad")}
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100"]
# safetensors: the reference reader/writer our checkpoint files must match; ncps 1.0.1 and torch:
# the references of the recurrent layers, wirings and liquid cells (torch comes as a plain library
# in the numpy/mlx sessions too, after their standalone check).
# librosa, torchaudio and soundfile: the references of the audio features; tokenizers: text;
# torchmetrics: the reference of ember-mad's macro accuracy
NN_TEST_DEPS = ["safetensors>=0.4", "ncps==1.0.1", "torch>=2.3", "librosa>=0.10",
                "torchaudio>=2.3", "soundfile>=0.12", "tokenizers>=0.15", "torchmetrics>=1.0"]

STANDALONE_CHECK = """
import sys, ember
names = [b.name for b in ember.backends()]
assert names == [{backend!r}], names
info = ember.backends()[0]
assert info.loads and info.error == "", info
x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
assert x.backend == {backend!r} and (x @ x).tolist() == [[7.0, 10.0], [15.0, 22.0]]
print("standalone ok:", info.name, info.native, info.devices)
"""


@nox.session(python=PYTHON)
@nox.parametrize("backend", ["numpy", "torch", "mlx"])
def tests(session: nox.Session, backend: str) -> None:
    """ember-core + one backend alone, then the conformance kit and unit tests."""
    session.install(PKG["ember-core"], PKG[f"ember-{backend}"])
    session.run("ember", "info")
    session.run("python", "-c", STANDALONE_CHECK.format(backend=backend))
    session.install(PKG["ember-numpy"], f"{PKG['ember-nn']}[examples]", PKG["ember-mad"],
                    *TEST_DEPS, *NN_TEST_DEPS)
    paths = ["packages/ember-core/tests", f"packages/ember-{backend}/tests",
             "packages/ember-nn/tests", "packages/ember-mad/tests"]
    session.run("pytest", "-q", "-p", "no:cacheprovider", *paths, *session.posargs,
                env={"EMBER_TEST_BACKEND": backend})


@nox.session(python=PYTHON)
def slow(session: nox.Session) -> None:
    """The conformance kit with 50 generated examples per case (CI runs 6), all backends, and
    the tests that wait for torch.compile (EMBER_SLOW=1).

    Not in the default run (it takes tens of minutes): `uvx nox -s slow`.
    """
    session.install(*PKG.values(), f"{PKG['ember-nn']}[examples]", *TEST_DEPS, *NN_TEST_DEPS)
    session.run("pytest", "-q", "-p", "no:cacheprovider", "packages", *session.posargs,
                env={"EMBER_CONFORMANCE_EXAMPLES": "50", "EMBER_SLOW": "1"})


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """docs/ops.md is what `ember ops --markdown` generates with all three backends installed."""
    session.install(*PKG.values(), *TEST_DEPS)
    session.run("pytest", "-q", "-p", "no:cacheprovider", "packages/ember-core/tests/test_cli.py")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "packages", "benchmarks", "examples", "noxfile.py")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy on every package: ember-core, the three backends (their kernels against NumPy's,
    torch's and MLX's own stubs), ember-nn and ember-mad."""
    session.install("mypy>=1.11", *PKG.values(), "pytest", "hypothesis", "numpy>=2.0")
    modules = {name: "ember" if name == "ember-core" else name.replace("-", "_") for name in PKG}
    session.run("mypy", *(f"packages/{name}/src/{module}" for name, module in modules.items()))


@nox.session(python=PYTHON)
def wheels(session: nox.Session) -> None:
    """Build every package; install the ember-core and ember-mlx wheels alone in a clean venv."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for name in PKG:
        session.run("uv", "build", "--package", name, "--out-dir", str(dist), "-q", external=True)
    core = next(dist.glob("ember_core-*.whl"))
    mlx = next(dist.glob("ember_mlx-*.whl"))
    venv = Path(session.create_tmp()) / "clean"
    shutil.rmtree(venv, ignore_errors=True)
    session.run("uv", "venv", "-q", "--python", PYTHON, str(venv), external=True)
    py = str(venv / ("Scripts" if os.name == "nt" else "bin") / "python")
    session.run("uv", "pip", "install", "-q", "--python", py, str(core), str(mlx), external=True)
    session.run(str(venv / "bin" / "ember"), "info", external=True)
    session.run(py, "-c", STANDALONE_CHECK.format(backend="mlx"), external=True)
