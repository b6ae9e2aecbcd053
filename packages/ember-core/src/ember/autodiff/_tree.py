"""Nested structures of tensors (lists, tuples, named tuples, dicts): flatten and rebuild."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["flatten", "map_leaves", "unflatten"]

# a tree definition: None for a leaf, else (kind, children definitions, extra)
TreeDef = Any


def flatten(obj: Any) -> tuple[list[Any], TreeDef]:
    """The leaves of ``obj`` in order, and a definition to rebuild the structure."""
    leaves: list[Any] = []
    return leaves, _flatten(obj, leaves)


def _flatten(obj: Any, leaves: list[Any]) -> TreeDef:
    t = type(obj)
    if t is list or t is tuple:
        return (t, [_flatten(o, leaves) for o in obj], None)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return (t, [_flatten(o, leaves) for o in obj], "named")
    if isinstance(obj, dict):
        keys = list(obj)
        return (type(obj), [_flatten(obj[k], leaves) for k in keys], keys)
    leaves.append(obj)
    return None


def unflatten(tree: TreeDef, leaves: list[Any]) -> Any:
    """Rebuild the structure ``tree`` (from :func:`flatten`) with new leaves."""
    it = iter(leaves)
    return _build(tree, it)


def _build(tree: TreeDef, it: Any) -> Any:
    if tree is None:
        return next(it)
    kind, children, extra = tree
    items = [_build(c, it) for c in children]
    if extra == "named":
        return kind(*items)
    if isinstance(extra, list):
        return kind(zip(extra, items))
    return kind(items)


def map_leaves(fn: Callable[[Any], Any], obj: Any) -> Any:
    leaves, tree = flatten(obj)
    return unflatten(tree, [fn(x) for x in leaves])
