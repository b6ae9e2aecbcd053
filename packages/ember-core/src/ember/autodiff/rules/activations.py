"""VJP rules of the fused activation kernels: relu, sigmoid, silu, gelu, softplus and the
softmax family.

These kernels are composites that a backend may fuse; ember records a fused call as one
kernel call when a rule exists (else the composite runs and is differentiated through its
primitives). Each rule recomputes what it needs from the inputs with ember ops, so it runs on
every backend and is itself differentiable. The same holds for the rules in
``normalization.py``, ``attention.py``, ``convolution.py`` and ``pooling.py``.
"""

from __future__ import annotations

import math
from typing import Any

from ...ops import _elementwise as ew
from ...ops._activations import sigmoid
from ...ops._searching import where
from ...ops._statistical import sum as _sum
from . import expand_to, vjp

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


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
