"""float64 paths for the functions MLX evaluates in float32 precision even on float64 input
(measured with mlx 0.32: exp, sin, cos, erf, erfinv, logaddexp, sigmoid, softmax, logsumexp,
fast.layer_norm / rms_norm / scaled_dot_product_attention and conv_general lose digits).
The element-wise ones are computed on the host with NumPy (float64 lives on the CPU anyway);
the composites are rebuilt from precise MLX ops and these."""

from __future__ import annotations

import functools
import math

import mlx.core as mx

from .._lazy_numpy import np

F64 = mx.float64



@functools.cache
def _ufunc(fn):
    """``fn`` (a float -> float function of math) as a NumPy ufunc, made on first use."""
    return np.frompyfunc(fn, 1, 1)


def host(fn, *xs):
    """Apply a NumPy function to float64 MLX arrays (or Python scalars) on the host."""
    args = [np.array(x, copy=False) if isinstance(x, mx.array) else x for x in xs]
    with np.errstate(all="ignore"):
        out = np.asarray(fn(*args), dtype=np.float64)
    return mx.array(out, dtype=F64)


def _np_erf(a):
    return np.asarray(_ufunc(math.erf)(a), dtype=np.float64)


def _np_erfc(a):
    return np.asarray(_ufunc(math.erfc)(a), dtype=np.float64)


def _np_erfinv(y, guess):
    """Newton steps from MLX's float32 guess: on erf(x) - y for |y| <= 0.5; beyond, on
    log(erfc(a)) - log(q) for a = |x| and q = 1 - |y| (exact there, while erf(x) - y loses
    digits), started from the asymptote sqrt(-log(q)) where the guess rounded to +-inf."""
    y = np.asarray(y, dtype=np.float64)
    x = np.array(guess, dtype=np.float64)
    slope = 2.0 / math.sqrt(math.pi)
    inside = np.abs(y) < 1
    tail = inside & (np.abs(y) > 0.5)
    central = inside & ~tail
    xc, yc = x[central], y[central]
    for _ in range(3):
        xc = xc - (_np_erf(xc) - yc) / (slope * np.exp(-xc * xc))
    x[central] = xc
    q = 1.0 - np.abs(y[tail])
    a = np.abs(x[tail])
    a = np.where(np.isfinite(a), a, np.sqrt(-np.log(q)))
    for _ in range(4):
        ec = _np_erfc(a)
        a = a + np.log(ec / q) * ec / (slope * np.exp(-a * a))
    x[tail] = np.copysign(a, y[tail])
    return x


def exp(x):
    return host(np.exp, x)


def sin(x):
    return host(np.sin, x)


def cos(x):
    return host(np.cos, x)


def logaddexp(x1, x2):
    return host(np.logaddexp, x1, x2)


def erf(x):
    return host(_np_erf, x)


def erfinv(x):
    guess = mx.erfinv(x.astype(mx.float32)).astype(F64)
    return host(_np_erfinv, x, guess)


def sigmoid(x):
    def f(a):
        e = np.exp(-np.abs(a))
        return np.where(a >= 0, 1 / (1 + e), e / (1 + e))

    return host(f, x)


def _stable_max(x, axis):
    m = mx.max(x, axis=axis, keepdims=True)
    return mx.where(mx.isfinite(m), m, mx.zeros((), dtype=F64))


def softmax(x, axis):
    e = exp(x - _stable_max(x, axis))
    return e / mx.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis):
    s = x - _stable_max(x, axis)
    return s - host(np.log, mx.sum(exp(s), axis=axis, keepdims=True))


def logsumexp(x, axis, keepdims):
    m = _stable_max(x, axis)
    out = host(np.log, mx.sum(exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = mx.squeeze(out, axis=axis if axis is not None else tuple(range(x.ndim)))
    return out
