"""VJP rule of the fused scaled_dot_product_attention kernel (see ``activations.py`` on fused
composites and their rules)."""

from __future__ import annotations

from typing import Any

from ... import _dtypes as dt
from ...ops import _elementwise as ew
from ...ops._activations import softmax
from ...ops._attention import attention_scores
from ...ops._dtypes import astype
from ...ops._linalg import matmul, matrix_transpose
from ...ops._statistical import sum as _sum
from . import unbroadcast, vjp


def _cast(g: Any, like: Any) -> Any:
    """g in the dtype of ``like`` (a cotangent has its input's dtype)."""
    return g if g.dtype is like.dtype else astype(g, like.dtype)


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
