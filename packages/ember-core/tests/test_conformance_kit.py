"""Tests of the conformance kit itself: coverage of the catalogue, and that the kit fails a
wrong backend, reports declared gaps as expected failures and fails a backend that cannot load."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")
pytest.importorskip("ember_numpy")

from ember._catalogue import CATALOGUE
from ember.testing import BackendConformance, load_all
from ember.testing._suite import _runs, covered_ops

FAKE = '''
import numpy as np
import ember
from ember._backend import COMPOSITE
from ember.hookspecs import hookimpl


def _kernels():
    nb = ember.load_backend("numpy")
    ks = {s.kernel_name: getattr(nb.kernels, s.kernel_name) for s in ember.CATALOGUE
          if nb.status[s.name].status != COMPOSITE}
    return nb, ks


def _make(name, ks, unsupported=None):
    nb = ember.load_backend("numpy")
    return ember.Backend(
        name=name, version="0", kernels=ks, arrays=nb.arrays, devices=nb.devices,
        capabilities=nb.capabilities, unsupported=unsupported or {})


def create_wrong():
    nb, ks = _kernels()
    ks["exp"] = lambda x: np.exp(x) * np.asarray(1.001, x.dtype)  # 0.1 % off: must fail
    ks.pop("linalg_eigh")
    return _make("wrongnp", ks, {"linalg.eigh": "the fake backend has no eigh"})


def create_broken():
    raise RuntimeError("cannot initialise the device")


class Plugin:
    @hookimpl
    def ember_register_backends(self, register):
        register("wrongnp", "fakebk:create_wrong")
        register("brokennp", "fakebk:create_broken")
'''

CONFTEST = '''
import ember._plugins
import fakebk

ember._plugins.register_plugin(fakebk.Plugin(), name="fakebk")
'''


def _run_kit(tmp_path: Path, backend: str, select: str) -> str:
    (tmp_path / "fakebk.py").write_text(FAKE)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_fake.py").write_text(textwrap.dedent(f'''
        from ember.testing import BackendConformance

        class TestFake(BackendConformance):
            backend = "{backend}"
    '''))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-k", select,
         "test_fake.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    return out.stdout + out.stderr


def test_every_catalogue_op_has_a_case() -> None:
    missing = sorted({s.name for s in CATALOGUE} - covered_ops())
    assert not missing, f"ops without a conformance case: {missing}"


def test_cases_name_catalogue_ops_and_ids_are_unique() -> None:
    names = {s.name for s in CATALOGUE} | {"getitem"}
    assert {c.op for c in load_all()} <= names
    ids = [r.id for r in _runs("numpy", "numpy")]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_the_kit_is_a_class_to_subclass() -> None:
    assert BackendConformance.backend == ""
    assert hasattr(BackendConformance, "test_op")


def test_wrong_kernel_fails_and_declared_gap_xfails(tmp_path: Path) -> None:
    out = _run_kit(tmp_path, "wrongnp",
                   "exp-float32-shape or exp-float64-shape or linalg.eigh-float32 or "
                   "add-float32-broadcast")
    assert "FAILED test_fake.py::TestFake::test_op[exp-float32-shape]" in out, out
    assert "FAILED test_fake.py::TestFake::test_op[exp-float64-shape]" in out, out
    assert "XFAIL test_fake.py::TestFake::test_op[linalg.eigh-float32-hermitian]" in out, out
    assert "the fake backend has no eigh" in out, out
    assert "PASSED test_fake.py::TestFake::test_op[add-float32-broadcast]" in out, out


def test_backend_that_fails_to_load_fails_every_test(tmp_path: Path) -> None:
    out = _run_kit(tmp_path, "brokennp", "add-float32 or test_error and sum")
    assert "cannot initialise the device" in out, out
    assert " passed" not in out and "skipped" not in out and "xfail" not in out.lower(), out
    assert "failed" in out, out
