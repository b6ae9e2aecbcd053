"""A backend's ``random_bits`` kernel (a native Philox4x32-10) replaces the composite, and the
conformance kit holds it to the composite's words bit for bit: ember-numpy's kernel passes (and
is what runs), the same kernel one block off fails."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")
np = pytest.importorskip("numpy")
pytest.importorskip("ember_numpy")

import ember  # noqa: E402
from ember.ops._random._philox import philox4x32_scalar  # noqa: E402

FAKE = '''
import ember
from ember._backend import COMPOSITE
from ember.hookspecs import hookimpl

CALLS = []


def _make(name, bits):
    nb = ember.load_backend("numpy")
    ks = {s.kernel_name: getattr(nb.kernels, s.kernel_name) for s in ember.CATALOGUE
          if nb.status[s.name].status != COMPOSITE}
    ks["random_bits"] = bits
    return ember.Backend(
        name=name, version="0", kernels=ks, arrays=nb.arrays, devices=nb.devices,
        capabilities=nb.capabilities)


def create_good():  # ember-numpy's NumPy Philox, counting its calls
    native = ember.load_backend("numpy").kernels.random_bits

    def bits(key, num, device):
        CALLS.append(num)
        return native(key, num, device)

    return _make("philoxnp", bits)


def create_shifted():  # the stream one block (four words) on
    native = ember.load_backend("numpy").kernels.random_bits
    return _make("shiftnp", lambda key, num, device: native(key, num + 4, device)[4:])


class Plugin:
    @hookimpl
    def ember_register_backends(self, register):
        register("philoxnp", "fakebits:create_good")
        register("shiftnp", "fakebits:create_shifted")
'''

CONFTEST = '''
import ember._plugins
import fakebits

ember._plugins.register_plugin(fakebits.Plugin(), name="fakebits")
'''

SELECT = ("random.bits-words or random.bits-key-zero or random.uniform-float32-unit "
          "or random.permutation-n")


def _run_kit(tmp_path: Path, backend: str) -> str:
    (tmp_path / "fakebits.py").write_text(FAKE)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_fake.py").write_text(textwrap.dedent(f'''
        from ember.testing import BackendConformance

        class TestFake(BackendConformance):
            backend = "{backend}"
    '''))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-k", SELECT,
         "test_fake.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])})
    return out.stdout + out.stderr


def test_a_native_philox_kernel_is_used_and_passes_the_kit(tmp_path: Path) -> None:
    out = _run_kit(tmp_path, "philoxnp")
    for case in ("random.bits-words", "random.bits-key-zero", "random.uniform-float32-unit",
                 "random.permutation-n"):
        assert f"PASSED test_fake.py::TestFake::test_random[{case}]" in out, out
    sys.path.insert(0, str(tmp_path))
    try:
        import fakebits  # type: ignore[import-not-found]

        b = fakebits.create_good()
        assert b.status["random.bits"].status == "fused"
        before = len(fakebits.CALLS)
        got = ember.random.bits(ember.random.key(3), (10,), backend=b).numpy()
        assert len(fakebits.CALLS) == before + 1  # the kernel ran, not the composite
        value = ember.random.key(3).value
        want = [w for j in range(3) for w in philox4x32_scalar((j, 0, 0, 0), (
            value & 0xFFFFFFFF, value >> 32))][:10]
        assert got.tolist() == want
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("fakebits", None)


def test_a_kernel_off_by_one_block_fails_the_kit(tmp_path: Path) -> None:
    out = _run_kit(tmp_path, "shiftnp")
    for case in ("random.bits-words", "random.bits-key-zero", "random.uniform-float32-unit",
                 "random.permutation-n"):
        assert f"FAILED test_fake.py::TestFake::test_random[{case}]" in out, out
    assert "the known answers are" in out, out
