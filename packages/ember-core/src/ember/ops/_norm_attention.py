"""layer_norm, rms_norm, dropout, scaled_dot_product_attention and cross_entropy, written
once from primitives (backends may fuse them)."""

from __future__ import annotations

import math
from typing import Any

from .. import _dtypes as dt
from .._dispatch import backend_of, broadcast_shapes, fail, native_of, norm_axes, rebase
from .._errors import DTypeError, EmberError, ShapeError
from .._tensor import Tensor
from . import _elementwise as ew
from ._activations import _float, log_softmax, one_hot
from ._constants import constant
from ._creation import arange, asarray, astype
from ._manipulation import expand_dims, moveaxis
from ._reductions import mean, var
from ._reductions import sum as _sum
from ._searching import where

__all__ = ["cross_entropy", "dropout", "layer_norm", "rms_norm", "scaled_dot_product_attention"]

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


def dropout(x: Any, rate: float, key: Any) -> Tensor:
    """Zero each element with probability rate (using key) and scale the rest by 1/(1-rate)."""
    from .. import random

    x = x if isinstance(x, Tensor) else asarray(x)
    if not 0.0 <= rate <= 1.0:
        raise EmberError(f"dropout: rate must be in [0, 1], got {rate}")
    if rate == 0.0:
        return x
    if rate == 1.0:
        return ew.multiply(x, 0)
    # drop where uniform(key, x.shape, float32) < rate, compared exactly: the same mask everywhere
    drop = random.bernoulli(key, rate, x.shape, backend=x._b, device=x.device)
    return where(drop, ew.multiply(x, 0), ew.divide(x, 1.0 - rate))


def scaled_dot_product_attention(
    q: Any, k: Any, v: Any, *, mask: Any = None, is_causal: bool = False, scale: float | None = None,
    window: int | None = None,
) -> Tensor:
    """softmax(q @ k^T * scale + mask) @ v over (..., L, D) queries and (..., S, D) keys.

    ``mask`` is boolean (True: attend) or additive, broadcasting to (..., L, S). ``is_causal``
    lets query i see keys j <= i + (S - L) (aligned at the end, as for a KV cache). ``window``
    further limits query i to the ``window`` most recent keys (j > i + (S - L) - window). A
    query that sees no key gets NaN, as in PyTorch.
    """
    on = backend_of("scaled_dot_product_attention", q, k, v, mask)
    q, k, v = (rebase(on, _float(t)) for t in (q, k, v))
    qs, ks, vs = q.shape, k.shape, v.shape
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2:
        raise ShapeError(f"attention needs (..., L, D) tensors, got {qs}, {ks}, {vs}")
    if qs[-1] != ks[-1] or ks[-2] != vs[-2]:
        raise ShapeError(
            f"attention: q {qs}, k {ks}, v {vs} do not fit: need q[..., D] == k[..., D] "
            f"and k[..., S, :] == v[..., S, :]"
        )
    if window is not None and window < 1:
        raise EmberError(f"attention: window must be a positive int, got {window}")
    scale = 1.0 / math.sqrt(qs[-1]) if scale is None else float(scale)
    user = None if mask is None else (mask if isinstance(mask, Tensor) else asarray(mask, backend=q._b, device=q.device))
    if user is not None and user.dtype is not dt.bool and user.dtype is not q.dtype:
        user = astype(user, q.dtype)  # an additive mask is added in the queries' dtype
    try:
        return _attend(q, k, v, qs, ks, vs, user, is_causal, window, scale)
    except Exception as exc:
        raise _explain(exc, q, k, v, user) from exc


def _attend(q: Tensor, k: Tensor, v: Tensor, qs: tuple[int, ...], ks: tuple[int, ...],
            vs: tuple[int, ...], user: Tensor | None, is_causal: bool, window: int | None,
            scale: float) -> Tensor:
    """Attention on checked inputs: the fused kernel on the finished mask where the backend has
    one (NaN written where a query sees no key), else the composite."""
    L, S = qs[-2], ks[-2]
    m, causal = attention_mask(q, L, S, user, is_causal, window)
    f = q._b.kernels.nn_scaled_dot_product_attention
    if f is not None and 0 not in qs and 0 not in ks and 0 not in vs and (
            m is None or 0 not in m.shape):  # (nothing to attend: the composite's zeros)
        out = T(f(q._n, k._n, v._n, None if m is None else m._n, causal, scale), q._b)
        if m is None or (user is None and (not is_causal or L <= S)):
            return out  # every query sees a key
        from ._reductions import any as _any

        # a query that sees no key gets NaN (native kernels give 0 or an average of v there)
        seen = _any(m if m.dtype is dt.bool else ew.greater(m, -math.inf), axis=-1, keepdims=True)
        b, dev, d = q._b.root, q.device, out.dtype
        nan = constant(("nan", b, dev, d), lambda: asarray(math.nan, dtype=d, device=dev, backend=b))
        return where(seen, out, nan)  # (a NaN tensor of out's dtype: where's fast path)
    from ._activations import softmax
    from ._linalg import matmul

    return matmul(softmax(attention_scores(q, k, m, causal, scale), axis=-1), v)


def _explain(exc: Exception, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> EmberError:
    """The error of a failed attention: batch axes of q, k, v (or a mask) that do not
    broadcast, named as such on every backend (torch's fused kernel raised its own)."""
    qs, ks, vs = q.shape, k.shape, v.shape
    op, args = "scaled_dot_product_attention", (q, k, v) if mask is None else (q, k, v, mask)
    try:
        batch = broadcast_shapes(op, qs[:-2], ks[:-2], vs[:-2], args=args)
        if mask is not None:
            broadcast_shapes(op, (*batch, qs[-2], ks[-2]), mask.shape, args=args)
    except ShapeError as err:
        return err
    return fail(op, args, exc, elementwise=False)


def _band(q: Tensor, L: int, S: int, is_causal: bool, window: int | None) -> Tensor:
    """Bool (L, S): query i (at position i + S - L, aligned at the end of the keys) sees key j
    when j <= i + S - L (causal) and j > i + S - L - window (sliding window). Cached per shape
    up to 4 MiB (a training loop asks for the same one every step)."""
    b, dev = q._b.root, q.device

    def build() -> Tensor:
        i = expand_dims(arange(L, backend=b, device=dev), axis=-1)
        j = arange(S, backend=b, device=dev)
        pos = ew.add(i, S - L)
        allowed = ew.less_equal(j, pos) if is_causal else ew.equal(j, j)
        if window is not None:
            allowed = ew.logical_and(allowed, ew.greater(j, ew.subtract(pos, window)))
        return allowed

    if L * S > 1 << 22:
        return build()
    return constant(("attention band", b, dev, L, S, is_causal, window), build)


def attention_mask(q: Tensor, L: int, S: int, mask: Tensor | None, is_causal: bool,
                   window: int | None) -> tuple[Tensor | None, bool]:
    """The finished ``(mask, is_causal)`` that attention kernels get: the user's mask (boolean,
    True attends, or additive) combined with the causal rule and the window, all computed here
    once. ``is_causal`` comes back True only where the mask is None and L == S (query i sees
    keys j <= i, which torch's ``is_causal`` and MLX's ``"causal"`` compute natively); a rule
    that hides nothing (causal with L <= 1, a window of at least S) is dropped. ``q`` (L
    queries, S keys) gives the backend and device of the band."""
    causal = is_causal and L > 1
    if window is not None and window >= S:
        window = None  # every key is among the window most recent ones
    if not causal and window is None:
        return mask, False
    if mask is None and window is None and L == S:
        return None, True
    band = _band(q, L, S, causal, window)
    if mask is None:
        return band, False
    if mask.dtype is dt.bool:
        return ew.logical_and(mask, band), False
    return where(band, mask, -math.inf), False


def attention_scores(q: Tensor, k: Tensor, mask: Tensor | None, is_causal: bool,
                     scale: float) -> Tensor:
    """The masked, scaled scores ``q @ k^T * scale`` (+ an additive mask; -inf where a boolean
    mask or the causal rule hides a key) whose softmax weighs v in attention. ``mask`` and
    ``is_causal`` are finished (``attention_mask``). Shared by the composite and the VJP rule
    of the fused kernel (which recomputes them)."""
    from ._linalg import matmul, matrix_transpose

    scores = ew.multiply(matmul(q, matrix_transpose(k)), scale)
    if is_causal:
        mask = _band(q, q.shape[-2], k.shape[-2], True, None)
    if mask is not None:
        if mask.dtype is dt.bool:
            scores = where(mask, scores, -math.inf)
        else:
            scores = ew.add(scores, mask)
    return scores


def cross_entropy(
    logits: Any, targets: Any, *, axis: int = -1, ignore_index: int | None = None,
    label_smoothing: float = 0.0, reduction: str = "mean",
) -> Tensor:
    """Cross-entropy between logits and integer class targets (or class probabilities).

    Integer targets have logits' shape without ``axis``; probability targets have logits' shape.
    ``ignore_index`` drops those targets (the mean is over the rest); ``label_smoothing`` mixes
    the target distribution with the uniform one. ``reduction`` is 'mean', 'sum' or 'none'.
    """
    if reduction not in ("mean", "sum", "none"):
        raise EmberError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise EmberError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = rebase(backend_of("cross_entropy", logits, targets), _float(logits))
    if x.ndim == 0:
        raise ShapeError("cross_entropy: logits need a class axis")
    x = moveaxis(x, axis, -1)
    c = x.shape[-1]
    t = targets if isinstance(targets, Tensor) else asarray(targets, backend=x._b, device=x.device)
    logp = log_softmax(x, axis=-1)
    valid = None
    if t.dtype.is_integer:
        if t.shape != x.shape[:-1]:
            raise ShapeError(
                f"cross_entropy: integer targets must have shape {x.shape[:-1]} (logits {tuple(logits.shape)} "
                f"without the class axis), got {t.shape}"
            )
        if ignore_index is not None:
            valid = ew.not_equal(t, ignore_index)
            t = where(valid, t, 0)
        probs = one_hot(t, c, dtype=x.dtype)
    elif t.dtype.is_floating:
        probs = moveaxis(T(native_of(x._b, t, "cross_entropy", x.dtype), x._b), axis, -1)
        if probs.shape != x.shape:
            raise ShapeError(f"cross_entropy: probability targets must have the logits' shape, got {t.shape}")
    else:
        raise DTypeError(f"cross_entropy: targets must be integer classes or float probabilities, got {t.dtype}")
    if label_smoothing:
        probs = ew.add(ew.multiply(probs, 1.0 - label_smoothing), label_smoothing / c)
    loss = ew.negative(_sum(ew.multiply(probs, logp), axis=-1))
    if valid is not None:
        loss = where(valid, loss, 0.0)
    if reduction == "none":
        return loss
    total = _sum(loss)
    if reduction == "sum":
        return total
    count = _sum(valid) if valid is not None else loss.size
    return ew.divide(total, astype(count, x.dtype) if isinstance(count, Tensor) else float(count))
