"""VJP rules of the reductions: sum, mean, prod, max, min, var and the cumulative ops."""

from __future__ import annotations

import math
from typing import Any

from ...ops import _elementwise as ew
from ...ops._creation import ones_like
from ...ops._dtypes import astype
from ...ops._manipulation import concat, flip, moveaxis, reshape
from ...ops._scan import associative_scan
from ...ops._statistical import cumulative_prod, cumulative_sum, mean
from ...ops._statistical import sum as _sum
from . import expand_to, vjp


def _count(shape: tuple[int, ...], axes: Any) -> int:
    return math.prod(shape[a] for a in (range(len(shape)) if axes is None else axes))


@vjp("sum")
def _sum_rule(needs: Any, g: Any, out: Any, x: Any, axis: Any, dtype: Any, keepdims: bool) -> tuple[Any]:
    g = expand_to(g, x.shape, axis, keepdims)
    return (astype(g, x.dtype) if g.dtype is not x.dtype else g,)


@vjp("mean")
def _mean_rule(needs: Any, g: Any, out: Any, x: Any, axis: Any, keepdims: bool) -> tuple[Any]:
    n = _count(x.shape, axis)
    return (expand_to(ew.divide(g, float(max(n, 1))), x.shape, axis, keepdims),)


@vjp("var")
def _var_rule(needs: Any, g: Any, out: Any, x: Any, axis: Any, correction: float,
              keepdims: bool) -> tuple[Any]:
    n = _count(x.shape, axis)
    centred = ew.subtract(x, mean(x, axis=axis, keepdims=True))
    scale = 2.0 / (n - correction) if n - correction > 0 else math.nan
    return (ew.multiply(expand_to(g, x.shape, axis, keepdims), ew.multiply(centred, scale)),)


def _minmax(needs: Any, g: Any, out: Any, x: Any, axis: Any, keepdims: bool) -> tuple[Any]:
    """The cotangent goes to the extreme elements, shared equally between ties."""
    ext = expand_to(out, x.shape, axis, keepdims)
    hit = astype(ew.equal(x, ext), x.dtype)
    count = _sum(hit, axis=axis, keepdims=True)
    return (ew.multiply(ew.divide(hit, count), expand_to(g, x.shape, axis, keepdims)),)


vjp("max")(_minmax)
vjp("min")(_minmax)


def _exclusive_cumprod(x: Any, axis: int, reverse: bool = False) -> Any:
    """Products of the elements strictly before (after, if reverse) each one along axis."""
    if reverse:
        return flip(_exclusive_cumprod(flip(x, axis=axis), axis), axis=axis)
    n = x.shape[axis]
    lead = (slice(None),) * axis
    c = cumulative_prod(x, axis=axis, include_initial=True)
    return c[(*lead, slice(0, n))]


def _to_last(x: Any, axes: tuple[int, ...]) -> Any:
    """x with ``axes`` moved to the end and merged into one."""
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = moveaxis(x, tuple(axes), tuple(range(len(rest), x.ndim)))
    return reshape(moved, (*[x.shape[a] for a in rest], math.prod(x.shape[a] for a in axes)))


@vjp("prod")
def _prod_rule(needs: Any, g: Any, out: Any, x: Any, axis: Any, dtype: Any, keepdims: bool) -> tuple[Any]:
    """d prod / d x_i = product of the others: left and right exclusive products (no division,
    so zeros are exact); for complex x the cotangent is g times their conjugate."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(axis)
    if x.ndim == 0 or not axes:
        gx = g
    else:
        rest = [a for a in range(x.ndim) if a not in axes]
        flat = _to_last(ew.conj(x) if x.dtype.is_complex else x, axes)  # complex: g * conj
        others = ew.multiply(_exclusive_cumprod(flat, flat.ndim - 1),
                             _exclusive_cumprod(flat, flat.ndim - 1, reverse=True))
        moved_shape = (*[x.shape[a] for a in rest], *[x.shape[a] for a in axes])
        others = moveaxis(reshape(others, moved_shape), tuple(range(len(rest), x.ndim)), axes)
        gx = ew.multiply(others, astype(expand_to(g, x.shape, axis, keepdims), others.dtype))
    return (astype(gx, x.dtype) if gx.dtype is not x.dtype else gx,)


@vjp("cumulative_sum")
def _cumsum_rule(needs: Any, g: Any, out: Any, x: Any, axis: int, dtype: Any) -> tuple[Any]:
    """A reverse running sum of g (ember-core prepends include_initial's zero outside the
    kernel, so the tape differentiates that concat itself)."""
    gx = flip(cumulative_sum(flip(g, axis=axis), axis=axis), axis=axis)
    return (astype(gx, x.dtype) if gx.dtype is not x.dtype else gx,)


@vjp("cumulative_prod")
def _cumprod_rule(needs: Any, g: Any, out: Any, x: Any, axis: int, dtype: Any) -> tuple[Any]:
    """out_j = prod_{k<=j} x_k, so dL/dx_i = P_{i-1} * S_i with P the exclusive product and
    S_i = sum_{j>=i} g_j prod_{i<k<=j} x_k, i.e. S_i = g_i + x_{i+1} S_{i+1}: a linear
    recurrence solved by a reverse associative scan (exact with zeros, no division). Complex
    x: the same with conj(x) (the cotangent of a holomorphic map is g * conj(f'))."""
    n = x.shape[axis]
    if n == 0:
        return (x * 0,)
    wd = g.dtype
    xs = astype(x, wd) if x.dtype is not wd else x
    if xs.dtype.is_complex:  # holomorphic: the same recurrence in conj(x)
        xs = ew.conj(xs)
    lead = (slice(None),) * axis
    nxt = concat([xs[(*lead, slice(1, None))], ones_like(xs[(*lead, slice(0, 1))])], axis=axis)

    def combine(a: Any, b: Any) -> Any:  # (coef, value) pairs of h = coef * h_next + value
        return (ew.multiply(a[0], b[0]), ew.add(ew.multiply(b[0], a[1]), b[1]))

    # scanning in reverse: element i combines with the already-combined tail i+1..n-1
    _, total = associative_scan(combine, (nxt, g), axis=axis, reverse=True)
    gx = ew.multiply(_exclusive_cumprod(xs, axis), total)
    return (astype(gx, x.dtype) if gx.dtype is not x.dtype else gx,)
