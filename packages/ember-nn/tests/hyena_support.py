"""Support for the Hyena tests (test_mixers_hyena.py, test_mixers_fft_conv.py): dtypes and
tolerances per backend (MLX's FFT is complex64 only), NumPy references of fft_conv and of each
Hyena mixer written from their equations, and the mixer cases tested."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember
import numpy as np
from ember_nn.mixers.sequence import Hyena, HyenaExperts, MultiHeadHyena

#: the backends whose FFT takes float64 (MLX's is complex64 only)
FFT64 = {"numpy", "torch"}


def _dtype(backend: str) -> Any:
    return ember.float64 if backend in FFT64 else ember.float32


def _tol(backend: str) -> float:
    return 1e-10 if backend in FFT64 else 2e-5


def _np(x: Any) -> np.ndarray:
    return np.asarray(x.numpy(), dtype=np.float64)


def _t(a: Any, dtype: Any = None) -> ember.Tensor:
    return ember.asarray(np.asarray(a), dtype=dtype)


# -- NumPy references from the equations -----------------------------------------------------------
def np_causal_conv(u: np.ndarray, k: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """``y[:, t] = sum_{s<=t} k[t-s] u[:, s] (+ bias u[:, t])`` for u (B, L, C), k (Lk, C), by a
    loop of np.convolve per batch and channel."""
    b, n, c = u.shape
    y = np.zeros_like(u)
    for i in range(b):
        for j in range(c):
            y[i, :, j] = np.convolve(u[i, :, j], k[:, j])[:n]
    return y if bias is None else y + bias * u


def np_filter(st: dict[str, np.ndarray], length: int, seq_len: int, shift: float = 0.0,
              modulate: bool = True) -> np.ndarray:
    h = st["filter.pos_emb"][:length]
    layers = sorted({int(k.split(".")[2]) for k in st if k.startswith("filter.mlp.")})
    for i in layers[:-1]:
        h = np.sin(st["filter.freq"] * (h @ st[f"filter.mlp.{i}.weight"]
                                        + st[f"filter.mlp.{i}.bias"]))
    h = h @ st[f"filter.mlp.{layers[-1]}.weight"]
    if modulate:
        t = np.arange(length) / (seq_len - 1)
        h = h * (np.exp(-t[:, None] * np.abs(st["filter.deltas"])) + shift)
    return h


def np_short(p: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    taps = w.shape[1]
    pp = np.concatenate([np.zeros((p.shape[0], taps - 1, p.shape[2])), p], axis=1)
    return sum(w[:, j, 0] * pp[:, j:j + p.shape[1]] for j in range(taps)) + b


def np_streams(st: dict[str, np.ndarray], x: np.ndarray, count: int,
               groups: int = 1) -> list[np.ndarray]:
    p = np.tile(x @ st["in_proj.weight"] + st["in_proj.bias"], (1, 1, groups))
    u = np_short(p, st["short_filter_weight"], st["short_filter_bias"])
    w = u.shape[-1] // count
    return [u[..., i * w:(i + 1) * w] for i in range(count)]


def np_order(st: dict[str, np.ndarray], streams: list[np.ndarray], order: int, seq_len: int,
             **filter_kw: Any) -> np.ndarray:
    """z_1 = v; z_{n+1} = h_n * (z_n x_{N-n}) + bias_n z_n x_{N-n}; returns x_0 z_N."""
    *xs, v = streams
    n, w = v.shape[1], v.shape[2]
    h = np_filter(st, n, seq_len, **filter_kw).reshape(n, w, order - 1)
    bias = st.get("long_conv_bias")
    bias = None if bias is None else bias.reshape(w, order - 1)
    for o in range(order - 1):
        v = np_causal_conv(v * xs[order - 1 - o], h[:, :, o], None if bias is None else bias[:, o])
    return v * xs[0]


def np_hyena(m: Hyena, st: dict[str, np.ndarray], x: np.ndarray, **kw: Any) -> np.ndarray:
    y = np_order(st, np_streams(st, x, m.order + 1, m.proj_groups), m.order, m.max_length, **kw)
    return y @ st["out_proj.weight"] + st["out_proj.bias"]


def np_multi_head(m: MultiHeadHyena, st: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    q, k, v = np_streams(st, x, 3, m.proj_groups)
    b, n, _ = x.shape
    p, hh = m.groups, m.num_heads
    q, k, v = (a.reshape(b, n, p, hh) for a in (q, k, v))
    filt = np_filter(st, n, m.max_length)
    bias = st.get("long_conv_bias", np.zeros(p))
    y = np.zeros((b, n, p, hh))
    for t in range(n):
        s_t = sum(filt[t - s][None, :, None, None] * v[:, s, :, :, None] * k[:, s, :, None, :]
                  for s in range(t + 1))
        s_t = s_t + bias[None, :, None, None] * v[:, t, :, :, None] * k[:, t, :, None, :]
        y[:, t] = np.einsum("bgi,bgij->bgj", q[:, t], s_t)
    return y.reshape(b, n, p * hh) @ st["out_proj.weight"] + st["out_proj.bias"]


NP_ACT = {"id": lambda a: a, "gelu": lambda a: 0.5 * a * (1 + np.vectorize(__import__(
    "math").erf)(a / np.sqrt(2)))}


def np_experts(m: HyenaExperts, st: dict[str, np.ndarray], x: np.ndarray,
               activation: str = "id") -> np.ndarray:
    u = NP_ACT[activation](np_order(st, np_streams(st, x, m.order + 1), m.order, m.max_length))
    s = x @ st["router.weight"] + st["router.bias"]
    kth = -np.sort(-s, axis=-1)[..., m.active_experts - 1:m.active_experts]
    s = np.where(s < kth, 0.0, s)
    g = np.exp(s - s.max(-1, keepdims=True))
    g = g / g.sum(-1, keepdims=True)
    u = u.reshape(*u.shape[:-1], m.dim_inner, m.num_experts)
    return (u * g[..., None, :]).sum(-1) @ st["out_proj.weight"] + st["out_proj.bias"]


# -- the layers tested ------------------------------------------------------------------------------
Make = Callable[[Any], Any]
CASES: dict[str, tuple[Make, Callable[..., np.ndarray]]] = {
    "hyena": (lambda d: Hyena(4, max_length=8, dtype=d, key=0), np_hyena),
    "hyena-order3": (
        lambda d: Hyena(4, max_length=8, order=3, inner_factor=1, proj_groups=1,
                        short_filter_order=2, long_conv_cfg={"bias": False, "filter_cfg": {
                            "order": 3, "emb_dim": 5, "depth_implicit": 1, "shift": 0.1}},
                        dtype=d, key=1),
        lambda m, st, x: np_hyena(m, st, x, shift=0.1)),
    "hyena-unmodulated": (
        lambda d: Hyena(4, max_length=8, inner_factor=2, proj_groups=2, short_filter_order=1,
                        long_conv_cfg={"filter_cfg": {"order": 4, "modulate": False}},
                        dtype=d, key=2),
        lambda m, st, x: np_hyena(m, st, x, modulate=False)),
    "mh-hyena": (lambda d: MultiHeadHyena(4, num_heads=2, max_length=8, dtype=d, key=3),
                 np_multi_head),
    "mh-hyena-1": (lambda d: MultiHeadHyena(4, num_heads=1, proj_groups=1, max_length=8,
                                            dtype=d, key=4), np_multi_head),
    "experts": (lambda d: HyenaExperts(4, dim_inner=2, num_experts=3, active_experts=2,
                                       max_length=8, dtype=d, key=5), np_experts),
    "experts-order3": (
        lambda d: HyenaExperts(4, dim_inner=2, num_experts=4, active_experts=1, order=3,
                               activation="gelu", max_length=8, dtype=d, key=6),
        lambda m, st, x: np_experts(m, st, x, "gelu")),
}


def _state(m: Any) -> dict[str, np.ndarray]:
    return {k: _np(v) for k, v in m.state_dict().items()}

