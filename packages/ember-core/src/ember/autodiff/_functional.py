"""Functional forms on every backend: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``vmap``.

They follow JAX's signatures. ``grad``/``value_and_grad``/``vjp`` run a GradientTape (so each
backend's own engine does the work), give zeros for inputs the output does not depend on (as
JAX does), and watch only their arguments, not variables read inside. ``jvp`` is the VJP of
the VJP (forward mode from two reverse passes, on any engine). ``vmap`` uses the backend's
own vmap where it has one (torch.func.vmap, mx.vmap) and otherwise, or if that fails, maps
a Python loop over the batch axis and stacks the results.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from .._errors import ArgumentError, DTypeError, EmberError, ShapeError
from .._tensor import Tensor
from ._tape import GradientTape
from ._tree import flatten, unflatten

__all__ = ["grad", "jvp", "value_and_grad", "vjp", "vmap"]


@functools.cache
def _native_vmap(factory: Callable[[], Any]) -> Callable[..., Any] | None:
    """The backend's own vmap: its engine's ``vmap`` (the factory may be the engine class or a
    function that imports and builds it: one engine is built once to read it)."""
    native = getattr(factory, "vmap", None)
    return native if native is not None else getattr(factory(), "vmap", None)


def _argnums(argnums: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    bad = [i for i in nums if not -n <= i < n]
    if bad or not nums:
        raise ArgumentError(f"{name}: argnums {argnums!r} does not fit a call with {n} "
                            f"positional arguments")
    return tuple(i % n for i in nums)


def _tensors(obj: Any, name: str) -> None:
    for leaf in flatten(obj)[0]:
        if not isinstance(leaf, Tensor):
            raise ArgumentError(
                f"{name}: differentiated arguments must be tensors (or nested lists/tuples/"
                f"dicts of them), got {type(leaf).__name__}: {leaf!r:.60}")


def value_and_grad(fn: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False) -> Callable[..., Any]:
    """``fn`` -> a function returning ``(fn(*args), d fn / d args[argnums])``.

    ``fn`` must return a scalar (with ``has_aux=True``: a pair ``(scalar, aux)``, and the
    result is ``((scalar, aux), grads)``). With a tuple ``argnums`` the gradients are a tuple.

    >>> f = ember.value_and_grad(lambda x: ember.sum(x * x))
    >>> value, g = f(ember.tensor([1.0, 2.0]))
    >>> value.item(), g.tolist()
    (5.0, [2.0, 4.0])
    """

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "value_and_grad")
        wrt = [args[i] for i in nums]
        _tensors(wrt, "value_and_grad")
        with GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(wrt)
            out = fn(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise ArgumentError("value_and_grad(has_aux=True): fn must return a pair "
                                        "(scalar, aux)")
                out, aux = out
        if not isinstance(out, Tensor) or out.size != 1:
            raise ShapeError(
                f"value_and_grad: fn must return a scalar tensor, got "
                f"{getattr(out, 'shape', type(out).__name__)}; use ember.vjp or "
                f"GradientTape.jacobian for other outputs")
        if not out.dtype.is_floating:
            raise DTypeError(f"value_and_grad: fn returned a {out.dtype} scalar; it must be "
                             f"floating-point")
        grads = tape.gradient(out, wrt, unconnected_gradients="zero")
        g = grads[0] if isinstance(argnums, int) else tuple(grads)
        return ((out, aux) if has_aux else out), g

    return wrapped


def grad(fn: Callable[..., Any], argnums: int | Sequence[int] = 0,
         has_aux: bool = False) -> Callable[..., Any]:
    """``fn`` -> a function returning d fn / d args[argnums] (``fn`` returns a scalar).

    >>> ember.grad(lambda x: ember.sum(ember.sin(x)))(ember.tensor([0.0])).tolist()
    [1.0]
    """
    vg = value_and_grad(fn, argnums, has_aux)

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapped


def vjp(fn: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(fn(*primals), vjp_fn)``, where ``vjp_fn(cotangent)`` is the tuple of cotangents
    of the primals (``cotangent`` has the structure of the output). With ``has_aux`` fn
    returns ``(out, aux)`` and so does the result: ``(out, vjp_fn, aux)``."""
    _tensors(primals, "vjp")
    tape = GradientTape(persistent=True, watch_accessed_variables=False)
    with tape:
        tape.watch(list(primals))
        out = fn(*primals)
        aux = None
        if has_aux:
            out, aux = out

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        return tuple(tape.gradient(out, list(primals), output_gradients=cotangent,
                                   unconnected_gradients="zero"))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def jvp(fn: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(fn(*primals), J @ tangents)``: the Jacobian-vector product (forward mode), computed
    as the VJP of the (linear) VJP, so it works on every engine.

    >>> out, t = ember.jvp(ember.sin, (ember.tensor([0.0]),), (ember.tensor([2.0]),))
    >>> t.tolist()
    [2.0]
    """
    from ..ops._creation import zeros_like

    primals, tangents = tuple(primals), tuple(tangents)
    _tensors(primals, "jvp")
    if len(tangents) != len(primals):
        raise ArgumentError(f"jvp: {len(tangents)} tangents for {len(primals)} primals")
    for p, t in zip(flatten(primals)[0], flatten(tangents)[0]):
        if not isinstance(t, Tensor) or t.shape != p.shape:
            raise ShapeError(f"jvp: a tangent must be a tensor of its primal's shape "
                             f"{p.shape}, got {getattr(t, 'shape', type(t).__name__)}")
    with GradientTape(watch_accessed_variables=False) as outer:
        with GradientTape(watch_accessed_variables=False) as inner:
            inner.watch(list(primals))
            out = fn(*primals)
        leaves, tree = flatten(out)
        dummies = [zeros_like(Tensor(y._n, y._b.root, y._d)) for y in leaves]  # any value: linear
        outer.watch(dummies)
        back = inner.gradient(out, list(primals), output_gradients=unflatten(tree, dummies),
                              unconnected_gradients="zero")
    t_out = outer.gradient(list(back), dummies, output_gradients=list(tangents),
                           unconnected_gradients="zero")
    return out, unflatten(tree, t_out)


# -- vmap --------------------------------------------------------------------------------------
def vmap(fn: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0) -> Callable[..., Any]:
    """``fn`` mapped over an axis of its arguments: ``in_axes`` is an int or None for all
    arguments or one per positional argument (None: not mapped); ``out_axes`` an int or one per
    output. Native on torch (torch.func.vmap) and MLX (mx.vmap); a loop elsewhere.

    >>> f = ember.vmap(lambda row: ember.sum(row * row))
    >>> f(ember.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [5.0, 25.0]
    """

    @functools.wraps(fn)
    def mapped(*args: Any) -> Any:
        axes = _in_axes(in_axes, len(args))
        _leaves, root = _mapped_leaves(args, axes)
        factory = root.hooks.tape_engine
        native = _native_vmap(factory) if factory is not None else None
        if native is not None:
            try:
                return native(fn, args, axes, out_axes, root)
            except EmberError:
                raise
            except Exception:  # an op the native vmap cannot batch: the loop is the reference
                pass
        return _loop(fn, args, axes, out_axes)

    return mapped


def _in_axes(in_axes: Any, n: int) -> tuple[Any, ...]:
    if in_axes is None or isinstance(in_axes, int):
        return (in_axes,) * n
    axes = tuple(in_axes)
    if len(axes) != n:
        raise ArgumentError(f"vmap: in_axes has {len(axes)} entries for {n} arguments")
    return axes


def _mapped_leaves(args: tuple[Any, ...], axes: tuple[Any, ...]) -> tuple[list[Tensor], Any]:
    from .._backend import current_backend

    leaves = []
    root = None
    for a, ax in zip(args, axes):
        if ax is None:
            continue
        for leaf in flatten(a)[0]:
            if not isinstance(leaf, Tensor):
                raise ArgumentError(f"vmap: mapped arguments must be tensors, got "
                                    f"{type(leaf).__name__}")
            leaves.append(leaf)
            root = root or leaf._b.root
    if not leaves:
        raise ArgumentError("vmap: no argument is mapped (every in_axes entry is None)")
    return leaves, root or current_backend()


def _loop(fn: Callable[..., Any], args: tuple[Any, ...], axes: tuple[Any, ...], out_axes: Any) -> Any:
    from ..ops._manipulation import stack

    sizes = set()
    for a, ax in zip(args, axes):
        if ax is not None:
            for leaf in flatten(a)[0]:
                sizes.add(leaf.shape[ax])
    if len(sizes) != 1:
        raise ShapeError(f"vmap: mapped axes have different sizes {sorted(sizes)}")
    (n,) = sizes
    results = []
    for i in range(n):
        call = []
        for a, ax in zip(args, axes):
            if ax is None:
                call.append(a)
            else:
                leaves, tree = flatten(a)
                call.append(unflatten(tree, [_take(x, ax, i) for x in leaves]))
        results.append(fn(*call))
    first_leaves, tree = flatten(results[0])
    columns = list(zip(*(flatten(r)[0] for r in results))) if n else []
    outs = _out_axes(out_axes, len(first_leaves))
    return unflatten(tree, [stack(list(col), axis=ax) for col, ax in zip(columns, outs)])


def _take(x: Tensor, axis: int, i: int) -> Tensor:
    return x[(slice(None),) * (axis % x.ndim) + (i,)]


def _out_axes(out_axes: Any, n: int) -> tuple[int, ...]:
    if isinstance(out_axes, int):
        return (out_axes,) * n
    axes = tuple(out_axes)
    if len(axes) != n:
        raise ArgumentError(f"vmap: out_axes has {len(axes)} entries for {n} outputs")
    return axes


def native_vmap(library_vmap: Callable[..., Any]) -> Callable[..., Any]:
    """Build a backend's ``vmap(fn, args, axes, out_axes, root)`` from its library's vmap:
    ``library_vmap(f, in_axes)`` maps f over one axis per flat argument, outputs batched first
    (``torch.func.vmap`` and ``mx.vmap`` both can)."""

    def run(fn: Callable[..., Any], args: tuple[Any, ...], axes: tuple[Any, ...], out_axes: Any,
            root: Any) -> Any:
        flat: list[Any] = []
        flat_axes: list[Any] = []
        trees = []
        for a, ax in zip(args, axes):
            leaves, tree = flatten(a)
            trees.append((tree, len(leaves)))
            for leaf in leaves:
                flat.append(leaf._n if isinstance(leaf, Tensor) else leaf)
                flat_axes.append(ax if isinstance(leaf, Tensor) else None)
        out_tree: list[Any] = []

        def inner(*natives: Any) -> Any:
            it = iter(natives)
            call = [unflatten(tree, [_wrap(next(it), root) for _ in range(k)]) for tree, k in trees]
            res = fn(*call)
            leaves, tree = flatten(res)
            out_tree[:] = [tree]
            return tuple(leaf._n for leaf in leaves)

        res = library_vmap(inner, tuple(flat_axes))(*flat)
        leaves = [Tensor(n, root) for n in res]
        outs = _out_axes(out_axes, len(leaves))
        from ..ops._manipulation import moveaxis

        return unflatten(out_tree[0], [moveaxis(t, 0, ax) if ax != 0 else t
                                       for t, ax in zip(leaves, outs)])

    return run


def _wrap(n: Any, root: Any) -> Any:
    return Tensor(n, root) if isinstance(n, root.arrays.types) else n
