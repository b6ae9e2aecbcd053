"""A gradient tape's state is private to the module that holds it.

Engines never get the tape (they get a ``GradientRequest`` and return ``Gradients``), and no
module other than ``_tape.py`` (the tape's fields) or ``_tracker.py`` (the tracked arrays and
records) reads or writes them; only a tensor's own methods (``Tensor._set_native`` and its
override) replace the array a tensor holds. Checked on the source of every package here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from ember.autodiff._tracker import Tracker

PACKAGES = Path(__file__).resolve().parents[2]
AUTODIFF = PACKAGES / "ember-core" / "src" / "ember" / "autodiff"


def _sources() -> list[Path]:
    files = sorted(PACKAGES.glob("*/src/**/*.py"))
    assert AUTODIFF / "_tape.py" in files
    return files


def _tape_fields() -> set[str]:
    """The attributes GradientTape's methods set on ``self``."""
    tree = ast.parse((AUTODIFF / "_tape.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GradientTape")
    fields = set()
    for node in ast.walk(cls):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                fields.add(t.attr)
    return fields


def _attributes(path: Path) -> list[tuple[int, str]]:
    return [(n.lineno, n.attr) for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Attribute)]


def test_the_field_lists_are_what_the_tape_and_tracker_hold() -> None:
    tape = _tape_fields()
    assert {"_tracker", "_engines", "_persistent", "_swaps", "_watched"} <= tape
    assert {"_ids", "_values", "_records", "_keeps", "_watch_reads"} <= set(Tracker.__slots__)
    assert not tape & set(Tracker.__slots__)  # disjoint: each name has one owner


@pytest.mark.parametrize("owner, fields", [
    ("_tape.py", "tape"),
    ("_tracker.py", "tracker"),
])
def test_only_the_owner_module_touches_the_fields(owner: str, fields: str) -> None:
    names = _tape_fields() if fields == "tape" else set(Tracker.__slots__)
    names -= {"_n", "_b", "_d"}  # a tensor's own fields, not the tape's
    bad = []
    for path in _sources():
        if path == AUTODIFF / owner:
            continue
        bad += [f"{path.relative_to(PACKAGES)}:{line}: .{attr}"
                for line, attr in _attributes(path) if attr in names]
    assert not bad, f"{fields} fields used outside {owner}:\n" + "\n".join(bad)


def test_only_a_tensor_replaces_its_own_array() -> None:
    """``x._n = ...`` is written only as ``self._n`` (in Tensor's and Variable's methods);
    tapes and engines go through ``Tensor._set_native``."""
    bad = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            for t in targets:
                for sub in ast.walk(t):
                    if (isinstance(sub, ast.Attribute) and sub.attr == "_n"
                            and not (isinstance(sub.value, ast.Name) and sub.value.id == "self")):
                        bad.append(f"{path.relative_to(PACKAGES)}:{node.lineno}")
    assert not bad, "a tensor's array replaced from outside:\n" + "\n".join(bad)
