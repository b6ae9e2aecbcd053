"""layer_norm and rms_norm, written once from primitives (backends may fuse them)."""

from __future__ import annotations

from typing import Any

from .._dispatch import backend_of, native_of, norm_axes, rebase
from .._errors import ShapeError
from .._tensor import Tensor
from . import _elementwise as ew
from ._activations import _float
from ._creation import asarray
from ._statistical import mean, var

__all__ = ["layer_norm", "rms_norm"]

T = Tensor


def _affine(op: str, x: Tensor, p: Any, axes: tuple[int, ...], what: str) -> Tensor | None:
    if p is None:
        return None
    t = p if isinstance(p, Tensor) else asarray(p, backend=x._b, device=x.device)
    want = tuple(x.shape[a] for a in axes)
    if t.shape != want:
        raise ShapeError(f"{op}: {what} must have shape {want} (the normalised axes of {x.shape}), got {t.shape}")
    return T(native_of(x._b, t, op, x.dtype), x._b)


def layer_norm(x: Any, weight: Any = None, bias: Any = None, *, axis: Any = -1, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the trailing axes, then * weight + bias.

    >>> y = ember.nn.layer_norm(ember.tensor([[1.0, 2.0, 3.0]]))
    """
    x = rebase(backend_of("layer_norm", x, weight, bias), _float(x))
    axes = norm_axes("layer_norm", axis, x.ndim) or ()
    if tuple(axes) != tuple(range(x.ndim - len(axes), x.ndim)):
        raise ShapeError(f"layer_norm normalises trailing axes; got axis={axis} for shape {x.shape}")
    w = _affine("layer_norm", x, weight, axes, "weight")
    b = _affine("layer_norm", x, bias, axes, "bias")
    f = x._b.kernels.nn_layer_norm
    if f is not None:
        return T(f(x._n, None if w is None else w._n, None if b is None else b._n, axes, eps), x._b)
    mu = mean(x, axis=axes, keepdims=True)
    xc = ew.subtract(x, mu)
    y = ew.multiply(xc, ew.divide(1.0, ew.sqrt(ew.add(var(x, axis=axes, keepdims=True), eps))))
    if w is not None:
        y = ew.multiply(y, w)
    if b is not None:
        y = ew.add(y, b)
    return y


def rms_norm(x: Any, weight: Any = None, *, axis: Any = -1, eps: float = 1e-6) -> Tensor:
    """x / sqrt(mean(x**2) + eps) over the trailing axes, then * weight."""
    x = rebase(backend_of("rms_norm", x, weight), _float(x))
    axes = norm_axes("rms_norm", axis, x.ndim) or ()
    if tuple(axes) != tuple(range(x.ndim - len(axes), x.ndim)):
        raise ShapeError(f"rms_norm normalises trailing axes; got axis={axis} for shape {x.shape}")
    w = _affine("rms_norm", x, weight, axes, "weight")
    f = x._b.kernels.nn_rms_norm
    if f is not None:
        return T(f(x._n, None if w is None else w._n, axes, eps), x._b)
    y = ew.divide(x, ew.sqrt(ew.add(mean(ew.square(x), axis=axes, keepdims=True), eps)))
    return y if w is None else ew.multiply(y, w)
