"""Module configs as JSON-able data: ``serialize`` / ``deserialize`` and the class registry.

``serialize(module)`` is ``{"class": name, "config": module.get_config()}``: constructor
arguments, nested modules as ``{"__module__": ...}``, dtypes as ``{"__dtype__": name}``, random
keys as ``{"__key__": int}``, activations as ``{"__callable__": name}``. No code, no pickles.

Configs may come from files (checkpoints), so ``deserialize`` checks one whole before building
anything: modules nested at most ``MAX_DEPTH`` deep (``serialize`` refuses deeper models, so
what is saved loads), registered class names, a dict of arguments for each, and tagged values of
the right form (a dtype from an explicit table of ember's dtypes, never ``getattr(ember,
name)``). Anything else is a ``ConfigError`` naming the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ember

from ._activation_names import get as get_activation
from ._activation_names import name_of as activation_name
from ._errors import ConfigError

if TYPE_CHECKING:
    from ._module import Module

__all__ = ["MAX_DEPTH", "deserialize", "registered", "serialize"]

_REGISTRY: dict[str, type[Module]] = {}
#: how deeply modules may nest (a module inside a module ... inside the model), for configs;
#: well inside Python's recursion limit for building, saving and loading
MAX_DEPTH = 64
#: the dtypes a config's {"__dtype__": name} may name
_DTYPES: dict[str, ember.DType] = {d.name: d for d in (
    ember.bool, ember.int8, ember.int16, ember.int32, ember.int64, ember.uint8, ember.uint16,
    ember.uint32, ember.uint64, ember.float16, ember.bfloat16, ember.float32, ember.float64,
    ember.complex64, ember.complex128)}


#: functions that import more Module classes (``ember_nn``'s folders imported on first use:
#: recurrent layers, wirings, blocks), run once before a class name is declared unknown and
#: before the registry is listed
LOADERS: list[Callable[[], Any]] = []


def _load_more() -> bool:
    """Run the pending loaders; whether there were any."""
    ran = bool(LOADERS)
    while LOADERS:
        LOADERS.pop()()
    return ran


def registered() -> dict[str, type[Module]]:
    """Every Module subclass by the name ``serialize`` writes (a copy)."""
    _load_more()
    return dict(_REGISTRY)


def serialize(module: Module) -> dict[str, Any]:
    """``{"class": name, "config": module.get_config()}``: JSON-able, no code or pickles.
    Modules nested more than ``MAX_DEPTH`` deep are refused (they could not be loaded)."""
    from ._module import Module

    if not isinstance(module, Module):
        raise ConfigError(f"serialize: expected an ember_nn.Module, got {type(module).__name__}")
    depth = _nesting(module)
    if depth > MAX_DEPTH:
        raise ConfigError(f"serialize: {type(module).__name__} nests modules {depth} deep, over "
                          f"the limit of {MAX_DEPTH}; flatten the model (a Sequential of "
                          f"layers rather than layers inside layers)")
    return {"class": module.config_name, "config": module.get_config()}


def _nesting(module: Module) -> int:
    """How deeply modules nest inside ``module`` (1: no module inside), without recursion."""
    deepest, stack, seen = 0, [(module, 1)], set()
    while stack:
        m, d = stack.pop()
        deepest = max(deepest, d)
        if id(m) in seen or d > MAX_DEPTH:
            continue
        seen.add(id(m))
        stack.extend((c, d + 1) for c in m.children())
    return deepest


def deserialize(data: Mapping[str, Any]) -> Module:
    """The module ``serialize`` described (built fresh; load weights with load_state_dict).

    The description is checked first (its nesting, class names and tagged values), so a
    damaged or hostile one is a ``ConfigError`` naming the problem, not a crash."""
    _check_description(data)
    return _build(data)


def _build(data: Mapping[str, Any]) -> Module:
    cls = _REGISTRY.get(data["class"])
    if cls is None and _load_more():
        cls = _REGISTRY.get(data["class"])
    if cls is None:
        raise ConfigError(
            f"deserialize: no module class named {data['class']!r:.100} is registered; import "
            f"the module that defines it first (known: {sorted(_REGISTRY)[:12]}...)")
    return cls.from_config(data["config"])


def _check_description(data: Any) -> None:
    """Every ``{"class", "config"}`` inside ``data`` well formed and at most ``MAX_DEPTH``
    modules deep, every tagged value of the right form (an explicit stack: any depth)."""
    stack: list[tuple[Any, int, bool]] = [(data, 1, True)]
    while stack:
        v, depth, is_module = stack.pop()
        if is_module:
            if (not isinstance(v, Mapping) or set(v) != {"class", "config"}
                    or not isinstance(v["class"], str) or not isinstance(v["config"], Mapping)):
                raise ConfigError(f"deserialize: expected {{'class': name, 'config': {{...}}}},"
                                  f" got {v!r:.80}")
            if depth > MAX_DEPTH:
                raise ConfigError(f"deserialize: modules nested more than {MAX_DEPTH} deep "
                                  f"(the limit); this config was not written by serialize")
            stack.extend((x, depth, False) for x in v["config"].values())
        elif isinstance(v, list):
            stack.extend((x, depth, False) for x in v)
        elif isinstance(v, Mapping):
            if len(v) == 1 and "__module__" in v:
                stack.append((v["__module__"], depth + 1, True))
            elif len(v) == 1 and next(iter(v)) in _TAGS:
                tag = next(iter(v))
                if not _TAGS[tag](v[tag]):
                    raise ConfigError(f"deserialize: {{{tag!r}: {v[tag]!r:.60}}} is not "
                                      f"{_TAG_FORMS[tag]}")
            else:
                stack.extend((x, depth, False) for x in v.values())


_FN_TAG = "__callable__"


def _encode(v: Any, where: str) -> Any:
    from ._module import Module

    if isinstance(v, Module):
        return {"__module__": serialize(v)}
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, list | tuple):
        return [_encode(x, where) for x in v]
    if isinstance(v, dict):
        return {str(k): _encode(x, where) for k, x in v.items()}
    if isinstance(v, ember.DType):
        return {"__dtype__": v.name}
    if isinstance(v, ember.random.Key):
        return {"__key__": v.value}
    if callable(v):
        name = activation_name(v)
        if name is not None:
            return {_FN_TAG: name}
    raise ConfigError(
        f"{where}: {type(v).__name__} value {v!r:.60} cannot be written to a JSON config; use "
        f"numbers, strings, lists, dicts, dtypes, modules or a named activation")


_TAGS = {
    "__dtype__": lambda x: isinstance(x, str) and x in _DTYPES,
    "__key__": lambda x: isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**64,
    _FN_TAG: lambda x: isinstance(x, str),
}
_TAG_FORMS = {
    "__dtype__": f"the name of an ember dtype ({', '.join(_DTYPES)})",
    "__key__": "a random key (an int in [0, 2**64))",
    _FN_TAG: "an activation's name",
}


def _decode(v: Any) -> Any:
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"__module__"}:
            return _build(v["__module__"])
        if len(v) == 1 and next(iter(v)) in _TAGS:
            tag, x = next(iter(v.items()))
            if not _TAGS[tag](x):
                raise ConfigError(f"deserialize: {{{tag!r}: {x!r:.60}}} is not {_TAG_FORMS[tag]}")
            if tag == "__dtype__":
                return _DTYPES[x]
            if tag == "__key__":
                return ember.random.Key(x)
            return get_activation(x)
        return {k: _decode(x) for k, x in v.items()}
    return v


