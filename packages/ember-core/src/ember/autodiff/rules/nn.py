"""VJP rules of the fused neural-network kernels: activations, the softmax family, layer and
RMS normalisation, and scaled dot-product attention.

These kernels are composites that a backend may fuse; ember records a fused call as one
kernel call when a rule exists (else the composite runs and is differentiated through its
primitives). Each rule recomputes what it needs from the inputs with ember ops, so it runs on
every backend and is itself differentiable. Convolution and pooling are in ``conv.py``.
"""

from __future__ import annotations

import math
from typing import Any

from ... import _dtypes as dt
from ...ops import _elementwise as ew
from ...ops._activations import sigmoid, softmax
from ...ops._creation import astype
from ...ops._linalg import matmul, matrix_transpose
from ...ops._norm_attention import attention_scores
from ...ops._reductions import mean
from ...ops._reductions import sum as _sum
from ...ops._searching import where
from . import expand_to, unbroadcast, vjp

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


def _cast(g: Any, like: Any) -> Any:
    """g in the dtype of ``like`` (a cotangent has its input's dtype)."""
    return g if g.dtype is like.dtype else astype(g, like.dtype)


# -- element-wise activations ------------------------------------------------------------------
@vjp("nn_relu")
def _relu(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """d relu / dx = 1 where x > 0, else 0 (0 at x = 0, as PyTorch)."""
    return (where(ew.greater(x, 0), g, 0.0),)


@vjp("nn_sigmoid")
def _sigmoid(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """d sigmoid / dx = s (1 - s), with s the output."""
    return (ew.multiply(g, ew.multiply(out, ew.subtract(1.0, out))),)


@vjp("nn_silu")
def _silu(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """d (x s) / dx = s (1 + x (1 - s)), with s = sigmoid(x)."""
    s = sigmoid(x)
    return (ew.multiply(g, ew.multiply(s, ew.add(ew.multiply(x, ew.subtract(1.0, s)), 1.0))),)


@vjp("nn_gelu")
def _gelu(needs: Any, g: Any, out: Any, x: Any, approximate: Any) -> tuple[Any]:
    """'none': d (x Phi(x)) / dx = Phi(x) + x phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 and
    phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    'tanh': y = x (1 + t) / 2 with t = tanh(u), u = sqrt(2/pi) (x + c x^3), so
    dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 c x^2) / 2."""
    if approximate is True or approximate == "tanh":
        x2 = ew.square(x)
        t = ew.tanh(ew.multiply(ew.multiply(x, ew.add(ew.multiply(x2, _GELU_C), 1.0)), _SQRT_2_OVER_PI))
        du = ew.multiply(ew.add(ew.multiply(x2, 3.0 * _GELU_C), 1.0), _SQRT_2_OVER_PI)
        d = ew.add(ew.multiply(ew.add(t, 1.0), 0.5),
                   ew.multiply(ew.multiply(x, ew.subtract(1.0, ew.square(t))), ew.multiply(du, 0.5)))
    else:
        cdf = ew.multiply(ew.add(ew.erf(ew.multiply(x, _SQRT_HALF)), 1.0), 0.5)
        pdf = ew.multiply(ew.exp(ew.multiply(ew.square(x), -0.5)), _INV_SQRT_2PI)
        d = ew.add(cdf, ew.multiply(x, pdf))
    return (ew.multiply(g, d),)


@vjp("nn_softplus")
def _softplus(needs: Any, g: Any, out: Any, x: Any) -> tuple[Any]:
    """d log(1 + e^x) / dx = sigmoid(x)."""
    return (ew.multiply(g, sigmoid(x)),)


# -- the softmax family ------------------------------------------------------------------------
@vjp("nn_softmax")
def _softmax(needs: Any, g: Any, out: Any, x: Any, axis: int) -> tuple[Any]:
    """With y = softmax(x): dx = y (g - sum(g y)) along axis."""
    dot = _sum(ew.multiply(g, out), axis=axis, keepdims=True)
    return (ew.multiply(out, ew.subtract(g, dot)),)


@vjp("nn_log_softmax")
def _log_softmax(needs: Any, g: Any, out: Any, x: Any, axis: int) -> tuple[Any]:
    """With y = log_softmax(x): dx = g - exp(y) sum(g) along axis."""
    total = _sum(g, axis=axis, keepdims=True)
    return (ew.subtract(g, ew.multiply(ew.exp(out), total)),)


@vjp("nn_logsumexp")
def _logsumexp(needs: Any, g: Any, out: Any, x: Any, axis: Any, keepdims: bool) -> tuple[Any]:
    """d logsumexp(x) / dx = exp(x - logsumexp(x)) (the softmax over the reduced axes)."""
    shape = x.shape
    lse = expand_to(out, shape, axis, keepdims)
    return (ew.multiply(expand_to(g, shape, axis, keepdims), ew.exp(ew.subtract(x, lse))),)


# -- normalisation -----------------------------------------------------------------------------
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


# -- attention ---------------------------------------------------------------------------------
@vjp("nn_scaled_dot_product_attention", diff=(0, 1, 2, 3))
def _attention(needs: Any, g: Any, out: Any, q: Any, k: Any, v: Any, mask: Any, is_causal: bool,
               scale: float) -> tuple[Any, Any, Any, Any]:
    """o = p v with p = softmax(s), s = q k^T scale + mask (-inf where a key is hidden):
    dv = p^T g; with dp = g v^T, ds = p (dp - sum(dp p)) over the keys (zero where hidden),
    dq = ds k scale, dk = ds^T q scale, and an additive mask gets ds (summed over the axes it
    broadcasts along). A boolean mask gets no cotangent. Batch axes that q, k or v broadcast
    along are summed out. The mask is the finished one the kernel got (ember-core combined the
    user's mask with the causal rule and the window, and cast an additive one to q's dtype)."""
    float_mask = mask is not None and mask.dtype is not dt.bool
    p = softmax(attention_scores(q, k, mask, is_causal, scale), axis=-1)
    gq = gk = gv = gm = None
    if needs[2]:
        gv = _cast(unbroadcast(matmul(matrix_transpose(p), g), v), v)
    need_mask = needs[3] and float_mask
    if needs[0] or needs[1] or need_mask:
        dp = matmul(g, matrix_transpose(v))
        ds = ew.multiply(p, ew.subtract(dp, _sum(ew.multiply(dp, p), axis=-1, keepdims=True)))
        if needs[0]:
            gq = _cast(unbroadcast(ew.multiply(matmul(ds, k), scale), q), q)
        if needs[1]:
            gk = _cast(unbroadcast(ew.multiply(matmul(matrix_transpose(ds), q), scale), k), k)
        if need_mask:
            gm = _cast(unbroadcast(ds, mask), mask)
    return (gq, gk, gv, gm)
