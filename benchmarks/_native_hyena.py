"""Native torch counterparts of ember's Hyena mixers (``hyena``, ``mh-hyena``,
``hyena-experts``) for benchmarks/mixers.py.

``NATIVE[name](layer)`` builds a plain torch module (torch only) computing what the ember layer
``layer`` computes, with its weights copied from the layer's variables (float32; trainable
where the ember variable is, the others buffers). Written as a torch user writes Hyena (the
style of MAD-Lab's ``HyenaOperator``): the activations run channels-first ``(batch, channels,
length)`` after the input projection, so that the short filter is one depthwise
``F.conv1d`` and every FFT runs over the last, contiguous axis.

- the implicit filter (``Filter``): the positional features ``pos_emb[:L]`` through
  ``Linear -> sin(freq *) -> ... -> Linear`` (one ``freq`` vector shared by every sine, the
  last Linear bias-free), times the decay ``exp(-t |deltas|) + shift``, ``t_j = j /
  (seq_len - 1)``; ``(L, channels)``.
- the long convolution (``fft_conv``): ``irfft(rfft(u, 2L) * rfft(k, 2L), 2L)[..., :L] + bias
  * u`` over the last axis (causal, linear).
- ``hyena``: ``in_proj``, the projection tiled ``proj_groups`` times (``Tensor.repeat``), the
  causal depthwise short filter, split into ``x_0 .. x_{N-1}, v``; for ``o < N - 1``: ``v =
  fft_conv(v * x_{N-1-o}, h_o) + bias_o * (...)``; ``out_proj(v * x_0)``.
- ``mh-hyena``: ``q, k, v`` the same way (three streams); the outer products ``v_i k_j`` of each
  group of ``num_heads`` channels ``(B, P, H, H, L)``, long-convolved with the group's filter,
  contracted with ``q`` over ``i`` (MAD-Lab's ``fftconv_heads``); ``out_proj``.
- ``hyena-experts``: Hyena's recurrence on ``E * dim_inner`` channels (no tying), then the
  router: ``torch.topk`` gives the k-th largest logit, logits below it set to 0 (MAD-Lab's
  rule), softmax over all experts, the experts' outputs ``(dim_inner, E)`` summed with those
  weights, ``out_proj``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _native_common import linear
from _native_common import param as _param
from _native_common import tensor as _tensor
from torch import nn


def _variables(layer: Any) -> dict[str, tuple[np.ndarray, bool]]:
    return {name: (np.asarray(v.numpy(), dtype=np.float32), bool(v.trainable))
            for name, v in layer.named_variables()}


def _linear(v: dict[str, tuple[np.ndarray, bool]], prefix: str) -> nn.Linear:
    """A torch Linear from an ember Dense's ``(in, out)`` weight (and bias, if it has one)."""
    weight = v[f"{prefix}.weight"][0]
    bias = v.get(f"{prefix}.bias")
    return linear(weight, None if bias is None else bias[0])


def _store(module: nn.Module, name: str, entry: tuple[np.ndarray, bool]) -> None:
    """A parameter where the ember variable is trainable, else a buffer."""
    value, trainable = entry
    if trainable:
        module.register_parameter(name, _param(value))
    else:
        module.register_buffer(name, _tensor(value))


def fft_conv(u: torch.Tensor, k: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The causal convolution of ``u`` ``(..., L)`` with the filter ``k`` (its ``L`` taps on the
    last axis, broadcasting against ``u``), plus the skip ``bias * u``: FFTs of size 2L."""
    n = u.shape[-1]
    y = torch.fft.irfft(torch.fft.rfft(u, n=2 * n) * torch.fft.rfft(k, n=2 * n), n=2 * n)
    y = y[..., :n]
    return y if bias is None else y + u * bias


class Filter(nn.Module):
    """Hyena's implicit long filter (the ember layer's ``filter``): ``forward(L)`` gives the
    first ``L`` taps ``(L, channels)``."""

    def __init__(self, v: dict[str, tuple[np.ndarray, bool]], filt: Any) -> None:
        super().__init__()
        depth = sum(1 for name in v if name.startswith("filter.mlp.") and name.endswith("weight"))
        self.mlp = nn.ModuleList(_linear(v, f"filter.mlp.{i}") for i in range(depth))
        for name in ("freq", "pos_emb", "deltas"):
            _store(self, name, v[f"filter.{name}"])
        self.modulate, self.shift = bool(filt.modulate), float(filt.shift)
        self.scale = 1.0 / max(int(filt.seq_len) - 1, 1)

    def forward(self, length: int) -> torch.Tensor:
        h = self.pos_emb[:length]
        for lin in self.mlp[:-1]:
            h = torch.sin(self.freq * lin(h))
        h = self.mlp[-1](h)
        if self.modulate:
            t = torch.arange(length, dtype=h.dtype, device=h.device) * self.scale
            h = h * (torch.exp(-t[:, None] * self.deltas.abs()) + self.shift)
        return h


class _HyenaBase(nn.Module):
    """What the three share: the projections, the short filter and the implicit filter."""

    def __init__(self, layer: Any, name: str, v: dict[str, tuple[np.ndarray, bool]]) -> None:
        super().__init__()
        if getattr(layer, "dropout", None) is not None:
            raise ValueError(f"native {name}: dropout is not built (the benchmark uses 0)")
        self.order, self.width = int(layer.order), int(layer.width)
        self.proj_groups = int(layer.proj_groups)
        self.in_proj = _linear(v, "in_proj")
        self.out_proj = _linear(v, "out_proj")
        w, _ = v["short_filter_weight"]               # ember (C, K, 1) -> torch (C, 1, K)
        self.taps = w.shape[1]
        self.short_weight = _param(w.transpose(0, 2, 1))
        self.short_bias = _param(v["short_filter_bias"][0])
        self.filter = Filter(v, layer.filter)
        if "long_conv_bias" in v:
            self.long_bias = _param(v["long_conv_bias"][0])
        else:
            self.long_bias = None

    def streams(self, x: torch.Tensor) -> torch.Tensor:
        """Projection, tiling and the causal depthwise short filter: ``(B, C, L)``."""
        p = self.in_proj(x)
        if self.proj_groups > 1:
            p = p.repeat(1, 1, self.proj_groups)
        p = F.pad(p.transpose(1, 2), (self.taps - 1, 0))          # causal: pad on the left
        return F.conv1d(p, self.short_weight, self.short_bias, groups=p.shape[1])

    def recurrence(self, u: torch.Tensor) -> torch.Tensor:
        """Hyena's order recurrence on the streams ``(B, (N+1) D, L)`` -> ``x_0 . z_N``."""
        n, order, width = u.shape[-1], self.order, self.width
        *gates, v = u.split(width, dim=1)
        k = self.filter(n).T.reshape(width, order - 1, n)   # channel c = (c // (N-1), c % (N-1))
        b = None if self.long_bias is None else self.long_bias.view(width, order - 1)
        for o in range(order - 1):
            v = fft_conv(v * gates[order - 1 - o], k[:, o],
                         None if b is None else b[:, o, None])
        return v * gates[0]


class Hyena(_HyenaBase):
    """MAD-Lab's ``HyenaOperator`` (``hyena``)."""

    def __init__(self, layer: Any) -> None:
        super().__init__(layer, "hyena", _variables(layer))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.recurrence(self.streams(x)).transpose(1, 2))


class MultiHeadHyena(_HyenaBase):
    """MAD-Lab's ``MultiHeadHyenaOperator`` (``mh-hyena``): per group of ``H`` channels, the
    outer products ``v k^T`` long-convolved in time, read out by ``q``."""

    def __init__(self, layer: Any) -> None:
        super().__init__(layer, "mh-hyena", _variables(layer))
        self.heads, self.groups = int(layer.num_heads), int(layer.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n = x.shape[:2]
        p, h = self.groups, self.heads
        q, k, v = (s.reshape(b, p, h, n) for s in self.streams(x).split(self.width, dim=1))
        kv = v[:, :, :, None] * k[:, :, None]                       # (b, p, i, j, n)
        taps = self.filter(n).T[:, None, None]                      # (p, 1, 1, n)
        bias = None if self.long_bias is None else self.long_bias.view(p, 1, 1, 1)
        s = fft_conv(kv, taps, bias)
        y = (s * q[:, :, :, None]).sum(dim=2)                       # (b, p, j, n)
        return self.out_proj(y.reshape(b, p * h, n).transpose(1, 2))


class HyenaExperts(_HyenaBase):
    """MAD-Lab's ``HyenaExpertsOperator`` (``hyena-experts``)."""

    def __init__(self, layer: Any) -> None:
        v = _variables(layer)
        super().__init__(layer, "hyena-experts", v)
        if layer.activation is not None:
            raise ValueError("native hyena-experts: only the identity activation is built")
        self.router = _linear(v, "router")
        self.num_experts, self.dim_inner = int(layer.num_experts), int(layer.dim_inner)
        self.active = int(layer.active_experts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n = x.shape[:2]
        u = self.recurrence(self.streams(x)).transpose(1, 2)       # (b, n, W)
        scores = self.router(x)
        kth = scores.topk(self.active, dim=-1).values[..., -1:]
        gates = F.softmax(torch.where(scores < kth, torch.zeros_like(scores), scores), dim=-1)
        u = u.reshape(b, n, self.dim_inner, self.num_experts)
        return self.out_proj((u * gates[..., None, :]).sum(dim=-1))


NATIVE: dict[str, Callable[[Any], nn.Module]] = {
    "hyena": Hyena,
    "mh-hyena": MultiHeadHyena,
    "hyena-experts": HyenaExperts,
}
