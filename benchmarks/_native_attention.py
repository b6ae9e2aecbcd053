"""Native torch counterparts of ember's attention mixers for benchmarks/mixers.py.

``NATIVE[name](layer)`` builds a plain torch module (torch only) computing what the ember layer
``layer`` computes, with its weights copied from the layer's variables (float32, trainable):

- ``mh-attention`` / ``mh-sliding-attention`` (ember's ``Attention``, flash-attn's ``MHA``):
  one packed ``Linear(dim, 3 dim)`` for q/k/v, rotary embeddings (GPT-NeoX's non-interleaved
  pairs ``i, i + r/2``, the cos/sin tables cached per length as flash-attn's
  ``RotaryEmbedding`` does) on q and k together, ``F.scaled_dot_product_attention`` with
  ``is_causal=True``, or with a cached boolean band mask for the causal sliding window
  (flash-attn's convention: ``window_size=[w, w]`` causal sees keys ``i - w .. i``), then
  ``Linear(dim, dim)``.
- ``mh-linear-attention`` (ember's ``LinearAttention``, chunked form): q/k/v projections, the
  learnt ``elementwise_product`` feature maps ``(x W1 + b1) * (x W2 + b2)`` per head, and
  causal linear attention in chunks of ``chunk_size``: the state ``sum k v^T`` (and ``sum k``)
  before each chunk by an exclusive cumulative sum over chunks, the chunk's own keys by a
  ``tril`` of the ``(C, C)`` scores; ``y = (q S + tril(q k^T) v) / (q z + tril(q k^T) 1 +
  eps)``.
- ``mh-gated-linear-attention`` (ember's ``GatedLinearAttention``, mode "chunk"): q/k/v/g
  projections, the low-rank log-sigmoid gate ``logsigmoid(x W_a W_b + b) / 16``, chunked GLA
  (within a chunk the pairwise decays ``exp(b_t - b_s)`` in log space, every exponent <= 0;
  across chunks the states by a log-depth associative scan of ``S = diag(a) S + U``, written
  in torch as ember's ``associative_scan`` does it), then the per-head ``F.rms_norm``, the
  swish output gate and ``Linear(dim, dim)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _native_common import associative_scan
from _native_common import dense as _linear
from _native_common import expect as _expect
from _native_common import param as _param
from _native_common import variables as _variables
from torch import nn


# -- softmax attention ----------------------------------------------------------------------------
class MHA(nn.Module):
    """Causal multi-head attention with rotary q/k on ``F.scaled_dot_product_attention``."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        v = _variables(layer)
        _expect("attention", v, {"in_proj.weight", "in_proj.bias", "out_proj.weight",
                                 "out_proj.bias"})
        if not layer.causal or layer.num_kv_heads != layer.num_heads or layer.dropout \
                or layer.rotary_emb_interleaved:
            raise ValueError("native attention: only causal multi-head attention (no GQA, no "
                             "dropout, non-interleaved rotary) is mirrored")
        self.heads, self.head_dim, self.dim = layer.num_heads, layer.head_dim, layer.dim
        self.rotary_dim, self.base = layer.rotary_emb_dim, layer.rotary_emb_base
        self.scale = layer.scale
        left = layer.window_size[0]
        self.left = left if left >= 0 else None  # causal: keys i - left .. i
        self.in_proj = _linear(v, "in_proj")
        self.out_proj = _linear(v, "out_proj")
        self._cache: dict[tuple[int, torch.device], tuple[torch.Tensor, ...]] = {}

    def _tables(self, L: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        """``cos``, ``sin`` ``(L, 1, r)`` (each half repeated) and the band mask or None."""
        hit = self._cache.get((L, device))
        if hit is None:
            r = self.rotary_dim
            inv = torch.tensor([self.base ** (-2.0 * i / r) for i in range(r // 2)],
                               dtype=torch.float32, device=device)
            angles = torch.arange(L, dtype=torch.float32, device=device)[:, None] * inv
            cos = torch.cat([angles.cos(), angles.cos()], -1)[:, None]
            sin = torch.cat([angles.sin(), angles.sin()], -1)[:, None]
            band = None
            if self.left is not None and self.left + 1 < L:
                i = torch.arange(L, device=device)
                band = (i[None, :] <= i[:, None]) & (i[None, :] >= i[:, None] - self.left)
            hit = self._cache[(L, device)] = (cos, sin, band)
        return hit

    def _rotate(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """Rotary on the first ``rotary_dim`` features of ``x`` ``(..., L, heads, head_dim)``."""
        r = self.rotary_dim
        rot = x[..., :r]
        a, b = rot.chunk(2, dim=-1)
        out = rot * cos + torch.cat([-b, a], -1) * sin  # (a cos - b sin, b cos + a sin)
        return out if r == x.shape[-1] else torch.cat([out, x[..., r:]], -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        qkv = self.in_proj(x).view(B, L, 3, self.heads, self.head_dim)
        cos, sin, band = self._tables(L, x.device)
        qk = qkv[:, :, :2]
        if self.rotary_dim:
            qk = self._rotate(qk, cos[:, None], sin[:, None])
        q, k = qk.unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), qkv[:, :, 2].transpose(1, 2)
        if band is None:
            o = F.scaled_dot_product_attention(q, k, v, is_causal=L > 1, scale=self.scale)
        else:
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=band, scale=self.scale)
        return self.out_proj(o.transpose(1, 2).reshape(B, L, self.dim))


# -- linear attention -----------------------------------------------------------------------------
class HadamardFeatureMap(nn.Module):
    """``(x W1 + b1) * (x W2 + b2)`` on each head's features."""

    def __init__(self, v: dict[str, np.ndarray], prefix: str) -> None:
        super().__init__()
        self.layer1 = _linear(v, f"{prefix}.layers.0")
        self.layer2 = _linear(v, f"{prefix}.layers.1")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer1(x) * self.layer2(x)


class LinearAttention(nn.Module):
    """Causal multi-head linear attention in chunks (Katharopoulos et al. 2020)."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        v = _variables(layer)
        fm = {f"feature_map_{s}.layers.{i}.{p}" for s in "qk" for i in (0, 1)
              for p in ("weight", "bias")}
        _expect("linear attention", v, {"proj_q.weight", "proj_k.weight", "proj_v.weight",
                                        "out_proj.weight", *fm})
        if layer.feature_map != "elementwise_product" or layer.norm_q or layer.norm_k \
                or layer.parallel_implementation != "linear":
            raise ValueError("native linear attention: only the chunked form with untied "
                             "elementwise_product feature maps is mirrored")
        self.heads, self.dk, self.dv = layer.num_heads, layer.head_qk_dim, layer.head_v_dim
        self.chunk, self.eps = layer.chunk_size, layer.eps
        self.proj_q, self.proj_k = _linear(v, "proj_q"), _linear(v, "proj_k")
        self.proj_v, self.out_proj = _linear(v, "proj_v"), _linear(v, "out_proj")
        self.feature_map_q = HadamardFeatureMap(v, "feature_map_q")
        self.feature_map_k = HadamardFeatureMap(v, "feature_map_k")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        H, C = self.heads, self.chunk
        n = -(-L // C)

        def chunks(y: torch.Tensor) -> torch.Tensor:  # (B, L, H, d) -> (B, H, n, C, d)
            y = y.transpose(1, 2)
            if n * C != L:
                y = F.pad(y, (0, 0, 0, n * C - L))
            return y.reshape(B, H, n, C, y.shape[-1])

        q = chunks(self.feature_map_q(self.proj_q(x).view(B, L, H, self.dk)))
        k = chunks(self.feature_map_k(self.proj_k(x).view(B, L, H, self.dk)))
        v = chunks(self.proj_v(x).view(B, L, H, self.dv))
        kv = k.transpose(-1, -2) @ v  # (B, H, n, F, Dv)
        ks = k.sum(-2)  # (B, H, n, F)
        # the state before each chunk: an exclusive cumulative sum over the chunks
        kv_before = F.pad(kv.cumsum(2), (0, 0, 0, 0, 1, 0))[:, :, :n]
        ks_before = F.pad(ks.cumsum(2), (0, 0, 1, 0))[:, :, :n]
        scores = (q @ k.transpose(-1, -2)).tril()  # (B, H, n, C, C)
        y = q @ kv_before + scores @ v
        z = q @ ks_before.unsqueeze(-1) + scores.sum(-1, keepdim=True)
        y = (y / (z + self.eps)).reshape(B, H, n * C, self.dv)[:, :, :L]
        return self.out_proj(y.transpose(1, 2).reshape(B, L, H * self.dv))


# -- gated linear attention -----------------------------------------------------------------------
def chunked_gla(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, g: torch.Tensor,
                chunk: int) -> torch.Tensor:
    """``o_t = q_t S_t / sqrt(Dk)``, ``S_t = diag(exp(g_t)) S_{t-1} + k_t^T v_t``, for
    ``(B, H, L, D)`` inputs, in chunks of ``chunk`` positions."""
    B, H, L, Dk = q.shape
    C = chunk
    n = -(-L // C)
    q = q * Dk ** -0.5

    def chunks(y: torch.Tensor) -> torch.Tensor:
        if n * C != L:  # zero keys/values/log-gates after the end change nothing before it
            y = F.pad(y, (0, 0, 0, n * C - L))
        return y.reshape(B, H, n, C, y.shape[-1])

    qc, kc, vc, gc = chunks(q), chunks(k), chunks(v), chunks(g)
    b = gc.cumsum(-2)  # (B, H, n, C, Dk), non-increasing along C
    # within a chunk: exp(b_t - b_s) for s <= t, 0 elsewhere (every exponent <= 0)
    below = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()[..., None]
    decay = torch.exp((b.unsqueeze(-2) - b.unsqueeze(-3)).masked_fill(~below, -math.inf))
    scores = (qc.unsqueeze(-2) * kc.unsqueeze(-3) * decay).sum(-1)  # (B, H, n, C, C)
    out = scores @ vc
    # across chunks: the state at each chunk's start, by an associative scan over the chunks
    total = b[..., -1:, :]  # (B, H, n, 1, Dk)
    update = (kc * torch.exp(total - b)).transpose(-1, -2) @ vc  # (B, H, n, Dk, Dv)
    a = torch.exp(total).transpose(-1, -2)  # (B, H, n, Dk, 1)
    _, states = associative_scan(a.movedim(2, 0), update.movedim(2, 0))
    before = F.pad(states, (0, 0, 0, 0, 0, 0, 0, 0, 1, 0))[:n].movedim(0, 2)
    out = out + (qc * torch.exp(b)) @ before
    return out.reshape(B, H, n * C, v.shape[-1])[:, :, :L]


class GatedLinearAttention(nn.Module):
    """Gated linear attention (Yang et al. 2023), the chunked form."""

    def __init__(self, layer: Any) -> None:
        super().__init__()
        v = _variables(layer)
        _expect("gated linear attention", v, {
            "q_proj.weight", "k_proj.weight", "v_proj.weight", "g_proj.weight",
            "gk_proj.0.weight", "gk_proj.1.weight", "gk_proj.1.bias", "o_proj.weight",
            "g_norm.weight"})
        if layer.mode == "fused_recurrent" or layer.clamp_min is not None:
            raise ValueError("native gated linear attention: only the chunked form without "
                             "clamp_min is mirrored")
        self.heads, self.dk, self.dv = layer.num_heads, layer.head_qk_dim, layer.head_v_dim
        self.chunk, self.normalizer = layer.chunk_size, layer.gate_logit_normalizer
        self.eps = layer.g_norm.eps
        self.q_proj, self.k_proj = _linear(v, "q_proj"), _linear(v, "k_proj")
        self.v_proj, self.g_proj = _linear(v, "v_proj"), _linear(v, "g_proj")
        self.gk_proj = nn.Sequential(_linear(v, "gk_proj.0"), _linear(v, "gk_proj.1"))
        self.o_proj = _linear(v, "o_proj")
        self.g_norm_weight = _param(v["g_norm.weight"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        H = self.heads

        def heads(y: torch.Tensor, d: int) -> torch.Tensor:
            return y.view(B, L, H, d).transpose(1, 2)

        gk = F.logsigmoid(self.gk_proj(x)) / self.normalizer
        o = chunked_gla(heads(self.q_proj(x), self.dk), heads(self.k_proj(x), self.dk),
                        heads(self.v_proj(x), self.dv), heads(gk, self.dk), self.chunk)
        o = F.rms_norm(o.transpose(1, 2), (self.dv,), self.g_norm_weight, self.eps)
        return self.o_proj(o.reshape(B, L, H * self.dv) * F.silu(self.g_proj(x)))


NATIVE: dict[str, Callable[[Any], nn.Module]] = {
    "mh-attention": MHA,
    "mh-sliding-attention": MHA,
    "mh-linear-attention": LinearAttention,
    "mh-gated-linear-attention": GatedLinearAttention,
}
