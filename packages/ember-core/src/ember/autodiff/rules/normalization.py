"""VJP rules of the fused layer_norm and rms_norm kernels (see ``activations.py`` on fused
composites and their rules)."""

from __future__ import annotations

from typing import Any

from ...ops import _elementwise as ew
from ...ops._statistical import mean
from . import unbroadcast, vjp


@vjp("nn_layer_norm", diff=(0, 1, 2))
def _layer_norm(needs: Any, g: Any, out: Any, x: Any, weight: Any, bias: Any, axis: Any,
                eps: float) -> tuple[Any, Any, Any]:
    """y = xhat w + b with xhat = (x - mu) r, r = 1 / sqrt(var + eps) over the axes:
    dw = sum(g xhat), db = sum(g) over the other axes, and with h = g w,
    dx = r (h - mean(h) - xhat mean(h xhat))."""
    axes = tuple(axis) if axis is not None else tuple(range(x.ndim))
    gw = gb = gx = None
    if needs[2] and bias is not None:
        gb = unbroadcast(g, bias)
    if needs[0] or needs[1]:
        xc = ew.subtract(x, mean(x, axis=axes, keepdims=True))
        r = ew.divide(1.0, ew.sqrt(ew.add(mean(ew.square(xc), axis=axes, keepdims=True), eps)))
        xhat = ew.multiply(xc, r)
        if needs[1] and weight is not None:
            gw = unbroadcast(ew.multiply(g, xhat), weight)
        if needs[0]:
            h = g if weight is None else ew.multiply(g, weight)
            inner = ew.add(mean(h, axis=axes, keepdims=True),
                           ew.multiply(xhat, mean(ew.multiply(h, xhat), axis=axes, keepdims=True)))
            gx = ew.multiply(r, ew.subtract(h, inner))
    return (gx, gw, gb)


@vjp("nn_rms_norm", diff=(0, 1))
def _rms_norm(needs: Any, g: Any, out: Any, x: Any, weight: Any, axis: Any,
              eps: float) -> tuple[Any, Any]:
    """y = xhat w with xhat = x r, r = 1 / sqrt(mean(x^2) + eps) over the axes:
    dw = sum(g xhat) over the other axes, and with h = g w, dx = r (h - xhat mean(h xhat))."""
    axes = tuple(axis) if axis is not None else tuple(range(x.ndim))
    r = ew.divide(1.0, ew.sqrt(ew.add(mean(ew.square(x), axis=axes, keepdims=True), eps)))
    xhat = ew.multiply(x, r)
    gw = gx = None
    if needs[1] and weight is not None:
        gw = unbroadcast(ew.multiply(g, xhat), weight)
    if needs[0]:
        h = g if weight is None else ew.multiply(g, weight)
        gx = ew.multiply(r, ew.subtract(h, ew.multiply(xhat, mean(ew.multiply(h, xhat), axis=axes,
                                                                   keepdims=True))))
    return (gx, gw)
