"""``GatedLinearAttention``: multi-head gated linear attention (Yang et al. 2023, "Gated Linear
Attention Transformers with Hardware-Efficient Training"), MAD-Lab's
``gated-linear-attention`` and ``mh-gated-linear-attention`` layers."""

from __future__ import annotations

import math
from typing import Any

import ember

from ..._core._activation_names import get as get_activation
from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._dense import Dense
from ...layers._norm import RMSNorm
from ...layers._support import brief_repr, positive_int
from .._base import SequenceMixer, check_sequence, check_step

__all__ = ["GatedLinearAttention", "gated_linear_attention"]

_MODES = ("chunk", "fused_chunk", "fused_recurrent")
#: xavier_uniform with gain 2^-2.5, as MAD-Lab's reset_parameters
_XAVIER = {"name": "glorot_uniform", "gain": 2 ** -2.5}


def _linear_recurrence(a: Any, b: Any) -> tuple[ember.Tensor, ember.Tensor]:
    """The associative combine of ``h = a * h + b``: (a1, b1) then (a2, b2)."""
    (a1, b1), (a2, b2) = a, b
    return a1 * a2, a2 * b1 + b2


def gated_linear_attention(q: ember.Tensor, k: ember.Tensor, v: ember.Tensor, g: ember.Tensor,
                           *, scale: float | None = None, chunk_size: int | None = 16
                           ) -> ember.Tensor:
    """``o_t = scale * q_t S_t`` with ``S_t = diag(exp(g_t)) S_{t-1} + k_t^T v_t`` (``S_0 =
    0``) for queries, keys and log-gates ``(..., L, Dk)`` (``g <= 0``) and values ``(..., L,
    Dv)``; ``scale`` defaults to ``Dk^-1/2``.

    ``chunk_size=C`` (the default form): chunks of ``C`` positions, the state at the start of
    each chunk by an associative scan over chunks (``S_n = diag(exp(G_n)) S_{n-1} + sum_s
    (k_s * exp(G_n - b_s))^T v_s``, ``b`` the within-chunk cumulative log-gate, ``G_n`` its
    total), and the chunk's own contribution ``sum_{s<=t} (sum_f q_tf k_sf exp(b_tf - b_sf))
    v_s`` in log space, every exponent ``<= 0`` (so no overflow however small the gates):
    ``O(L C Dk + L Dk Dv)`` time, ``O(L C Dk + (L / C) Dk Dv)`` memory. ``chunk_size=None``
    scans the state of every position (``O(L Dk Dv)`` memory).
    """
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    q = q * scale
    if chunk_size is None:
        a = ember.expand_dims(ember.exp(g), axis=-1)  # (..., L, Dk, 1)
        kv = ember.expand_dims(k, axis=-1) * ember.expand_dims(v, axis=-2)  # (..., L, Dk, Dv)
        _, states = ember.nn.associative_scan(_linear_recurrence, (a, kv), axis=q.ndim - 2)
        return ember.matmul(ember.expand_dims(q, axis=-2), states)[..., 0, :]
    L, C, lead = q.shape[-2], chunk_size, q.shape[:-2]
    n = -(-L // C)

    def chunks(t: ember.Tensor) -> ember.Tensor:
        if n * C != L:  # zero keys/values/log-gates after the end change nothing before it
            pad = ember.zeros((*lead, n * C - L, t.shape[-1]), dtype=t.dtype, backend=t.backend,
                              device=t.device)
            t = ember.concat([t, pad], axis=-2)
        return ember.reshape(t, (*lead, n, C, t.shape[-1]))

    qc, kc, vc, gc = chunks(q), chunks(k), chunks(v), chunks(g)
    b = ember.cumulative_sum(gc, axis=-2)  # (..., n, C, Dk), non-increasing along C
    # within a chunk: pairwise exp(b_t - b_s) for s <= t (-inf elsewhere: exp gives 0)
    diff = ember.expand_dims(b, axis=-2) - ember.expand_dims(b, axis=-3)  # (..., n, C, C, Dk)
    i = ember.arange(C, backend=q.backend, device=q.device)
    below = ember.expand_dims(ember.reshape(i, (C, 1)) >= i, axis=-1)
    decay = ember.exp(ember.where(below, diff, -math.inf))
    scores = ember.sum(ember.expand_dims(qc, axis=-2) * ember.expand_dims(kc, axis=-3) * decay,
                       axis=-1)  # (..., n, C, C)
    out = ember.matmul(scores, vc)
    # across chunks: the state at each chunk's start
    total = b[..., -1:, :]  # (..., n, 1, Dk)
    update = ember.matmul(ember.matrix_transpose(kc * ember.exp(total - b)), vc)  # (.., n, Dk, Dv)
    r = len(lead)
    a = ember.matrix_transpose(ember.exp(total))  # (..., n, Dk, 1)
    _, states = ember.nn.associative_scan(_linear_recurrence, (a, update), axis=r)
    start = ember.zeros((*lead, 1, *states.shape[-2:]), dtype=states.dtype,
                        backend=states.backend, device=states.device)
    before = ember.concat([start, states], axis=r)
    before = ember.take(before, ember.arange(n, backend=q.backend, device=q.device), axis=r)
    out = out + ember.matmul(qc * ember.exp(b), before)
    out = ember.reshape(out, (*lead, n * C, out.shape[-1]))
    return out if n * C == L else out[..., :L, :]


class GatedLinearAttention(SequenceMixer):
    """Gated linear attention, MAD-Lab's ``gated-linear-attention`` (one head) and
    ``mh-gated-linear-attention`` layers (its ``GatedLinearAttention``, after
    flash-linear-attention):

    ``q, k, v = x W_q, x W_k, x W_v`` (per head); ``alpha_t = logsigmoid(x_t W_a W_b + b) /
    gate_logit_normalizer`` (a low-rank gate, one log-decay per key feature, ``<= 0``);
    ``S_t = diag(exp(alpha_t)) S_{t-1} + k_t^T v_t``, ``o_t = q_t S_t / sqrt(Dk)`` (per head);
    ``y = (RMSNorm(o) * gate_fn(x W_g)) W_o`` (RMSNorm over each head's ``Dv`` features,
    weight shared by the heads: flash-linear-attention's per-head "group" norm).

    Yang, Wang, Shen, Panda and Kim 2023, "Gated Linear Attention Transformers with
    Hardware-Efficient Training".

    Arguments:
        dim: features in and out.
        expand_v, expand_k: value and query/key widths, ``dim * expand`` (1 and 1, MAD-Lab's
            configs; its class's defaults, flash-linear-attention's, are 2 and 1).
        num_heads: heads (divides both widths; default 4, MAD-Lab's class default; its configs
            use 1 and 8).
        gate_fn: the output gate's activation (a name: "swish", "silu", "gelu", "sigmoid"...).
        layernorm_eps: the RMSNorm's eps.
        gate_logit_normalizer: divides the log-sigmoid gate (16: decays near 1).
        gate_low_rank_dim: rank of the gate projection ``W_a W_b``.
        mode: the full-sequence form: "chunk" / "fused_chunk" (MAD-Lab's names of its chunked
            kernels; here both run the chunked form of ``gated_linear_attention`` with
            ``chunk_size``) or "fused_recurrent" (a scan over every position's state). All
            compute the same numbers.
        clamp_min: None, or a floor on the log-gates.
        fuse_norm: accepted for MAD-Lab's configs; fusing the norm and gate is a kernel choice
            and changes no number here.
        chunk_size: positions per chunk (memory ``O(L chunk_size Dk)`` within chunks).

    Weights start as MAD-Lab's: xavier-uniform with gain ``2^-2.5``; the gate bias at zero
    (MAD-Lab's models zero every nn.Linear bias), the norm's weight at one. ``step`` runs the
    recurrence (state ``S``, ``(batch, heads, Dk, Dv)``). Cost: ``O(L dim (chunk_size +
    Dv))`` time (``Dk = Dv = dim / heads``), a step ``O(dim Dv)``; ``O(dim^2)`` parameters.

    >>> from ember_nn.mixers.sequence import GatedLinearAttention
    >>> layer = GatedLinearAttention(8, num_heads=2, gate_low_rank_dim=4, key=0)
    >>> x = ember.reshape(ember.arange(2 * 6 * 8, dtype=ember.float32), (2, 6, 8)) / 50
    >>> y = layer(x)
    >>> y.shape, [round(v, 4) for v in y[0, -1, :3].tolist()]
    ((2, 6, 8), [0.0092, -0.0028, 0.0005])
    >>> state = layer.init_state(2)
    >>> for t in range(6):
    ...     y_t, state = layer.step(x[:, t], state)
    >>> [round(v, 4) for v in y_t[0, :3].tolist()], state.shape
    ([0.0092, -0.0028, 0.0005], (2, 2, 4, 4))
    """

    def __init__(self, dim: int, *, expand_v: float = 1.0, expand_k: float = 1.0,
                 num_heads: int = 4, gate_fn: str = "swish", layernorm_eps: float = 1e-5,
                 gate_logit_normalizer: float = 16, gate_low_rank_dim: int = 16,
                 mode: str = "chunk", clamp_min: float | None = None,
                 fuse_norm: bool = False, chunk_size: int = 16,
                 dtype: ember.DType | None = None, key: Any = None) -> None:
        super().__init__()
        name = "GatedLinearAttention"
        self.dim = positive_int(name, "dim", dim)
        self.num_heads = positive_int(name, "num_heads", num_heads)
        widths = []
        for arg, expand in (("expand_k", expand_k), ("expand_v", expand_v)):
            if isinstance(expand, bool) or not isinstance(expand, int | float) or \
                    not expand > 0:
                raise ConfigError(f"{name}: {arg} must be a positive number, got {expand!r}")
            width = int(dim * expand)
            if width < num_heads or width % num_heads:
                raise ConfigError(f"{name}: dim * {arg} = {width} is not divisible by "
                                  f"num_heads {num_heads}")
            widths.append(width)
        self.key_dim, self.value_dim = widths
        self.head_qk_dim = self.key_dim // num_heads
        self.head_v_dim = self.value_dim // num_heads
        if mode not in _MODES:
            raise ConfigError(f"{name}: mode must be one of {_MODES}, got {mode!r}")
        for arg, value in (("gate_logit_normalizer", gate_logit_normalizer),
                           ("layernorm_eps", layernorm_eps)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"{name}: {arg} must be a positive number, got {value!r}")
        if clamp_min is not None and (isinstance(clamp_min, bool) or
                                      not isinstance(clamp_min, int | float)):
            raise ConfigError(f"{name}: clamp_min must be None or a number, got {clamp_min!r}")
        if not isinstance(fuse_norm, bool):
            raise ConfigError(f"{name}: fuse_norm must be True or False, got {fuse_norm!r}")
        rank = positive_int(name, "gate_low_rank_dim", gate_low_rank_dim)
        self.chunk_size = positive_int(name, "chunk_size", chunk_size)
        self.gate_fn = get_activation(gate_fn)
        self.mode, self.clamp_min = mode, clamp_min
        self.gate_logit_normalizer = float(gate_logit_normalizer)
        self.causal = True
        keys = ember.random.split(next_key(key), 7)
        lin: dict[str, Any] = {"use_bias": False, "kernel_init": _XAVIER, "dtype": dtype}
        self.q_proj = Dense(dim, self.key_dim, key=keys[0], **lin)
        self.k_proj = Dense(dim, self.key_dim, key=keys[1], **lin)
        self.v_proj = Dense(dim, self.value_dim, key=keys[2], **lin)
        self.g_proj = Dense(dim, self.value_dim, key=keys[3], **lin)
        self.gk_proj = [Dense(dim, rank, key=keys[4], **lin),
                        Dense(rank, self.key_dim, use_bias=True, kernel_init=_XAVIER,
                              dtype=dtype, key=keys[5])]
        self.o_proj = Dense(self.value_dim, dim, key=keys[6], **lin)
        self.g_norm = RMSNorm(self.head_v_dim, eps=float(layernorm_eps), dtype=dtype)

    def _inputs(self, x: ember.Tensor) -> tuple[ember.Tensor, ...]:
        """Queries, keys, log-gates ``(batch, heads, L, Dk)`` and values ``(batch, heads, L,
        Dv)`` of ``x`` ``(batch, L, dim)``."""
        def heads(y: ember.Tensor, d: int) -> ember.Tensor:
            return ember.moveaxis(ember.reshape(y, (*y.shape[:-1], self.num_heads, d)), -2, -3)

        logit = self.gk_proj[1](self.gk_proj[0](x))
        gk = -ember.nn.softplus(-logit) / self.gate_logit_normalizer  # logsigmoid / normaliser
        if self.clamp_min is not None:
            gk = ember.maximum(gk, self.clamp_min)
        dk, dv = self.head_qk_dim, self.head_v_dim
        return (heads(self.q_proj(x), dk), heads(self.k_proj(x), dk), heads(gk, dk),
                heads(self.v_proj(x), dv))

    def _out(self, o: ember.Tensor, x: ember.Tensor) -> ember.Tensor:
        o = self.g_norm(ember.moveaxis(o, -3, -2))  # (batch, L, heads, Dv)
        o = ember.reshape(o, (*o.shape[:-2], self.value_dim)) * self.gate_fn(self.g_proj(x))
        return self.o_proj(o)

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence("GatedLinearAttention", x, self.dim)
        q, k, g, v = self._inputs(x)
        chunk = None if self.mode == "fused_recurrent" else self.chunk_size
        return self._out(gated_linear_attention(q, k, v, g, chunk_size=chunk), x)

    def init_state(self, batch: int, dtype: Any = None) -> ember.Tensor:
        """The zero state ``S``, ``(batch, heads, Dk, Dv)``."""
        batch = positive_int("GatedLinearAttention.init_state", "batch", batch)
        w = self.q_proj.weight
        return ember.zeros((batch, self.num_heads, self.head_qk_dim, self.head_v_dim),
                           dtype=w.dtype if dtype is None else dtype, backend=w.backend,
                           device=w.device)

    def step(self, x_t: Any, state: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
        """One position ``(batch, dim)``: ``S = diag(exp(alpha)) S + k^T v``, ``o = q S /
        sqrt(Dk)``, then the norm, gate and output projection."""
        x_t = check_step("GatedLinearAttention", x_t, self.dim)
        if state.shape[0] != x_t.shape[0]:
            raise ember.ShapeError(f"GatedLinearAttention.step: input of shape {x_t.shape} "
                                   f"does not fit a state for batch {state.shape[0]}")
        x = ember.expand_dims(x_t, axis=1)
        q, k, g, v = self._inputs(x)  # (batch, heads, 1, .)
        s = ember.matrix_transpose(ember.exp(g)) * state \
            + ember.matmul(ember.matrix_transpose(k), v)
        o = ember.matmul(q * self.head_qk_dim ** -0.5, s)
        return self._out(o, x)[:, 0], s

    def extra_repr(self) -> str:
        return brief_repr(self)
