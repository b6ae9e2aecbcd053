"""The ``ember`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import ember
import pytest
from core_support import BACKENDS
from ember._cli import ops_markdown

DOCS = Path(__file__).resolve().parents[3] / "docs" / "ops.md"


def ember_cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from ember._cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)


def test_info_lists_backends_versions_devices_and_op_counts() -> None:
    out = ember_cli("info")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"ember {ember.__version__}" in text and f"op catalogue: {len(ember.CATALOGUE)} ops" in text
    assert "default backend:" in text
    for name in BACKENDS:
        row = next(line for line in text.splitlines() if line.split()[:1] == [name])
        assert " yes " in row and "cpu" in row and f"/{len(ember.CATALOGUE)}" in row
        assert f" {name} " in row  # the library column: "numpy 2.4.6"


def test_info_json_is_machine_readable() -> None:
    out = ember_cli("info", "--json")
    data = json.loads(out.stdout)
    assert data["ops"] == len(ember.CATALOGUE)
    names = {b["name"]: b for b in data["backends"]}
    for name in BACKENDS:
        assert names[name]["loads"] is True and "cpu" in names[name]["devices"]


def test_ops_lists_every_op() -> None:
    out = ember_cli("ops")
    lines = out.stdout.splitlines()
    assert len(lines) == len(ember.CATALOGUE)
    assert {line.split()[0] for line in lines} == {s.name for s in ember.CATALOGUE}


@pytest.mark.skipif(set(BACKENDS) != {"numpy", "torch", "mlx"},
                    reason="docs/ops.md is generated with all three official backends installed")
def test_docs_ops_md_is_generated_and_current() -> None:
    out = ember_cli("ops", "--markdown")  # a clean process: no test plugins registered
    assert out.returncode == 0, out.stderr
    assert DOCS.read_text() == out.stdout, "docs/ops.md is stale: run `uv run ember ops --markdown > docs/ops.md`"


def test_ops_markdown_has_a_row_and_status_per_backend() -> None:
    text = ops_markdown()
    for spec in ember.CATALOGUE:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{spec.name}` |"))
        assert row.count("|") == 5 + len(ember.backends(probe=False))


def test_ctrl_c_ends_a_command_with_130_and_no_traceback(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from ember import _cli

    def interrupted(as_json: bool) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(_cli, "info", interrupted)
    assert _cli.main(["info"]) == 130
    assert capsys.readouterr().err == "ember: interrupted\n"
