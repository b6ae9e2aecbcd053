"""scaled_dot_product_attention, written once from primitives (backends may fuse it), and the
finished mask and scores its kernels and its VJP rule share."""

from __future__ import annotations

import math
from typing import Any

from .. import _dtypes as dt
from .._dispatch import backend_of, broadcast_shapes, fail, rebase
from .._errors import EmberError, ShapeError
from .._tensor import Tensor
from . import _elementwise as ew
from ._activations import _float
from ._constants import constant
from ._creation import arange, asarray
from ._dtypes import astype
from ._manipulation import expand_dims
from ._searching import where

__all__ = ["scaled_dot_product_attention"]

T = Tensor


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
        from ._utility import any as _any

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
