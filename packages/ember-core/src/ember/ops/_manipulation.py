"""Shape manipulation ops (Array API "manipulation functions")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import _dtypes as dt
from .._dispatch import backend_of, broadcast_shapes, cast_native, fail, norm_axes, norm_axis
from .._errors import EmberError, OutOfBoundsError, ShapeError
from .._tensor import Tensor
from ..autodiff._variables import Variable as V
from ._creation import asarray

__all__ = [
    "broadcast_arrays", "broadcast_to", "concat", "expand_dims", "flip", "moveaxis",
    "permute_dims", "repeat", "reshape", "roll", "squeeze", "stack", "tile", "unstack",
]

T = Tensor


def _t(x: Any) -> Tensor:
    return x if type(x) is T else asarray(x)


def reshape(x: Any, /, shape: Any, *, copy: bool | None = None) -> Tensor:
    """x with a new shape of the same size; one entry may be -1."""
    if (type(x) is T or type(x) is V) and type(shape) is tuple and copy is None:
        b = x._b
        try:
            return T(b.kernels.reshape(x._n, shape, None), b, x._d)
        except Exception:
            pass
    x = _t(x)
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    size = x.size
    unknown = [i for i, s in enumerate(shape) if s == -1]
    known = math.prod(s for s in shape if s != -1)
    if len(unknown) > 1 or any(s < -1 for s in shape) or (
        (unknown and (known == 0 or size % known)) or (not unknown and known != size)
    ):
        raise ShapeError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({size} elements) into {shape}"
        )
    try:
        return T(x._b.kernels.reshape(x._n, shape, copy), x._b)
    except Exception as exc:
        raise fail("reshape", (x,), exc) from exc


def broadcast_to(x: Any, /, shape: Any) -> Tensor:
    """x broadcast to shape (NumPy broadcasting rules)."""
    x = _t(x)
    shape = tuple(int(s) for s in shape)
    if len(shape) < x.ndim or any(
        a != 1 and a != s for a, s in zip(x.shape[::-1], shape[::-1], strict=False)
    ):
        raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return T(x._b.kernels.broadcast_to(x._n, shape), x._b)


def broadcast_arrays(*arrays: Any) -> list[Tensor]:
    """Broadcast tensors against each other."""
    ts = [_t(a) for a in arrays]
    backend_of("broadcast_arrays", *ts)
    shape = broadcast_shapes("broadcast_arrays", *(t.shape for t in ts), args=ts)
    return [t if t.shape == shape else broadcast_to(t, shape) for t in ts]


def _same(op: str, arrays: Sequence[Any]) -> tuple[Any, list[Any], dt.DType]:
    if isinstance(arrays, Tensor) or not isinstance(arrays, (list, tuple)) or not arrays:
        raise EmberError(f"{op} takes a non-empty list or tuple of tensors")
    b = backend_of(op, *arrays)
    ts = [a if isinstance(a, Tensor) else asarray(a, backend=b) for a in arrays]
    d = dt.result_dtype(*(t.dtype for t in ts))
    return b, [cast_native(b, t._n, d) for t in ts], d


def concat(arrays: Sequence[Any], /, *, axis: int | None = 0) -> Tensor:
    """Join tensors along an existing axis (axis=None flattens them first)."""
    if type(axis) is int and axis >= 0 and type(arrays) in (list, tuple) and arrays:
        first = arrays[0]
        if type(first) is T or type(first) is V:
            b, d = first._b, first._d or first.dtype
            ns = []
            for a in arrays:
                if (type(a) is not T and type(a) is not V) or a._b is not b or (a._d or a.dtype) is not d:
                    break
                ns.append(a._n)
            else:
                try:
                    return T(b.kernels.concat(ns, axis), b, d)
                except Exception:
                    pass  # the checked path below explains the problem
    b, ns, _ = _same("concat", arrays)
    ts = [T(n, b) for n in ns]
    if axis is not None:
        nd = ts[0].ndim
        if nd == 0:
            raise ShapeError("concat: 0-d tensors cannot be concatenated; use stack")
        axis = norm_axis("concat", axis, nd)
        ref = ts[0].shape
        for t in ts[1:]:
            s = t.shape
            if len(s) != nd or any(s[i] != ref[i] for i in range(nd) if i != axis):
                raise ShapeError(
                    f"concat along axis {axis}: shapes {[t.shape for t in ts]} differ off that axis"
                )
    return T(b.kernels.concat(ns, axis), b)


def stack(arrays: Sequence[Any], /, *, axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    b, ns, _ = _same("stack", arrays)
    shapes = {tuple(n.shape) for n in ns}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors need one shape, got {sorted(shapes)}")
    axis = norm_axis("stack", axis, len(ns[0].shape) + 1)
    return T(b.kernels.stack(ns, axis), b)


def expand_dims(x: Any, /, axis: int = 0) -> Tensor:
    """Insert a length-1 axis at position axis (-x.ndim - 1 <= axis <= x.ndim)."""
    x = _t(x)
    nd = x.ndim
    if type(axis) is int and not -nd - 1 <= axis <= nd:
        raise OutOfBoundsError(
            f"expand_dims: axis {axis} is out of range for a tensor of rank {nd} "
            f"(valid: {-nd - 1}..{nd})"
        )
    axis = norm_axis("expand_dims", axis, nd + 1)
    return T(x._b.kernels.expand_dims(x._n, axis), x._b)


def squeeze(x: Any, /, axis: int | tuple[int, ...]) -> Tensor:
    """Remove the given length-1 axes."""
    x = _t(x)
    axes = norm_axes("squeeze", axis, x.ndim) or ()
    bad = [a for a in axes if x.shape[a] != 1]
    if bad:
        raise ShapeError(f"squeeze: axes {bad} of shape {x.shape} are not of length 1")
    return T(x._b.kernels.squeeze(x._n, axes), x._b)


def flip(x: Any, /, *, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """Reverse the order of elements along axes (all axes when None)."""
    x = _t(x)
    return T(x._b.kernels.flip(x._n, norm_axes("flip", axis, x.ndim)), x._b)


def permute_dims(x: Any, /, axes: tuple[int, ...]) -> Tensor:
    """Permute the axes of x."""
    x = _t(x)
    nd = x.ndim
    perm = tuple(norm_axis("permute_dims", a, nd) for a in axes)
    if sorted(perm) != list(range(nd)):
        raise ShapeError(f"permute_dims: {tuple(axes)} is not a permutation of the {nd} axes of {x.shape}")
    return T(x._b.kernels.permute_dims(x._n, perm), x._b)


def moveaxis(x: Any, source: int | tuple[int, ...], destination: int | tuple[int, ...], /) -> Tensor:
    """Move axes of x to new positions, keeping the order of the others."""
    x = _t(x)
    nd = x.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ShapeError(f"moveaxis: source {source} and destination {destination} differ in length")
    src = [norm_axis("moveaxis", a, nd) for a in src]
    dst = [norm_axis("moveaxis", a, nd) for a in dst]
    order = [a for a in range(nd) if a not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return permute_dims(x, tuple(order))


def repeat(x: Any, repeats: Any, /, *, axis: int | None = None) -> Tensor:
    """Repeat each element repeats times (an int or a 1-d integer tensor) along axis."""
    x = _t(x)
    b = x._b
    if axis is not None:
        axis = norm_axis("repeat", axis, x.ndim)
    n = x.shape[axis] if axis is not None else x.size
    if isinstance(repeats, int):
        if repeats < 0:
            raise ShapeError(f"repeat: repeats must be non-negative, got {repeats}")
        r: Any = repeats
    else:
        rt = asarray(repeats, backend=b)
        if not rt.dtype.is_integer or rt.ndim != 1 or rt.shape[0] not in (1, n):
            raise ShapeError(f"repeat: repeats must be an int or a 1-d integer tensor of length {n}")
        r = cast_native(b, rt._n, dt.int64)
    return T(b.kernels.repeat(x._n, r, axis), b)


def roll(x: Any, /, shift: int | tuple[int, ...], *, axis: int | tuple[int, ...] | None = None) -> Tensor:
    """Roll elements along axes (the flattened tensor when axis is None)."""
    x = _t(x)
    if axis is None:
        if not isinstance(shift, int):
            raise ShapeError("roll: with axis=None, shift must be one int")
        return T(x._b.kernels.roll(x._n, shift, None), x._b)
    shifts = (shift,) if isinstance(shift, int) else tuple(shift)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ShapeError(f"roll: shift {shift} and axis {axis} differ in length")
    axes = tuple(norm_axis("roll", a, x.ndim) for a in axes)
    return T(x._b.kernels.roll(x._n, shifts, axes), x._b)


def tile(x: Any, repetitions: tuple[int, ...], /) -> Tensor:
    """Construct a tensor by repeating x the given number of times per axis."""
    x = _t(x)
    reps = tuple(int(r) for r in repetitions)
    if any(r < 0 for r in reps):
        raise ShapeError(f"tile: repetitions must be non-negative, got {reps}")
    return T(x._b.kernels.tile(x._n, reps), x._b)


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Tensor, ...]:
    """Split x into a tuple of tensors along axis."""
    x = _t(x)
    axis = norm_axis("unstack", axis, x.ndim)
    b = x._b
    fused = b.kernels.unstack
    if fused is not None:
        return tuple(T(n, b) for n in fused(x._n, axis))
    lead = (slice(None),) * axis
    return tuple(T(b.kernels.getitem(x._n, (*lead, i)), b) for i in range(x.shape[axis]))



