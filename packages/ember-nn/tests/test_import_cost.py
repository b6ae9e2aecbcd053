"""``import ember_nn`` leaves the folders a model does not need (checkpoints, training,
config-driven runs) until one of their names is used; every public name stays importable."""

from __future__ import annotations

import json
import subprocess
import sys

import ember_nn
import pytest

LAZY_FOLDERS = ("io", "pipelines", "training")


def child(code: str) -> object:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_leaves_checkpoints_training_and_pipelines_unimported() -> None:
    code = ("import sys, json\n"
            "before = set(sys.modules)\n"
            "import ember_nn\n"
            "new = set(sys.modules) - before\n"
            "print(json.dumps(sorted(m for m in new if m.split('.')[:2] in "
            "[['ember_nn', f] for f in ('io', 'pipelines', 'training')] or m in "
            "('hashlib', 'concurrent.futures', 'csv', 'tempfile', 'mmap', 'secrets'))))")
    assert child(code) == []


def test_a_lazy_name_imports_its_folder_and_is_the_folders_object() -> None:
    code = ("import sys, json, ember_nn\n"
            "from ember_nn import Trainer\n"
            "import ember_nn.training as t\n"
            "print(json.dumps([Trainer is t.Trainer, 'ember_nn.io' in sys.modules, "
            "ember_nn.save is ember_nn.io.save, 'ember_nn.io' in sys.modules]))")
    # the training folder does not pull in checkpoints (ModelCheckpoint imports them on use)
    assert child(code) == [True, False, True, True]


def test_every_public_name_is_listed_and_reachable() -> None:
    names = dir(ember_nn)
    assert set(ember_nn.__all__) <= set(names)
    assert set(LAZY_FOLDERS) <= set(names)
    for name in ember_nn.__all__:
        assert getattr(ember_nn, name) is not None
    for folder in LAZY_FOLDERS:
        assert getattr(ember_nn, folder).__name__ == f"ember_nn.{folder}"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'ember_nn' has no attribute 'Trainr'"):
        ember_nn.Trainr  # type: ignore[attr-defined]  # noqa: B018
