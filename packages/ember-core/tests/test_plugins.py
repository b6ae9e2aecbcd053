"""Backend discovery, loading, the default backend and its scoping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import types

import ember
import pytest
from core_support import BACKENDS
from ember import _plugins
from ember.hookspecs import hookimpl
from ember.testing import derived_backend


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, check=False)


def test_import_and_listing_import_no_array_library() -> None:
    code = (
        "import sys, json, ember\n"
        "infos = ember.backends()\n"  # probes in a child process
        "print(json.dumps([sorted(m for m in ('torch', 'mlx', 'numpy') if m in sys.modules), "
        "[i.name for i in infos], [i.loads for i in infos]]))"
    )
    out = run(code)
    assert out.returncode == 0, out.stderr
    imported, names, loads = json.loads(out.stdout.strip().splitlines()[-1])
    assert imported == []
    assert set(BACKENDS) <= set(names)
    assert all(loads[names.index(n)] for n in BACKENDS)


def test_backends_reports_devices_versions_and_ops() -> None:
    infos = {i.name: i for i in ember.backends()}
    for name in BACKENDS:
        i = infos[name]
        assert i.loads is True and i.error == ""
        assert "cpu" in i.devices
        assert i.version == "0.1.0"
        assert i.native.split()[0] == name
        assert 0 < i.ops <= len(ember.CATALOGUE)
    assert sum(i.is_default for i in infos.values()) == 1


def test_unknown_backend_lists_installed_and_names_package() -> None:
    with pytest.raises(ember.BackendNotFoundError) as err:
        ember.load_backend("jax")
    msg = str(err.value)
    assert "'jax'" in msg and "installed backends:" in msg
    for name in BACKENDS:
        assert name in msg
    for name in {"numpy", "torch", "mlx"} - set(BACKENDS):  # the official ones not installed here
        with pytest.raises(ember.BackendNotFoundError, match=f"pip install ember-{name}"):
            ember.set_backend(name)


def test_unknown_backend_in_environment_variable() -> None:
    out = run("import ember; ember.tensor([1.0])", EMBER_BACKEND="nosuch")
    assert out.returncode != 0
    assert "BackendNotFoundError" in out.stderr and "'nosuch'" in out.stderr


@pytest.mark.parametrize("name", BACKENDS)
def test_environment_variable_sets_the_default(name: str) -> None:
    out = run("import ember; print(ember.get_backend(), ember.tensor([1.0]).backend)", EMBER_BACKEND=name)
    assert out.stdout.split() == [name, name], out.stderr


def test_documented_default_when_nothing_is_set() -> None:
    env = {k: v for k, v in os.environ.items() if k != "EMBER_BACKEND"}
    out = subprocess.run([sys.executable, "-c", "import ember; print(ember.get_backend())"],
                         capture_output=True, text=True, env=env, check=False)
    expected = next(n for n in ("numpy", "torch", "mlx") if n in BACKENDS)
    assert out.stdout.strip() == expected, out.stderr


def test_use_backend_is_scoped_and_nests() -> None:
    outer = ember.get_backend()
    for name in BACKENDS:
        with ember.use_backend(name):
            assert ember.get_backend() == name
            assert ember.zeros((2,)).backend == name
            with ember.use_backend(BACKENDS[0]):
                assert ember.get_backend() == BACKENDS[0]
            assert ember.get_backend() == name
        assert ember.get_backend() == outer


def test_use_backend_is_per_thread_context() -> None:
    if len(BACKENDS) < 2:
        pytest.skip("needs two installed backends")
    a, b = BACKENDS[:2]
    seen: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        with ember.use_backend(name):
            barrier.wait()
            seen[name] = ember.ones((1,)).backend

    threads = [threading.Thread(target=work, args=(n,)) for n in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {a: a, b: b}


@pytest.fixture
def fake_plugins():
    """A working fake backend (wrapping the first real one) and one whose factory raises."""
    real = BACKENDS[0]

    def good_factory() -> ember.Backend:
        return derived_backend(real, "fake")

    def bad_factory() -> ember.Backend:
        raise ImportError("libbroken.so: cannot open shared object file")

    mod = types.ModuleType("ember_fake_plugins")
    mod.good_factory = good_factory  # type: ignore[attr-defined]
    mod.bad_factory = bad_factory  # type: ignore[attr-defined]
    sys.modules["ember_fake_plugins"] = mod

    class Plugin:
        @staticmethod
        @hookimpl
        def ember_register_backends(register):  # type: ignore[no-untyped-def]
            register("fake", "ember_fake_plugins:good_factory")
            register("broken", "ember_fake_plugins:bad_factory")

    _plugins.register_plugin(Plugin, name="fake-plugins")
    yield
    _plugins.unregister_plugin("fake-plugins")
    del sys.modules["ember_fake_plugins"]


def test_a_broken_backend_does_not_break_the_others(fake_plugins: None) -> None:
    infos = {i.name: i for i in ember.backends(probe=False)}
    assert {"fake", "broken"} <= set(infos)
    with pytest.raises(ember.BackendError, match=r"libbroken\.so") as err:
        ember.load_backend("broken")
    assert not isinstance(err.value, ember.BackendNotFoundError)
    x = ember.tensor([1.0, 2.0], backend="fake")
    assert x.backend == "fake" and (x * 2).tolist() == [2.0, 4.0]
    infos = {i.name: i for i in ember.backends(probe=False)}
    assert infos["broken"].loads is False and "libbroken.so" in infos["broken"].error
    assert infos["fake"].loads is True


def test_an_incomplete_backend_names_the_missing_kernels() -> None:
    base = ember.load_backend(BACKENDS[0])
    with pytest.raises(ember.BackendError, match=r"incomplete.*\badd\b"):
        ember.Backend(name="half", version="0", kernels={"exp": base.kernels.exp},
                      arrays=base.arrays, devices=base.devices, capabilities=base.capabilities)
