"""ember-nn's folders import only to their left in DESIGN.md's order ("ember-nn layout"):

    _core < init < layers, features < recurrent, wirings, mixers < blocks
          < losses, metrics, optim < io, data < training < pipelines

Folders on one level (recurrent, wirings and mixers; losses, metrics and optim) may import one
another; ``init.py`` (the public initialisers) sits just above ``_core``, which imports nothing
else of ember_nn. ``ember_nn/__init__.py`` re-exports everything, so nothing inside the
package imports it. Every ``import`` counts: module level, inside functions and under
``TYPE_CHECKING``, relative or absolute.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ember_nn"
ROOT = "ember_nn/__init__.py"
#: the order of DESIGN.md's "ember-nn layout": a folder imports folders of a lower rank or of
#: its own rank only (recurrent/, wirings/, mixers/ and blocks/ come with later issues)
RANK = {
    "_core": 0, "init": 1, "layers": 2, "features": 2, "recurrent": 3, "wirings": 3,
    "mixers": 3, "blocks": 4, "losses": 5, "metrics": 5, "optim": 5, "io": 6, "data": 6,
    "training": 7, "pipelines": 8,
    ROOT: 9,
}
#: what may sit directly in ember_nn/ besides the folders of RANK
LOOSE = {"__init__.py", "py.typed", "init.py"}


def _folder(parts: tuple[str, ...]) -> str:
    """The layer of a module given as a path inside the package (``("layers", "_dense")``)."""
    if not parts or parts == ("__init__",):
        return ROOT
    return parts[0]


def _imports(path: Path, src: Path) -> list[tuple[int, str]]:
    """``(line, folder)`` for every import of ember_nn in ``path`` (a file under ``src``)."""
    rel = path.relative_to(src).with_suffix("")
    package = ("ember_nn", *rel.parts[:-1])  # the package a relative import starts from
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = tuple(alias.name.split("."))
                if parts[0] == "ember_nn":
                    found.append((node.lineno, _folder(parts[1:])))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
            else:
                base = ()
            base += tuple(node.module.split(".")) if node.module else ()
            if not base or base[0] != "ember_nn":
                continue
            if len(base) > 1:
                found.append((node.lineno, _folder(base[1:])))
                continue
            for alias in node.names:  # from ember_nn import x: a folder or module, or a name
                known = alias.name in RANK or (src / f"{alias.name}.py").exists()
                found.append((node.lineno, alias.name if known else ROOT))
    return found


def violations(src: Path) -> list[str]:
    """Every import of a folder to the right of the importing one, and every entry of the
    package that is not placed in the order, as ``"file:line imports folder/"`` lines."""
    problems = []
    for entry in sorted(src.iterdir()):
        if entry.name == "__pycache__":
            continue
        if entry.name not in LOOSE and not (entry.is_dir() and entry.name in RANK):
            problems.append(f"{entry.name}: not a folder of the layering order; add it to "
                            f"DESIGN.md's layout and to RANK")
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        here = _folder(rel.with_suffix("").parts)
        if here not in RANK:
            continue  # reported above
        for line, target in _imports(path, src):
            if target == here:
                continue
            if target not in RANK or RANK[target] > RANK[here]:
                shown = "ember_nn/__init__.py (the package)" if target == ROOT else f"{target}/"
                problems.append(f"ember_nn/{rel.as_posix()}:{line} imports {shown}, which is "
                                f"to the right of {here}/")
    return problems


def test_every_folder_imports_only_to_its_left() -> None:
    assert SRC.is_dir() and (SRC / "_core").is_dir()
    assert violations(SRC) == []


def test_the_check_names_each_violation(tmp_path: Path) -> None:
    src = tmp_path / "ember_nn"
    files = {
        "__init__.py": "from .layers import Dense\nfrom .training import fit\n",
        "init.py": "from ._core import ConfigError\n",
        "_core/__init__.py": "",
        "_core/_module.py": (
            "from typing import TYPE_CHECKING\n"
            "from . import _errors\n"
            "if TYPE_CHECKING:\n"
            "    from ..layers._dense import Dense\n"
            "def f():\n"
            "    import ember_nn.training._trainer\n"),
        "_core/_errors.py": "from .. import init\n",
        "layers/__init__.py": "from ._dense import Dense as Dense\n",
        "layers/_dense.py": (
            "from .. import init\n"
            "from .._core._module import Module\n"
            "def save():\n"
            "    from ember_nn.io import save\n"
            "    from ember_nn import Module\n"),
        "losses/_mse.py": "from ..metrics import accuracy\nfrom ..optim import SGD\n",
        "io/_checkpoint.py": "from ..optim._base import Optimizer\nfrom ..training import fit\n",
        "extras/_thing.py": "",
    }
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    assert violations(src) == [
        "extras: not a folder of the layering order; add it to DESIGN.md's layout and to RANK",
        "ember_nn/_core/_errors.py:1 imports init/, which is to the right of _core/",
        "ember_nn/_core/_module.py:4 imports layers/, which is to the right of _core/",
        "ember_nn/_core/_module.py:6 imports training/, which is to the right of _core/",
        "ember_nn/io/_checkpoint.py:2 imports training/, which is to the right of io/",
        "ember_nn/layers/_dense.py:4 imports io/, which is to the right of layers/",
        "ember_nn/layers/_dense.py:5 imports ember_nn/__init__.py (the package), which is to "
        "the right of layers/",
    ]
