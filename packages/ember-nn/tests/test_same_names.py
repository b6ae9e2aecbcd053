"""A function named alike in ``ember.nn`` and ``ember_nn`` takes the same arguments: the same
parameter names, kinds and defaults, in the same order."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import ember
import ember_nn

#: names ember_nn uses deliberately for something else than ember.nn's function of that name,
#: with the reason (prefer renaming one of them to adding a name here); none today
DIFFERENT: dict[str, str] = {}


def _functions(namespace: Any) -> dict[str, Any]:
    names = getattr(namespace, "__all__", None) or [n for n in vars(namespace)
                                                    if not n.startswith("_")]
    return {n: getattr(namespace, n) for n in names
            if inspect.isfunction(getattr(namespace, n, None))}


def _parameters(fn: Any) -> list[tuple[str, str, Any]]:
    return [(p.name, p.kind.name, p.default) for p in inspect.signature(fn).parameters.values()]


def mismatches(core: Any, nn: Any) -> dict[str, tuple[Any, Any]]:
    """``{name: (ember.nn's parameters, ember_nn's)}`` for every shared name that differs."""
    mine, theirs = _functions(nn), _functions(core)
    shared = sorted(set(mine) & set(theirs) - set(DIFFERENT))
    return {n: (_parameters(theirs[n]), _parameters(mine[n])) for n in shared
            if _parameters(theirs[n]) != _parameters(mine[n])}


def test_functions_named_alike_take_the_same_arguments() -> None:
    shared = set(_functions(ember.nn)) & set(_functions(ember_nn))
    # not a vacuous pass: the activations ember-nn shares with ember.nn are all seen
    assert {"gelu", "relu", "sigmoid", "silu", "softmax", "softplus"} <= shared
    assert mismatches(ember.nn, ember_nn) == {}
    assert set(DIFFERENT) <= shared  # no stale entries


def test_the_check_catches_a_different_signature() -> None:
    def gelu_core(x: Any, /, *, approximate: str = "none") -> Any: ...
    def gelu_bool(x: Any, approximate: bool = False) -> Any: ...
    def relu(x: Any, /) -> Any: ...

    core = SimpleNamespace(gelu=gelu_core, relu=relu, __all__=["gelu", "relu"])
    nn = SimpleNamespace(gelu=gelu_bool, relu=relu, tanh=relu, __all__=["gelu", "relu", "tanh"])
    empty = inspect.Parameter.empty
    assert mismatches(core, nn) == {"gelu": (
        [("x", "POSITIONAL_ONLY", empty), ("approximate", "KEYWORD_ONLY", "none")],
        [("x", "POSITIONAL_OR_KEYWORD", empty), ("approximate", "POSITIONAL_OR_KEYWORD", False)])}
