"""``ember ops --where NAME``: where one op lives at every layer of the code.

An op has one name and one topic (its catalogue group); the topic names the module at each
layer (``docs/architecture.md``). This prints, for one op, the file and line of its catalogue
entry, its public function, its VJP rule and each installed backend's kernel, so a newcomer
goes from a name to the code without searching.
"""

from __future__ import annotations

import difflib
import inspect
import sys
from pathlib import Path
from typing import Any

from ._catalogue import BY_NAME, OpSpec
from ._errors import ArgumentError

__all__ = ["where"]


def _spec(name: str) -> OpSpec:
    spec = BY_NAME.get(name.removeprefix("ember."))
    if spec is None:  # a kernel name: linalg_solve -> linalg.solve
        spec = next((s for s in BY_NAME.values() if s.kernel_name == name), None)
    if spec is None:
        close = difflib.get_close_matches(name, list(BY_NAME), n=4)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `ember ops` lists them"
        raise ArgumentError(f"no op named {name!r} in the catalogue{hint}")
    return spec


def _location(obj: Any) -> str:
    """``package/module.py:line`` of a function, relative to its top package's parent."""
    fn = inspect.unwrap(obj)
    try:
        file = inspect.getsourcefile(fn)
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):  # a builtin or a native library's function
        module = getattr(fn, "__module__", None) or type(fn).__module__
        return f"{module}.{getattr(fn, '__qualname__', repr(fn))} (native, no Python source)"
    if file is None:
        return repr(fn)
    top = sys.modules.get((getattr(fn, "__module__", "") or "").partition(".")[0])
    root = Path(top.__file__).parent.parent if top is not None and top.__file__ else None
    path = Path(file)
    if root is not None and path.is_relative_to(root):
        path = path.relative_to(root)
    return f"{path.as_posix()}:{line}"


def _catalogue_line(spec: OpSpec) -> str:
    from . import _catalogue

    lines, _ = inspect.getsourcelines(_catalogue)
    number = next(i for i, text in enumerate(lines, 1) if text.startswith(f"{spec.name} |"))
    return f"{_location(_catalogue.OpSpec).rpartition(':')[0]}:{number}"


def _public(spec: OpSpec) -> Any:
    import ember

    obj: Any = ember
    for part in spec.name.split("."):
        obj = getattr(obj, part, None)
    return obj


def where(name: str) -> str:
    """The locations of op ``name`` (public, ``linalg.solve``, or kernel, ``linalg_solve``)."""
    from ._backend import UNSUPPORTED
    from ._plugins import installed_names, load_backend
    from .autodiff.rules import RULES

    spec = _spec(name)
    kind = "primitive" if spec.primitive else "composite"
    rows = [("catalogue", _catalogue_line(spec) + f"  {spec.kernel}")]
    public = _public(spec)
    rows.append(("function", _location(public) if public is not None else "-"))
    rule = RULES.get(spec.kernel_name)
    rows.append(("vjp rule", _location(rule.vjp) if rule is not None else
                 "- (composite: differentiated through its ops)" if not spec.primitive else
                 "- (not differentiable)"))
    for backend in installed_names():
        try:
            b = load_backend(backend)
        except Exception as exc:  # shown, not raised: the other layers are still worth seeing
            rows.append((backend, f"- (does not load: {type(exc).__name__}: {exc})"))
            continue
        fn = getattr(b.kernels, spec.kernel_name)
        status = b.status[spec.name]
        if fn is None:
            rows.append((backend, "- (runs ember-core's composite)"))
        elif status.status == UNSUPPORTED:
            rows.append((backend, f"- (unsupported: {status.note})"))
        else:
            rows.append((backend, _location(fn)))
    width = max(len(label) for label, _ in rows)
    head = f"{spec.name} ({kind}, topic {spec.group}): {spec.summary}"
    return "\n".join([head, *(f"  {label:{width}s}  {text}" for label, text in rows)])
