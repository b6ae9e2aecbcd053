"""The arguments of ``GradientTape.gradient`` as the tape uses them, and the structure of its
result: sources and targets as flat lists of tensors, ``output_gradients`` as seeds, and
``unconnected_gradients``. Nothing here sees the tape.

One tensor, or a flat list or tuple of them (a model's variables: the usual sources), is taken
as it is, without building a tree to rebuild the result from (``benchmarks/tape.py``, problem
``vars``, measures the tape's fixed cost per call)."""

from __future__ import annotations

from typing import Any

from .. import _dtypes as dt
from .._errors import ArgumentError, ShapeError
from .._tensor import Tensor
from ._tree import flatten, unflatten

__all__ = ["INEXACT", "finish", "flat", "given_seed", "rebuild", "target_leaves", "unconnected"]

_UNCONNECTED = ("none", "zero")
INEXACT = frozenset(d for d in dt.ALL_DTYPES if d.is_inexact)  # the dtypes with gradients
_ONE: Any = object()  # flat's tree of one tensor
_FLAT: Any = object()  # flat's tree of a list or tuple of tensors


def flat(obj: Any) -> tuple[list[Any], Any]:
    """:func:`~._tree.flatten`, without a tree for one tensor or a flat list or tuple of
    tensors; :func:`rebuild` takes either tree."""
    if isinstance(obj, Tensor):
        return [obj], _ONE
    t = type(obj)
    if t is list or t is tuple:
        for x in obj:
            if not isinstance(x, Tensor):
                return flatten(obj)
        return list(obj), _FLAT
    return flatten(obj)


def rebuild(obj: Any, tree: Any, leaves: list[Any]) -> Any:
    """``leaves`` in the structure of ``obj``, whose :func:`flat` gave ``tree``."""
    if tree is _ONE:
        return leaves[0]
    return type(obj)(leaves) if tree is _FLAT else unflatten(tree, leaves)


def target_leaves(target: Any, output_gradients: Any) -> list[tuple[Tensor, Any]]:
    """The target tensors, each with its given seed (None: ones)."""
    leaves = [target] if isinstance(target, Tensor) else flatten(target)[0]
    for t in leaves:
        if not isinstance(t, Tensor):
            raise ArgumentError(f"gradient: target must hold tensors, got "
                                f"{type(t).__name__}: {t!r:.60}")
    if output_gradients is None:
        return [(t, None) for t in leaves]
    seeds = flatten(output_gradients)[0]
    if len(seeds) != len(leaves):
        raise ArgumentError(f"gradient: {len(seeds)} output_gradients for "
                            f"{len(leaves)} target tensors")
    return list(zip(leaves, seeds))


def given_seed(g: Any, t: Tensor) -> Tensor:
    """An ``output_gradients`` entry for target ``t``, as a tensor of t's shape and dtype."""
    from ..ops._creation import asarray
    from ..ops._dtypes import astype

    g = g if isinstance(g, Tensor) else asarray(g, backend=t._b.root)
    if g.shape != t.shape:
        raise ShapeError(f"gradient: output_gradients of shape {g.shape} for a "
                         f"target of shape {t.shape}; they must match")
    if g.dtype is not t.dtype:
        g = astype(g, t.dtype)
    return g


def unconnected(value: Any) -> bool:
    """``unconnected_gradients``: whether an unconnected source gets zeros (else None)."""
    v = getattr(value, "value", value)  # also an enum with .value, like tf.UnconnectedGradients
    if v not in _UNCONNECTED:
        raise ArgumentError(f"unknown value for unconnected_gradients: {value!r}; "
                            f"use 'none' or 'zero'")
    return v == "zero"


def finish(grads: list[Any], sources: list[Tensor], zero: bool) -> None:
    """The engines' gradients, in place, as ``gradient`` returns them: None for an
    integer-dtype source, and for an unconnected one zeros if ``zero`` (else None)."""
    for i, g in enumerate(grads):
        if g is None:
            if zero:
                s = sources[i]
                grads[i] = _zeros(s) if (s._d or s.dtype) in INEXACT else None
        elif (sources[i]._d or sources[i].dtype) not in INEXACT:
            grads[i] = None


def _zeros(s: Tensor) -> Tensor:
    from ..ops._creation import zeros_like

    return zeros_like(Tensor(s._n, s._b.root, s._d))
