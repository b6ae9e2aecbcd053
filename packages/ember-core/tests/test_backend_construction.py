"""Building an ``ember.Backend``: the typed kernel table, the grouped arguments, and the clear
errors a plugin author gets for a misspelt kernel or a misplaced argument."""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from pathlib import Path

import ember
import numpy as np
import pytest
from core_support import BACKENDS
from ember import _kernels, _kernels_gen
from ember._catalogue import CATALOGUE
from ember._kernels import Kernels

BASE = "numpy" if "numpy" in BACKENDS else BACKENDS[0]


def _build(name: str, kernels: typing.Any, **kw: typing.Any) -> ember.Backend:
    base = ember.load_backend(BASE)
    args: dict[str, typing.Any] = dict(arrays=base.arrays, devices=base.devices,
                                       capabilities=base.capabilities)
    args.update(kw)
    return ember.Backend(name=name, version="0", kernels=kernels, **args)


def _primitives() -> dict[str, typing.Any]:
    base = ember.load_backend(BASE)
    return {s.kernel_name: getattr(base.kernels, s.kernel_name) for s in CATALOGUE if s.primitive}


def test_the_kernel_table_is_generated_from_the_catalogue() -> None:
    """``ember/_kernels.py`` is what ``python -m ember._kernels_gen`` writes for the catalogue
    as it is now (run it after adding, removing or renaming an op, or changing a kernel
    signature)."""
    assert Path(_kernels.__file__).read_text() == _kernels_gen.render(), (
        "ember/_kernels.py is out of date: run `uv run python -m ember._kernels_gen`")


def test_each_kernel_field_is_typed_with_its_arity() -> None:
    hints = typing.get_type_hints(Kernels)
    specs = {s.kernel_name: s for s in CATALOGUE if s.kernel != "-"}
    assert set(hints) == set(specs) | {"basic_index"}
    for name, hint in hints.items():
        spec = specs.get(name)
        optional = spec is not None and not spec.primitive
        args = typing.get_args(hint)
        if optional:  # a composite: the fused override, or None
            assert type(None) in args, name
            (hint,) = [a for a in args if a is not type(None)]
        assert typing.get_origin(hint) is collections.abc.Callable, name
        params, _ = typing.get_args(hint)
        nparams = len(_kernels_gen.kernel_params(spec)) if spec is not None else 2
        assert params == [typing.Any] * nparams, name
    # nothing resolves unknown attributes: a misspelt kernel is no kernel
    assert not hasattr(ember.Backend, "__getattr__")
    with pytest.raises(AttributeError):
        ember.load_backend(BASE).kernels.ad  # type: ignore[attr-defined]  # noqa: B018


def test_a_misspelt_kernel_is_a_type_error() -> None:
    """mypy rejects a kernel name that is not in the table, and a wrong number of arguments."""
    api = pytest.importorskip("mypy.api", reason="mypy is a dev dependency (uv sync)")
    code = (
        "import ember\n\n"
        "def f(b: ember.Backend) -> None:\n"
        "    b.kernels.add(1, 2)\n"
        "    b.kernels.ad(1, 2)\n"
        "    b.kernels.exp(1, 2)\n"
    )
    out, err, status = api.run(["--no-error-summary", "-c", code])
    assert status == 1, out + err
    assert '<string>:5: error: "Kernels" has no attribute "ad"' in out, out
    assert "<string>:6: error: Too many arguments" in out, out
    assert out.count("error:") == 2, out


def test_a_misspelt_kernel_is_an_error_at_load() -> None:
    kernels = _primitives() | {"nn_sofmax": lambda x, axis: x}
    with pytest.raises(ember.BackendError, match=r"'nn_sofmax' \(did you mean 'nn_softmax'\?\)"
                       r" not a kernel of the op catalogue"):
        _build("typo", kernels)


def test_a_kernel_module_all_names_kernels_only() -> None:
    module = types.ModuleType("mylib_kernels")
    module.__dict__.update(_primitives())
    module.helper = lambda x: x  # type: ignore[attr-defined]
    module.__all__ = [*_primitives(), "helper"]  # type: ignore[attr-defined]
    with pytest.raises(ember.BackendError, match=r"backend 'mod': 'helper' not a kernel"):
        _build("mod", [module])
    module.__all__ = list(_primitives())  # type: ignore[attr-defined]
    b = _build("mod", [module])
    assert b.kernels.add is _primitives()["add"]


def test_a_module_without_all_gives_its_attributes_named_like_kernels() -> None:
    module = types.ModuleType("mylib_kernels")
    module.__dict__.update(_primitives())
    module.np = np  # type: ignore[attr-defined]  # an import is no kernel
    b = _build("plain", module)
    assert b.kernels.exp is _primitives()["exp"]


def test_basic_index_is_a_hook_not_a_kernel() -> None:
    with pytest.raises(ember.BackendError, match=r"basic_index is a hook.*BackendHooks"):
        _build("bi", _primitives() | {"basic_index": lambda x, key: x[key]})
    calls = []

    def basic_index(x: typing.Any, key: tuple[typing.Any, ...]) -> typing.Any:
        calls.append(key)
        return x[key]

    b = _build("bi", _primitives(), hooks=ember.BackendHooks(basic_index=basic_index))
    assert b.kernels.basic_index is basic_index
    x = ember.asarray([[1.0, 2.0], [3.0, 4.0]], backend=b)
    assert x[:, 1].tolist() == [2.0, 4.0] and calls == [(slice(None), 1)]
    # without the hook, basic keys go to the getitem kernel
    assert _build("bi2", _primitives()).kernels.basic_index is _primitives()["getitem"]


@pytest.mark.parametrize(("arg", "value", "kind"), [
    ("hooks", {"compiler": None}, "BackendHooks"),
    ("arrays", (np.ndarray,), "NativeArrays"),
    ("devices", lambda: ["cpu"], "NativeDevices"),
    ("capabilities", {"cpu": frozenset()}, "Capabilities"),
])
def test_grouped_arguments_are_checked(arg: str, value: typing.Any, kind: str) -> None:
    with pytest.raises(ember.BackendError, match=rf"backend 'bad': {arg} must be an "
                       rf"ember\.{kind}, got {type(value).__name__}"):
        _build("bad", _primitives(), **{arg: value})


def test_fused_overrides_fill_the_composite_fields() -> None:
    calls = []

    def nn_relu(x: typing.Any) -> typing.Any:
        calls.append(x.shape)
        return np.maximum(x, 0)

    plain = _build("plain", _primitives())
    fused = _build("fused", _primitives() | {"nn_relu": nn_relu})
    assert plain.kernels.nn_relu is None and plain.status["nn.relu"].status == "composite"
    assert fused.kernels.nn_relu is nn_relu and fused.status["nn.relu"].status == "fused"
    x = [-1.5, 0.0, 2.5]
    assert ember.nn.relu(ember.asarray(x, backend=plain)).tolist() == [0.0, 0.0, 2.5]
    assert calls == []
    assert ember.nn.relu(ember.asarray(x, backend=fused)).tolist() == [0.0, 0.0, 2.5]
    assert calls == [(3,)]


def test_the_recording_twin_wraps_every_kernel() -> None:
    """The twin's table holds each kernel wrapped; a fused kernel ember has no VJP rule for
    (``nn.one_hot``) is left out, so the composite runs while a tape records."""
    one_hot = (lambda indices, num_classes, dtype:  # noqa: E731
               np.eye(num_classes, dtype=dtype)[indices])
    relu = (lambda x: np.maximum(x, 0))  # noqa: E731
    b = _build("twin", _primitives() | {"nn_relu": relu, "nn_one_hot": one_hot})
    twin = b.recording
    assert twin.root is b and twin.name == b.name
    assert twin.kernels.nn_one_hot is None and b.kernels.nn_one_hot is one_hot
    assert twin.kernels.nn_relu is not None and twin.kernels.nn_relu is not relu
    assert all(getattr(twin.kernels, s.kernel_name) is not getattr(b.kernels, s.kernel_name)
               for s in CATALOGUE if s.primitive)
    x = ember.Variable(np.array([-1.0, 2.0, 3.0]), backend=b)
    with ember.GradientTape() as tape:
        y = ember.sum(ember.nn.relu(x) * x)
    assert tape.gradient(y, x).tolist() == [0.0, 4.0, 6.0]  # d/dx relu(x) * x


def test_the_hooks_may_be_replaced_at_run_time() -> None:
    b = _build("hooks", _primitives())
    assert b.hooks == ember.BackendHooks()
    x = ember.asarray(np.arange(3, dtype=np.float32), backend=b)
    assert x.tobytes() == np.arange(3, dtype="<f4").tobytes()  # the generic to_bytes
    b.hooks = dataclasses.replace(b.hooks, to_bytes=lambda native: b"hooked")
    assert x.tobytes() == b"hooked"


_DOC = Path(__file__).parents[3] / "docs" / "writing-a-backend.md"
_MYLIB = '''
import numpy as np
__version__ = "1.0"
ndarray = np.ndarray
float32, int64, bool_ = np.dtype("float32"), np.dtype("int64"), np.dtype("bool")
to_numpy = np.asarray
'''
_MYLIB_KERNELS = '''
from ember_numpy.kernels import MODULES
__all__ = [k for m in MODULES for k in m.__all__ if k != "linalg_eigh"]
globals().update({k: getattr(m, k) for m in MODULES for k in m.__all__ if k in __all__})
'''


def test_the_documented_example_builds_a_backend(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``ember_mylib/backend.py`` of ``docs/writing-a-backend.md``, run with NumPy as mylib."""
    if "numpy" not in BACKENDS:
        pytest.skip("the example's stand-in library is NumPy (pip install ember-numpy)")
    text = _DOC.read_text()
    start = text.index("```python\n", text.index("`ember_mylib/backend.py`:")) + len("```python\n")
    source = text[start:text.index("```", start)]
    pkg = tmp_path / "ember_mylib"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "backend.py").write_text(source)
    (pkg / "kernels.py").write_text(_MYLIB_KERNELS)
    (tmp_path / "mylib.py").write_text(_MYLIB)
    monkeypatch.syspath_prepend(str(tmp_path))
    from ember_mylib.backend import create_backend

    b = create_backend()
    assert b.name == "mylib" and b.status["linalg.eigh"].status == "unsupported"
    x = ember.asarray([[1.0, 2.0], [3.0, 4.0]], backend=b)
    assert (x @ x).tolist() == [[7.0, 10.0], [15.0, 22.0]] and x[:, 1].tolist() == [2.0, 4.0]
    with pytest.raises(ember.UnsupportedError, match="mylib has no symmetric eigensolver"):
        ember.linalg.eigh(x)


def test_a_backend_written_before_a_later_primitive_still_loads() -> None:
    """A primitive of ``LATER_PRIMITIVES`` missing from a backend makes that op unsupported
    (a plugin published before it keeps loading); any other primitive missing is an error."""
    from ember._catalogue import LATER_PRIMITIVES

    assert "nextafter" in LATER_PRIMITIVES
    old = {k: v for k, v in _primitives().items() if k != "nextafter"}
    b = _build("older", old)
    assert b.status["nextafter"].status == "unsupported"
    assert "joined the op catalogue in ember" in b.status["nextafter"].note
    x = ember.asarray([1.0, 2.0], backend=b)
    with pytest.raises(ember.UnsupportedError, match=r"nextafter is not available on backend "
                       r"'older': the backend has no kernel for it"):
        ember.nextafter(x, 3.0)
    assert ember.add(x, 1.0).tolist() == [2.0, 3.0]  # the rest of the backend works
    with pytest.raises(ember.BackendError, match=r"no kernel and no 'unsupported' entry for: "
                       r"hypot"):
        _build("broken", {k: v for k, v in old.items() if k != "hypot"})


@pytest.mark.parametrize("name", BACKENDS)
def test_the_official_backends_implement_the_later_primitives(name: str) -> None:
    from ember._catalogue import LATER_PRIMITIVES

    b = ember.load_backend(name)
    assert {op: b.status[op].status for op in LATER_PRIMITIVES} == {
        op: "native" for op in LATER_PRIMITIVES}
