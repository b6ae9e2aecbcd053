"""One op, one name, one topic at every layer (docs/architecture.md).

An op's catalogue group is its topic, and the topic names the module at every layer: the public
function in ``ember/ops/_<topic>.py``, its VJP rule in ``ember/autodiff/rules/<topic>.py``, each
in-tree backend's kernel in ``<backend>/kernels/<topic>.py`` (a topic grown past ~400 lines
becomes a package of that name). These tests hold the code to that map, and ``ember ops
--where NAME`` prints it for one op.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import re

import ember
import pytest
from ember._catalogue import CATALOGUE, GROUPS
from ember._cli import main
from ember._where import where
from ember.autodiff.rules import RULES

IN_TREE = ("numpy", "torch", "mlx")
_TOPIC = re.compile(r"[a-z][a-z0-9_]*\Z")


def _in(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _public(name: str) -> object:
    obj: object = ember
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def test_topics_are_module_names() -> None:
    bad = [g for g in GROUPS if not _TOPIC.match(g)]
    assert not bad, f"catalogue groups that cannot name a module: {bad}"


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.name)
def test_public_function_lives_in_its_topic(spec) -> None:  # type: ignore[no-untyped-def]
    fn = _public(spec.name)
    module = getattr(fn, "__module__", "")
    assert _in(module, f"ember.ops._{spec.group}"), (
        f"ember.{spec.name} is defined in {module}; its topic is {spec.group!r}: "
        f"move it to ember/ops/_{spec.group}.py")


def test_rules_live_in_their_topic() -> None:
    topic = {s.kernel_name: s.group for s in CATALOGUE}
    wrong = {k: (r.vjp.__module__, topic[k]) for k, r in RULES.items()
             if k in topic and not _in(r.vjp.__module__, f"ember.autodiff.rules.{topic[k]}")}
    assert not wrong, "VJP rules outside their topic's module (kernel: (module, topic)): " + \
        ", ".join(f"{k}: {v}" for k, v in sorted(wrong.items()))


@pytest.mark.parametrize("backend", IN_TREE)
def test_kernels_live_in_their_topic(backend: str) -> None:
    kernels = pytest.importorskip(f"ember_{backend}.kernels")
    topic = {s.kernel_name: s.group for s in CATALOGUE}
    wrong, modules = [], set()
    for module in kernels.MODULES:
        name = module.__name__.removeprefix(f"ember_{backend}.kernels.")
        modules.add(name)
        for kname in getattr(module, "__all__", ()):
            if kname in topic and topic[kname] != name:
                wrong.append(f"{kname} (topic {topic[kname]}) in kernels/{name}")
    assert not wrong, f"ember_{backend}: kernels outside their topic's module: {wrong}"
    assert not sorted(modules - set(GROUPS)), f"kernel modules that are no topic: {modules}"
    found = {m.name for m in pkgutil.iter_modules(kernels.__path__) if not m.name.startswith("_")}
    assert found == modules, f"public kernel modules missing from MODULES: {found - modules}"


def test_where_names_every_layer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ops", "--where", "sort"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sort (primitive, topic sorting)")
    assert "ember/ops/_sorting.py:" in out and "ember/autodiff/rules/sorting.py:" in out
    for backend in IN_TREE:
        if importlib.util.find_spec(f"ember_{backend}") is not None:
            assert f"ember_{backend}/kernels/sorting.py:" in out
    assert "(runs ember-core's composite)" in where("zeros")
    with pytest.raises(ember.ArgumentError, match="did you mean sort"):
        where("sortt")
