"""The on-disk cache of backend probes (``ember/_probe_cache.py``): a second
``ember.backends()`` starts no child process while nothing has changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from core_support import BACKENDS
from ember import _plugins, _probe_cache


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("EMBER_NO_PROBE_CACHE", raising=False)
    return tmp_path / "ember" / _probe_cache.FILE_NAME


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace the child-process probe by a fake one that records what it was asked."""
    calls: list[list[str]] = []

    def fake(names: list[str]) -> dict[str, dict[str, Any]]:
        calls.append(list(names))
        return {n: {"loads": True, "devices": ["cpu", f"dev-{n}"], "default_device": "cpu",
                    "error": "", "ops": 7 + len(calls)} for n in names}

    monkeypatch.setattr(_plugins, "_probe", fake)
    return calls


def names() -> list[str]:
    return list(BACKENDS)


def test_second_probe_is_answered_from_the_cache(cache_dir: Path, probes: list[list[str]]) -> None:
    first = _plugins._probe_cached(names())
    assert probes == [names()] and cache_dir.is_file()
    second = _plugins._probe_cached(names())
    assert probes == [names()]  # no second probe
    assert second == first
    assert second[names()[0]] == {"loads": True, "devices": ["cpu", f"dev-{names()[0]}"],
                                  "default_device": "cpu", "error": "", "ops": 8}


def test_a_changed_version_probes_again(cache_dir: Path, probes: list[list[str]],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _plugins._probe_cached(names())
    changed = names()[0]
    native = _plugins._registrations[changed].native
    real = _probe_cache._stamp

    def upgraded(dist: str) -> list[Any]:
        stamp = real(dist)
        return [dist, "999.0", *stamp[2:]] if dist == native else stamp

    monkeypatch.setattr(_probe_cache, "_stamp", upgraded)
    again = _plugins._probe_cached(names())
    assert probes == [names(), [changed]]  # only the backend whose native library changed
    assert again[changed]["ops"] == 9
    assert all(again[n]["ops"] == 8 for n in names() if n != changed)
    monkeypatch.setattr(_probe_cache, "_stamp", real)
    _plugins._probe_cached(names())
    assert probes == [names(), [changed], [changed]]  # the downgrade is a change too


def test_visible_devices_are_part_of_the_key(cache_dir: Path, probes: list[list[str]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _plugins._probe_cached(names())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    _plugins._probe_cached(names())
    assert probes == [names(), names()]


def test_an_edited_editable_install_probes_again(tmp_path: Path) -> None:
    src = tmp_path / "src" / "pkg"
    src.mkdir(parents=True)
    (src / "kernels.py").write_text("x = 1\n")
    before = _probe_cache._newest_py(tmp_path)
    os.utime(src / "kernels.py", ns=(before + 10**9, before + 10**9))
    assert _probe_cache._newest_py(tmp_path) == before + 10**9
    # the workspace's own packages are editable installs: their stamp holds the mtime
    stamp = _probe_cache._stamp("ember-core")
    assert stamp[:2] == ["ember-core", "0.1.0"] and len(stamp) == 3 and stamp[2] > 0


@pytest.mark.parametrize("content", [
    b"\x00\xffnot json", b"[1, 2]", b'{"format": 1, "entries": []}',
    b'{"format": 99, "entries": {}}',
])
def test_a_corrupt_cache_file_is_ignored_and_replaced(
    cache_dir: Path, probes: list[list[str]], content: bytes
) -> None:
    cache_dir.parent.mkdir(parents=True)
    cache_dir.write_bytes(content)
    got = _plugins._probe_cached(names())
    assert probes == [names()] and set(got) == set(names())
    assert json.loads(cache_dir.read_text())["format"] == _probe_cache.FORMAT
    _plugins._probe_cached(names())
    assert probes == [names()]


def test_a_malformed_entry_is_probed_again(cache_dir: Path, probes: list[list[str]]) -> None:
    _plugins._probe_cached(names())
    data = json.loads(cache_dir.read_text())
    data["entries"][names()[0]]["info"]["surprise"] = 1  # would break BackendInfo(**info)
    cache_dir.write_text(json.dumps(data))
    _plugins._probe_cached(names())
    assert probes == [names(), [names()[0]]]


def test_an_unwritable_cache_is_ignored(tmp_path: Path, probes: list[list[str]],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # ember/ cannot be made under a file
    monkeypatch.delenv("EMBER_NO_PROBE_CACHE", raising=False)
    assert set(_plugins._probe_cached(names())) == set(names())
    _plugins._probe_cached(names())
    assert probes == [names(), names()]


def test_failed_probes_are_not_cached(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def failing(todo: list[str]) -> dict[str, dict[str, Any]]:
        calls.append(todo)
        return {n: {"loads": False, "error": "ImportError: libx.so"} for n in todo}

    monkeypatch.setattr(_plugins, "_probe", failing)
    assert _plugins._probe_cached(names())[names()[0]]["loads"] is False
    _plugins._probe_cached(names())
    assert calls == [names(), names()] and not cache_dir.exists()


def test_the_cache_can_be_turned_off(cache_dir: Path, probes: list[list[str]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_NO_PROBE_CACHE", "1")
    _plugins._probe_cached(names())
    _plugins._probe_cached(names())
    assert probes == [names(), names()] and not cache_dir.parent.exists()


def test_backends_starts_no_child_process_the_second_time(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("EMBER_NO_PROBE_CACHE", None)
    code = ("import json, subprocess, sys\n"
            "if sys.argv[1] == 'cached':\n"
            "    def refuse(*a, **k): raise AssertionError('a child process was started')\n"
            "    subprocess.run = subprocess.Popen = refuse\n"
            "import ember\n"
            "infos = ember.backends()\n"
            "print(json.dumps([[i.name, i.loads, i.ops, i.devices] for i in infos]))")
    rows = []
    for mode in ("probe", "cached"):
        out = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True,
                             env=env, check=False)
        assert out.returncode == 0, out.stderr
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert rows[0] == rows[1]
    loaded = {name: loads for name, loads, _, _ in rows[1]}
    assert all(loaded[n] is True for n in BACKENDS)


def test_import_ember_leaves_the_plugin_machinery_unimported() -> None:
    """pluggy, importlib.metadata and subprocess are imported when backends are listed or
    loaded, not by ``import ember`` (importlib.metadata alone costs ~20 ms)."""
    code = ("import sys, json\n"
            "before = set(sys.modules)\n"
            "import ember\n"
            "new = set(sys.modules) - before\n"
            "print(json.dumps(sorted(m for m in ('pluggy', 'importlib.metadata', 'subprocess', "
            "'ember.hookspecs') if m in new)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
