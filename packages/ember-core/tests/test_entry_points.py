"""ember's own entry-point reader (``ember/_entry_points.py``) against ``importlib.metadata``, the
reference it replaces on the first op's path, and the first op's imports (issue 12)."""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys

import pytest
from ember import _entry_points


@pytest.mark.parametrize("group", ["ember.backends", "console_scripts", "pytest11"])
def test_same_entry_points_as_importlib_metadata(group: str) -> None:
    found = _entry_points.find(group)
    assert found is not None
    ours = sorted((ep.name, ep.value) for ep in found)
    theirs = sorted((ep.name, ep.value) for ep in md.entry_points(group=group))
    assert ours == theirs
    if group == "ember.backends":  # every session has at least one backend installed
        assert ours


def test_load_resolves_module_and_attribute() -> None:
    ep = _entry_points.EntryPoint("x", "os.path:join", "os")
    assert ep.load() is __import__("os").path.join
    assert _entry_points.EntryPoint("m", "json", "json").load() is json


def test_section_parsing_ignores_other_groups_and_comments() -> None:
    text = "[a]\nx = m:f\n# c\n[ember.backends]\n; note\nnumpy = ember_numpy.plugin\n\n[b]\ny=z\n"
    assert _entry_points._section(text, "ember.backends") == [("numpy", "ember_numpy.plugin")]


def test_zip_entry_on_sys_path_falls_back(tmp_path, monkeypatch) -> None:
    archive = tmp_path / "lib.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip file
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    assert _entry_points.find("ember.backends") is None


def test_first_op_imports_neither_pluggy_nor_importlib_metadata() -> None:
    """The first op discovers the backends with ember's reader and calls the plugins' hooks
    itself; pluggy is imported only when its manager is asked for."""
    code = ("import sys, json, ember\n"
            "ember.set_backend('numpy')\n"
            "x = ember.asarray([[1.0, 2.0]]); y = (x * x + x).tolist()\n"
            "first = [m for m in ('pluggy', 'importlib.metadata') if m in sys.modules]\n"
            "from ember import _plugins\n"
            "names = sorted(_plugins.plugin_manager().list_name_plugin()[i][0] "
            "for i in range(len(_plugins.plugin_manager().list_name_plugin())))\n"
            "print(json.dumps([y, first, 'pluggy' in sys.modules, names]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    y, first, later, names = json.loads(out.stdout.strip().splitlines()[-1])
    assert y == [[2.0, 6.0]]
    assert first == []
    assert later is True
    assert set(names) == {ep.name for ep in md.entry_points(group="ember.backends")}
