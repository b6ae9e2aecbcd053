"""RWKV time mixing: ``RWKV6TimeMix`` (Finch: data-dependent token shift and decay) and
``RWKV5TimeMix`` (Eagle: static decay), with MAD-Lab's arguments, on :func:`wkv`, the
matrix-valued linear recurrence both share, computed exactly in chunks."""

from __future__ import annotations

import math
from typing import Any

import ember

from ..._core._errors import ConfigError
from ..._core._random import next_key
from ...layers._support import brief_repr, layer_dtype, new_variable, positive_int
from .._base import SequenceMixer, check_sequence, check_step
from .._token_shift import (
    check_layer_position,
    constant_variable,
    ramp,
    token_shift,
)
from .._torch_init import torch_linear

__all__ = ["RWKV5TimeMix", "RWKV6TimeMix", "wkv", "wkv_step"]

# the inputs of receptance, key, value and gate, and the log decays
_Mixed = tuple[ember.Tensor, ember.Tensor, ember.Tensor, ember.Tensor, ember.Tensor]


def _combine(first: tuple[ember.Tensor, ember.Tensor],
             second: tuple[ember.Tensor, ember.Tensor]) -> tuple[ember.Tensor, ember.Tensor]:
    a1, b1 = first
    a2, b2 = second
    return a1 * a2, a2 * b1 + b2


def wkv(r: ember.Tensor, k: ember.Tensor, v: ember.Tensor, log_w: ember.Tensor,
        u: ember.Tensor, *, state: ember.Tensor | None = None, chunk_size: int = 16,
        return_state: bool = False) -> Any:
    """RWKV's WKV operator: per head, with ``r``, ``k``, ``v`` ``(batch, length, heads, N)``,
    decays ``w_t = exp(log_w_t)`` (``log_w`` of that shape, or ``(heads, N)`` for a static
    decay), bonus ``u`` ``(heads, N)`` and the matrix state ``S`` ``(batch, heads, N, N)``::

        y_t = r_t (S_{t-1} + diag(u) k_t^T v_t)
        S_t = diag(w_t) S_{t-1} + k_t^T v_t              (S_{-1} = state, else 0)

    Exact, in chunks of ``chunk_size`` positions: inside a chunk, ``y_t`` sums
    ``(r_t . (k_s * prod_{s<j<t} w_j)) v_s`` over the earlier positions ``s`` (the products
    taken as ``exp`` of differences of cumulative ``log_w``, masked before ``exp``, so every
    exponent is <= 0 and nothing overflows whatever the decays); the states at chunk ends
    follow by ``ember.nn.associative_scan`` over chunks, and each position adds
    ``(r_t * prod w) S`` of the state before its chunk. O(length · N · (chunk_size + N)) work
    and memory per head. Returns ``y`` ``(batch, length, heads, N)``, and the last state with
    ``return_state``.
    """
    b, T, H, N = r.shape
    lw = ember.broadcast_to(log_w, r.shape) if log_w.shape != r.shape else log_w
    C = max(1, min(chunk_size, T))
    nc = -(-T // C)
    pad = nc * C - T
    if pad:  # zero keys and unit decays after the end: they change nothing before it
        def padded(t: ember.Tensor) -> ember.Tensor:
            return ember.concat([t, ember.zeros((b, pad, H, N), dtype=t.dtype,
                                                backend=t.backend, device=t.device)], axis=1)
        r, k, v, lw = padded(r), padded(k), padded(v), padded(lw)

    def chunks(t: ember.Tensor) -> ember.Tensor:  # (b, T, H, N) -> (b, H, nc, C, N)
        return ember.permute_dims(ember.reshape(t, (b, nc, C, H, N)), (0, 3, 1, 2, 4))

    r, k, v, lw = chunks(r), chunks(k), chunks(v), chunks(lw)
    lam = ember.cumulative_sum(lw, axis=-2)  # log of w_0 ... w_t inside the chunk
    lam_ex = lam - lw  # ... up to w_{t-1}
    # within chunks: A[t, s] = sum_i r_t[i] k_s[i] prod_{s<j<t} w_j[i], s < t
    t_idx = ember.arange(C, backend=r.backend, device=r.device)
    earlier = ember.reshape(t_idx[:, None] > t_idx[None, :], (C, C, 1))
    diff = lam_ex[..., :, None, :] - lam[..., None, :, :]  # (b, H, nc, C_t, C_s, N)
    decay = ember.exp(ember.where(earlier, diff, -math.inf))
    att = ember.sum(r[..., :, None, :] * k[..., None, :, :] * decay, axis=-1)
    u_b = ember.reshape(u, (H, 1, 1, N))
    y = ember.matmul(att, v) + ember.sum(r * u_b * k, axis=-1, keepdims=True) * v
    # across chunks: S_c = diag(a_c) S_{c-1} + B_c
    last = lam[..., -1:, :]  # (b, H, nc, 1, N)
    B_c = ember.matmul(ember.matrix_transpose(k * ember.exp(last - lam)), v)  # (b,H,nc,N,N)
    a_c = ember.matrix_transpose(ember.exp(last))  # (b, H, nc, N, 1)
    s0 = ember.zeros((b, H, N, N), dtype=B_c.dtype, backend=B_c.backend,
                     device=B_c.device) if state is None else state
    if state is not None:
        B_c = ember.concat([B_c[:, :, :1] + a_c[:, :, :1] * s0[:, :, None], B_c[:, :, 1:]],
                           axis=2)
    if nc == 1:
        states = B_c
    else:
        _, states = ember.nn.associative_scan(_combine, (a_c, B_c), axis=2)
    before = ember.concat([s0[:, :, None], states[:, :, :-1]], axis=2) if nc > 1 else \
        s0[:, :, None]
    y = y + ember.matmul(r * ember.exp(lam_ex), before)
    y = ember.reshape(ember.permute_dims(y, (0, 2, 3, 1, 4)), (b, nc * C, H, N))
    if pad:
        y = y[:, :T]
    return (y, states[:, :, -1]) if return_state else y


def wkv_step(S: ember.Tensor, r: ember.Tensor, k: ember.Tensor, v: ember.Tensor,
             log_w: ember.Tensor, u: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
    """One position of :func:`wkv`: ``r``, ``k``, ``v`` ``(batch, heads, N)``, ``log_w`` of
    that shape or ``(heads, N)``, the state ``S`` before it -> ``(y_t, S_t)``."""
    kv = k[..., :, None] * v[..., None, :]
    y = ember.sum(r[..., :, None] * (S + u[..., :, None] * kv), axis=-2)
    return y, ember.exp(log_w)[..., :, None] * S + kv


class _RWKVTimeMix(SequenceMixer):
    """What the RWKV-5 and RWKV-6 time mixers share: the projections, the WKV recurrence, the
    per-head group norm and the gated output; a subclass defines ``_mix`` (the token shift
    mixing and the decays)."""

    causal = True
    _divisor: float
    _eps: float

    def _setup(self, name: str, dim: int, head_dim: int, dim_att: int | None,
               head_dim_divisor: Any, n_layer: int, layer_id: int, chunk_size: int,
               dtype: Any, key: Any) -> tuple[ember.DType, tuple[ember.random.Key, ...]]:
        self.dim = positive_int(name, "dim", dim)
        self.head_dim = positive_int(name, "head_dim", head_dim)
        self.dim_att = dim if dim_att is None else positive_int(name, "dim_att", dim_att)
        if self.dim_att % head_dim:
            raise ConfigError(f"{name}: dim_att {self.dim_att} is not divisible by head_dim "
                              f"{head_dim}; the heads split dim_att into head_dim wide parts")
        self.num_heads = self.dim_att // head_dim
        if isinstance(head_dim_divisor, bool) or not isinstance(head_dim_divisor, int | float) \
                or not head_dim_divisor > 0:
            raise ConfigError(f"{name}: head_dim_divisor must be a positive number, got "
                              f"{head_dim_divisor!r}")
        self.head_dim_divisor = float(head_dim_divisor)
        self.chunk_size = positive_int(name, "chunk_size", chunk_size)
        n_layer, layer_id = check_layer_position(name, n_layer, layer_id)
        # RWKV's init ratios: 0 -> 1 and 1 -> ~0 over the depth
        self._r0 = 0.0 if n_layer < 2 else layer_id / (n_layer - 1)
        self._r1 = 1.0 - layer_id / n_layer
        d = layer_dtype(name, dtype)
        keys = ember.random.split(next_key(key), 10)
        da = self.dim_att
        self.receptance = torch_linear(dim, da, bias=False, dtype=dtype, key=keys[0])
        self.key = torch_linear(dim, da, bias=False, dtype=dtype, key=keys[1])
        self.value = torch_linear(dim, da, bias=False, dtype=dtype, key=keys[2])
        self.gate = torch_linear(dim, da, bias=False, dtype=dtype, key=keys[3])
        self.output = torch_linear(da, dim, bias=False, dtype=dtype, key=keys[4])
        bonus = [self._r0 * (1 - n / max(da - 1, 1)) + ((n + 1) % 3 - 1) * 0.1
                 for n in range(da)]
        self.time_faaaa = constant_variable(name, bonus, (self.num_heads, head_dim), d,
                                            "time_faaaa")
        self.ln_x_weight = constant_variable(name, [1.0] * da, (da,), d, "ln_x_weight")
        self.ln_x_bias = constant_variable(name, [0.0] * da, (da,), d, "ln_x_bias")
        self._dtype = d
        return d, keys[5:]

    def _decay_speed(self) -> list[float]:
        """RWKV's initial decays ``-6 + 5 (n / (dim_att - 1)) ** (0.7 + 1.3 r0)``."""
        return [-6 + 5 * v for v in ramp(self.dim_att, 0.7 + 1.3 * self._r0, self.dim_att - 1)]

    def _mix(self, x: ember.Tensor, xx: ember.Tensor) -> _Mixed:
        """``(xr, xk, xv, xg, log_w)`` from ``x`` and ``xx = shift(x) - x``."""
        raise NotImplementedError

    def _heads(self, t: ember.Tensor) -> ember.Tensor:
        return ember.reshape(t, (*t.shape[:-1], self.num_heads, self.head_dim))

    def _project(self, x: ember.Tensor, prev: ember.Tensor) -> tuple[ember.Tensor, ...]:
        xr, xk, xv, xg, log_w = self._mix(x, prev - x)
        r, k, v = self._heads(self.receptance(xr)), self._heads(self.key(xk)), \
            self._heads(self.value(xv))
        return r, k, v, ember.nn.silu(self.gate(xg)), log_w

    def _out(self, y: ember.Tensor, g: ember.Tensor) -> ember.Tensor:
        """Group norm per head (GroupNorm(heads, dim_att)), gate, output projection."""
        y = ember.nn.layer_norm(y * (1.0 / self._divisor), eps=self._eps)
        y = ember.reshape(y, (*y.shape[:-2], self.dim_att)) * self.ln_x_weight + self.ln_x_bias
        return self.output(y * g)

    def forward(self, x: Any) -> ember.Tensor:
        x = check_sequence(type(self).__name__, x, self.dim)
        r, k, v, g, log_w = self._project(x, token_shift(x))
        y = wkv(r, k, v, log_w, self.time_faaaa, chunk_size=self.chunk_size)
        return self._out(y, g)

    def init_state(self, batch: int, dtype: Any = None) -> tuple[ember.Tensor, ember.Tensor]:
        """``(previous input, S)``: zeros ``(batch, dim)`` and ``(batch, heads, head_dim,
        head_dim)``."""
        batch = positive_int(f"{type(self).__name__}.init_state", "batch", batch)
        d = self._dtype if dtype is None else dtype
        like = self.ln_x_weight
        return (ember.zeros((batch, self.dim), dtype=d, backend=like.backend,
                            device=like.device),
                ember.zeros((batch, self.num_heads, self.head_dim, self.head_dim), dtype=d,
                            backend=like.backend, device=like.device))

    def step(self, x_t: Any, state: Any) -> tuple[ember.Tensor, Any]:
        name = type(self).__name__
        x_t = check_step(name, x_t, self.dim)
        prev, S = state
        want = ((x_t.shape[0], self.dim),
                (x_t.shape[0], self.num_heads, self.head_dim, self.head_dim))
        if (prev.shape, S.shape) != want:
            raise ember.ShapeError(f"{name}.step: state shapes {(prev.shape, S.shape)} must be "
                                   f"{want} (see init_state)")
        r, k, v, g, log_w = self._project(x_t, prev)
        y, S = wkv_step(S, r, k, v, log_w, self.time_faaaa)
        return self._out(y, g), (x_t, S)

    def extra_repr(self) -> str:
        return brief_repr(self)


class RWKV6TimeMix(_RWKVTimeMix):
    """RWKV-6 ("Finch") time mixing (Peng et al. 2024, "Eagle and Finch: RWKV with
    Matrix-Valued States and Dynamic Recurrence"), on ``(batch, length, dim)``; causal.

    With ``xx = shift(x) - x`` (the previous position minus this one, zero before the start)
    and ``lora_m(a) = tanh(a W1_m) W2_m``::

        x_m = x + xx * (time_maa_m + lora_m(x + xx * time_maa_x))   for m in w, k, v, r, g
        r, k, v = receptance(x_r), key(x_k), value(x_v);  g = silu(gate(x_g))
        w_t = exp(-exp(time_decay + tanh(x_w D1) D2))             (data-dependent decay)
        y_t = r_t (S_{t-1} + diag(u) k_t^T v_t),  S_t = diag(w_t) S_{t-1} + k_t^T v_t
        out = output(group_norm(y) * g)                            (per head, head_dim wide)

    per head (``dim_att / head_dim`` heads, ``u = time_faaaa``), as MAD-Lab's
    ``rwkv6-time-mixer`` and its wkv6 CUDA kernel compute it. The recurrence is :func:`wkv`
    (exact, chunked; ``chunk_size`` trades memory for depth and changes no value beyond
    rounding). Initialisation is RWKV's (ramps over the channels set by ``layer_id`` of
    ``n_layer``, low-rank weights uniform in ±1e-4, linear layers as torch's ``nn.Linear``).

    Arguments (MAD-Lab's names): ``dim``; ``head_dim=16``; ``dim_att`` (None: ``dim``, as
    MAD-Lab's 128 at dim 128); ``head_dim_divisor=8`` (the group norm's eps is
    ``1e-5 * head_dim_divisor**2``); ``max_length`` (MAD-Lab's bound for its CUDA kernel,
    accepted so its configs build and kept in the config; nothing here limits the length);
    ``mix_rank=32`` and ``decay_rank=64`` (the low-rank widths, fixed in MAD-Lab);
    ``n_layer=1``, ``layer_id=0``; ``chunk_size=16``; ``dtype``; ``key``.

    Cost: O(length · dim_att · (dim + head_dim + chunk_size)) time and memory; ``step`` runs
    one position in O(dim_att · (dim + head_dim)) from ``(previous input, S)``.

    >>> mixer = RWKV6TimeMix(32, head_dim=8, key=0)
    >>> y = mixer(ember.ones((2, 5, 32)))
    >>> y.shape, round(float(y[0, -1, 0]), 4)
    ((2, 5, 32), 0.1721)
    """

    def __init__(self, dim: int, *, head_dim: int = 16, dim_att: int | None = None,
                 head_dim_divisor: float = 8, max_length: int | None = None, mix_rank: int = 32,
                 decay_rank: int = 64, n_layer: int = 1, layer_id: int = 0,
                 chunk_size: int = 16, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        name = "RWKV6TimeMix"
        d, keys = self._setup(name, dim, head_dim, dim_att, head_dim_divisor, n_layer, layer_id,
                              chunk_size, dtype, key)
        if max_length is not None:
            positive_int(name, "max_length", max_length)
        self.mix_rank = positive_int(name, "mix_rank", mix_rank)
        self.decay_rank = positive_int(name, "decay_rank", decay_rank)
        self._divisor, self._eps = 1.0, 1e-5 * self.head_dim_divisor ** 2
        r0, r1 = self._r0, self._r1
        one = ramp(dim, r1)
        half = ramp(dim, 0.5 * r1)

        def maa(values: list[float], m: str) -> ember.Variable:
            return constant_variable(name, [1.0 - v for v in values], (dim,), d,
                                     f"time_maa_{m}")

        self.time_maa_x, self.time_maa_w, self.time_maa_k = maa(one, "x"), maa(one, "w"), \
            maa(one, "k")
        self.time_maa_v = maa([v + 0.3 * r0 for v in one], "v")
        self.time_maa_r, self.time_maa_g = maa(half, "r"), maa(half, "g")
        small = _uniform(1e-4)
        self.time_maa_w1 = new_variable(name, small, keys[0], (dim, 5 * mix_rank), d,
                                        "time_maa_w1")
        self.time_maa_w2 = new_variable(name, small, keys[1], (5, mix_rank, dim), d,
                                        "time_maa_w2")
        self.time_decay = constant_variable(name, self._decay_speed(), (self.dim_att,), d,
                                            "time_decay")
        self.time_decay_w1 = new_variable(name, small, keys[2], (dim, decay_rank), d,
                                          "time_decay_w1")
        self.time_decay_w2 = new_variable(name, small, keys[3], (decay_rank, self.dim_att),
                                          d, "time_decay_w2")

    def _mix(self, x: ember.Tensor, xx: ember.Tensor) -> _Mixed:
        lead = x.shape[:-1]
        base = ember.tanh(ember.matmul(x + xx * self.time_maa_x, self.time_maa_w1))
        # the five low-rank maps as one batched product (5, positions, rank) @ (5, rank, dim),
        # not one tiny product per position (whose weight gradient is a full (..., 5, rank,
        # dim) tensor)
        base = ember.permute_dims(ember.reshape(base, (-1, 5, self.mix_rank)), (1, 0, 2))
        m = ember.matmul(base, self.time_maa_w2)  # (5, positions, dim)
        mw, mk, mv, mr, mg = (ember.reshape(m[i], (*lead, self.dim)) for i in range(5))
        xw = x + xx * (self.time_maa_w + mw)
        xk = x + xx * (self.time_maa_k + mk)
        xv = x + xx * (self.time_maa_v + mv)
        xr = x + xx * (self.time_maa_r + mr)
        xg = x + xx * (self.time_maa_g + mg)
        w = self.time_decay + ember.matmul(ember.tanh(ember.matmul(xw, self.time_decay_w1)),
                                           self.time_decay_w2)
        return xr, xk, xv, xg, self._heads(-ember.exp(w))


class RWKV5TimeMix(_RWKVTimeMix):
    """RWKV-5 ("Eagle") time mixing (Peng et al. 2024, "Eagle and Finch: RWKV with
    Matrix-Valued States and Dynamic Recurrence"), on ``(batch, length, dim)``; causal.

    With ``prev`` the previous position (zero before the start)::

        x_m = x * time_mix_m + prev * (1 - time_mix_m)             for m in k, v, r, g
        r, k, v = receptance(x_r), key(x_k), value(x_v);  g = silu(gate(x_g))
        y_t = r_t (S_{t-1} + diag(u) k_t^T v_t),  S_t = diag(w) S_{t-1} + k_t^T v_t
        out = output(group_norm(y / head_dim_divisor) * g)         (per head, eps 1e-5)

    per head, with the static decay ``w = exp(-exp(time_decay))`` ``(heads, head_dim)`` and
    ``u = time_faaaa``, as MAD-Lab's ``rwkv5-time-mixer`` and its wkv5 CUDA kernel compute
    it; the recurrence is :func:`wkv`. Arguments as :class:`RWKV6TimeMix` without the
    data-dependent parts (``head_dim=16``, ``dim_att``, ``head_dim_divisor=8``, ``n_layer``,
    ``layer_id``, ``chunk_size``, ``dtype``, ``key``); the same cost.

    >>> mixer = RWKV5TimeMix(32, head_dim=8, key=0)
    >>> y = mixer(ember.ones((2, 5, 32)))
    >>> y.shape, round(float(y[0, -1, 0]), 4)
    ((2, 5, 32), 0.1721)
    """

    def __init__(self, dim: int, *, head_dim: int = 16, dim_att: int | None = None,
                 head_dim_divisor: float = 8, n_layer: int = 1, layer_id: int = 0,
                 chunk_size: int = 16, dtype: ember.DType | None = None,
                 key: Any = None) -> None:
        super().__init__()
        name = "RWKV5TimeMix"
        d, _ = self._setup(name, dim, head_dim, dim_att, head_dim_divisor, n_layer, layer_id,
                           chunk_size, dtype, key)
        self._divisor, self._eps = self.head_dim_divisor, 1e-5
        one = ramp(dim, self._r1)
        half = ramp(dim, 0.5 * self._r1)

        def mix(values: list[float], m: str) -> ember.Variable:
            return constant_variable(name, values, (dim,), d, f"time_mix_{m}")

        self.time_mix_k = mix(one, "k")
        self.time_mix_v = mix([v + 0.3 * self._r0 for v in one], "v")
        self.time_mix_r, self.time_mix_g = mix(half, "r"), mix(half, "g")
        self.time_decay = constant_variable(name, self._decay_speed(),
                                            (self.num_heads, head_dim), d, "time_decay")

    def _mix(self, x: ember.Tensor, xx: ember.Tensor) -> _Mixed:
        # x * mix + prev * (1 - mix) = x + xx * (1 - mix)
        xk = x + xx * (1.0 - self.time_mix_k)
        xv = x + xx * (1.0 - self.time_mix_v)
        xr = x + xx * (1.0 - self.time_mix_r)
        xg = x + xx * (1.0 - self.time_mix_g)
        return xr, xk, xv, xg, -ember.exp(self.time_decay)


def _uniform(bound: float) -> Any:
    return lambda k, s, d: ember.random.uniform(k, s, d, low=-bound, high=bound)
