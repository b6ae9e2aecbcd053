"""What the layers share: checks of their arguments, the brief repr, and variables built from
initialiser arguments (placeholders under ``deferred_init``)."""

from __future__ import annotations

import inspect
from typing import Any

import ember

from .. import init
from .._core import _deferred
from .._core._activation_names import name_of
from .._core._errors import ConfigError
from .._core._module import Module, _short

__all__ = ["brief_repr", "layer_dtype", "new_variable", "positive_int", "resolve_init"]


def positive_int(layer: str, name: str, value: Any) -> int:
    """``value`` if it is a positive int (not a bool), else a ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value


def brief_repr(module: Module) -> str:
    """The constructor arguments worth reading: positional ones always, keyword-only ones where
    they differ from their defaults (``key`` never)."""
    sig = inspect.signature(type(module).__init__)
    parts = []
    for p in list(sig.parameters.values())[1:]:
        if p.name not in module._config or p.name == "key":
            continue
        v = module._config[p.name]
        if isinstance(v, Module) or p.kind is p.VAR_POSITIONAL:
            continue
        if p.kind is p.KEYWORD_ONLY and (v is p.default or v == p.default):
            continue
        shown = repr(name_of(v)) if callable(v) and name_of(v) else _short(v)
        parts.append(shown if p.kind is p.POSITIONAL_OR_KEYWORD else f"{p.name}={shown}")
    return ", ".join(parts)


def layer_dtype(layer: str, dtype: Any) -> ember.DType:
    """A layer's parameter dtype: float32 for None, else a real floating ember dtype."""
    if dtype is None:
        return ember.float32
    if not isinstance(dtype, ember.DType) or not dtype.is_floating:
        raise ember.DTypeError(f"{layer}: dtype must be None (float32) or a real floating ember "
                               f"dtype such as ember.float64, got {dtype!r}")
    return dtype


def resolve_init(module: Any, arg: str, spec: Any) -> init.Initializer:
    """The initialiser for ``module``'s constructor argument ``arg``; where the argument is a
    known function (or a partial of one), its config entry becomes the JSON-able name/dict."""
    fn = init.get(spec)
    cfg = getattr(module, "_config", {})
    if arg in cfg and cfg[arg] is spec and callable(spec):
        named = init.spec_of(spec)
        if named is not None:
            cfg[arg] = named
    return fn


def new_variable(layer: str, fn: init.Initializer, key: Any, shape: tuple[int, ...],
                 dtype: ember.DType, name: str, *, trainable: bool = True) -> ember.Variable:
    """``ember.Variable(fn(key, shape, dtype))``, checking what a custom initialiser returned;
    under ``_deferred.deferred_init()`` a placeholder instead (``fn`` is not called)."""
    if _deferred.deferring():
        return ember.Variable(_deferred.placeholder(shape, dtype), trainable=trainable, name=name)
    value = fn(key, shape, dtype)
    if not isinstance(value, ember.Tensor):
        value = ember.asarray(value, dtype=dtype)
    if value.shape != shape:
        raise ember.ShapeError(f"{layer}: the {name} initialiser returned shape {value.shape}, "
                               f"need {shape}")
    if value.dtype is not dtype:
        value = ember.astype(value, dtype)
    return ember.Variable(value, trainable=trainable, name=name)
