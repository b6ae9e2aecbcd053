"""ember-nn may import ``ember`` and the standard library, nothing of a backend."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "ember_nn"
ALLOWED_ROOTS = {"ember", "ember_nn", "__future__"} | set(sys.stdlib_module_names)
# optional libraries that are not array backends, imported lazily (importlib) by one module each
OPTIONAL = {"pipelines/_datasets.py": {"sklearn"}, "pipelines/_plot.py": {"matplotlib"},
            # the pendulum job's trajectory picture (the wiring picture: ember_nn.wirings)
            "pipelines/_sequences.py": {"matplotlib"},
            # interop: reads an ncps torch module, importing torch and ncps when called
            "io/_ncps.py": {"ncps", "torch"},
            # interop: reads a torch.nn recurrent module, importing torch when called
            "io/_interop.py": {"torch"},
            # text features: a byte-level BPE (the text extra), imported when one is built
            "features/_text.py": {"tokenizers"},
            # audio files (the audio extra), imported when one is read or written
            "features/_audio_io.py": {"soundfile"}}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant)):
            roots.add(str(node.args[0].value).split(".")[0])
    return roots


def test_sources_import_only_ember_and_the_standard_library() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert files, "no ember_nn sources found"
    bad = {str(f.relative_to(SRC)): sorted(_imported_roots(f) - ALLOWED_ROOTS
                                           - OPTIONAL.get(f.relative_to(SRC).as_posix(), set()))
           for f in files}
    assert {f: r for f, r in bad.items() if r} == {}


def test_importing_ember_nn_loads_no_array_library() -> None:
    code = ("import sys, json, ember_nn; "
            "print(json.dumps(sorted(m for m in ('numpy', 'torch', 'mlx', 'jax') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_rule_check_catches_a_backend_import(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text("import os, importlib\nfrom torch import nn\nimport ember\n"
                     "def f():\n    import ember_numpy.kernels\n"
                     "importlib.import_module('mlx.core')\n")
    assert _imported_roots(leaky) - ALLOWED_ROOTS == {"torch", "mlx", "ember_numpy"}
