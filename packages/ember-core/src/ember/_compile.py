"""``ember.compile``: hand a pure function of tensors to the backend's compiler.

The function is called with the natives of its tensor arguments wrapped back into tensors, so
the backend's compiler (``mx.compile``, ``torch.compile``) traces ember's ops down to its own.
Backends without a compiler (NumPy) run the function as it is; so does any call while a
gradient tape records one of its arguments, so the tape sees every op.

The compiled function carries ``.stats`` (a ``CompileStats``): how many times the backend traced
``fn`` (a trace is a compilation: a new input shape, dtype or constant compiles a new version)
and, when the backend could not compile it, the reason; that fallback also warns once
(``ember.CompileWarning``) and the function runs uncompiled from then on. Each trace is logged
at DEBUG level on the ``ember.compile`` logger with the shapes that caused it.
"""

from __future__ import annotations

import contextvars
import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._errors import ArgumentError
from ._tensor import Tensor
from .autodiff._tree import flatten, unflatten

__all__ = ["CompileStats", "CompileWarning", "checked", "compile", "compiling"]

_tracing: contextvars.ContextVar[bool] = contextvars.ContextVar("ember_compiling", default=False)


def compiling() -> bool:
    """Whether the code runs inside a trace of ``ember.compile`` (values are not on the host:
    checks that read them, like a label range, are for eager code)."""
    return _tracing.get()


def _log() -> Any:
    """The ``ember.compile`` logger (logging is imported with the first trace, not with ember)."""
    import logging

    return logging.getLogger("ember.compile")


class CompileWarning(UserWarning):
    """A backend could not compile a function; it runs uncompiled (the message says why)."""


@dataclass
class CompileStats:
    """What the backend's compiler did with one ``ember.compile``d function."""

    traces: int = 0  #: compilations: the first call and each new shape/dtype/constant
    calls: int = 0  #: calls that went to the backend's compiler
    fallback: str | None = None  #: why the backend could not compile it (then it runs plain)


def compile(fn: Callable[..., Any], /) -> Callable[..., Any]:
    """``fn`` compiled by the backend of its tensor arguments, where that backend compiles.

    ``fn`` must be pure: tensors (in nested lists, tuples and dicts) in, tensors out, no
    reading values on the host (``float(x)``, ``x.tolist()``) and no side effects. Non-tensor
    arguments are constants: a new value compiles a new version. A backend decides when it
    recompiles (MLX and torch: when shapes or dtypes change).

    >>> step = ember.compile(lambda w, g: w - 0.1 * g)
    >>> step(ember.ones((2,)), ember.ones((2,))).tolist()
    [0.9, 0.9]
    """
    if not callable(fn):
        raise ArgumentError(f"ember.compile: expected a function, got {type(fn).__name__}")
    cache: dict[Any, tuple[Callable[..., Any], list[Any]]] = {}
    stats = CompileStats()

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        leaves, tree = flatten((args, kwargs))
        spots = [i for i, x in enumerate(leaves) if isinstance(x, Tensor)]
        if not spots:
            return fn(*args, **kwargs)
        b = leaves[spots[0]]._b
        root = b.root
        compiler = root.hooks.compiler
        if compiler is None or any(leaves[i]._b is not root for i in spots):
            return fn(*args, **kwargs)  # nothing to compile with, or a tape is recording
        key = (root.name, _frozen(tree),
               tuple((i, x) for i, x in enumerate(leaves) if not isinstance(x, Tensor)))
        try:
            entry = cache.get(key)
        except TypeError:  # an unhashable constant: nothing to key a compiled version by
            return fn(*args, **kwargs)
        if entry is None:
            out_tree: list[Any] = [None]
            run = _natively(fn, root, tree, leaves, spots, out_tree, stats)
            entry = cache[key] = (compiler(run), out_tree)
        stats.calls += 1
        outs = entry[0](*[leaves[i]._n for i in spots])
        return unflatten(entry[1][0], [Tensor(n, root, None) for n in outs])

    wrapped.stats = stats  # type: ignore[attr-defined]
    return wrapped


def _frozen(tree: Any) -> Any:
    """A tree definition (see ``autodiff._tree``) as nested tuples: hashable, cheap to key."""
    if tree is None:
        return None
    kind, children, extra = tree
    return (kind, tuple(_frozen(c) for c in children),
            tuple(extra) if isinstance(extra, list) else extra)


def _natively(fn: Callable[..., Any], root: Any, tree: Any, leaves: list[Any], spots: list[int],
              out_tree: list[Any], stats: CompileStats) -> Callable[..., Any]:
    template = [None if i in set(spots) else x for i, x in enumerate(leaves)]
    name = getattr(fn, "__qualname__", type(fn).__name__)

    def run(*natives: Any) -> list[Any]:
        if stats.fallback is None:  # a trace (a plain run once the backend gave up)
            stats.traces += 1
            _log().debug("ember.compile: %s traces %s (compilation %d) for input shapes %s",
                      root.name, name, stats.traces,
                      [tuple(getattr(n, "shape", ())) for n in natives])
        filled = list(template)
        for i, n in zip(spots, natives, strict=True):
            filled[i] = Tensor(n, root, None)
        args, kwargs = unflatten(tree, filled)
        token = _tracing.set(stats.fallback is None)
        try:
            out_leaves, out_def = flatten(fn(*args, **kwargs))
        finally:
            _tracing.reset(token)
        bad = [type(x).__name__ for x in out_leaves if not isinstance(x, Tensor)]
        if bad:
            raise ArgumentError(f"ember.compile: {fn.__name__} must return tensors only "
                                f"(in lists/tuples/dicts), got {bad}")
        out_tree[0] = out_def
        return [x._n for x in out_leaves]

    run.__qualname__ = run.__name__ = name
    run.stats = stats  # type: ignore[attr-defined]
    return run



def checked(compiled: Callable[..., Any], plain: Callable[..., Any],
            sync: Callable[[Any], Any] | None = None) -> Callable[..., Any]:
    """For backends' ``compiler`` hooks: call ``compiled``, checking its first call (``sync``
    forces lazy results, so a deferred compile error shows); if that fails, the function is
    one the backend cannot compile (it reads values on the host, say) and ``plain`` runs from
    then on, with a ``CompileWarning`` naming the reason (and ``plain.stats.fallback`` set when
    ``plain`` is ember.compile's traced function)."""
    state: list[bool | None] = [None]

    def call(*natives: Any) -> Any:
        if state[0] is False:
            return plain(*natives)
        if state[0]:
            return compiled(*natives)
        try:
            out = compiled(*natives)
            if sync is not None:
                sync(out)
        except Exception as exc:
            state[0] = False
            reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            stats = getattr(plain, "stats", None)
            if stats is not None:
                stats.fallback = reason
            name = getattr(plain, "__qualname__", "the function")
            warnings.warn(f"ember.compile: the backend could not compile {name} ({reason}); it "
                          f"runs uncompiled from now on", CompileWarning, stacklevel=3)
            return plain(*natives)
        state[0] = True
        return out

    return call
